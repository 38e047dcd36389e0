/* Ring: SPSC wraparound, blocking when full, exact event content. */
#include "ring.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

static void push(ring_t *r, uint64_t seq)
{
	ring_event_t *e = ring_slot(r, 0);
	e->seq = seq;
	e->addr = seq * 16;
	e->type = RING_EV_FREE;
	ring_commit(r, 1);
}

Test(ring, wraps_around_many_times_in_order)
{
	ring_t *r = ring_create(16);
	cr_assert_not_null(r);
	uint64_t next_in = 0, next_out = 0;
	for (int round = 0; round < 50; round++) {
		int k = 1 + round % 13;
		for (int i = 0; i < k; i++) {
			cr_assert_geq(ring_space(r), 1);
			push(r, next_in++);
		}
		cr_assert_eq(ring_pending(r), (uint64_t)k);
		for (int i = 0; i < k; i++) {
			cr_assert_eq(ring_peek(r, 0)->seq, next_out);
			cr_assert_eq(ring_peek(r, 0)->addr, next_out * 16);
			next_out++;
			ring_release(r, 1);
		}
	}
	cr_assert_gt(r->head, 16 * 10); /* wrapped */
	cr_assert_eq(ring_pending(r), 0);
	ring_destroy(r);
}

Test(ring, reports_no_space_when_full)
{
	ring_t *r = ring_create(16);
	for (int i = 0; i < 16; i++)
		push(r, (uint64_t)i);
	cr_assert_eq(ring_space(r), 0);
	ring_release(r, 3);
	cr_assert_eq(ring_space(r), 3);
	ring_destroy(r);
}

Test(ring, keeps_exact_event_content)
{
	ring_t *r = ring_create(16);
	ring_event_t *e = ring_slot(r, 0);
	e->seq = 0x123456789abcull;
	e->addr = 0x7fffdeadbeef;
	e->aux = 4096;
	e->size = (uint64_t)1 << 40;
	e->stack = 0xfffffffe;
	e->type = RING_EV_REALLOC;
	e->kind = 2;
	ring_commit(r, 1);
	const ring_event_t *g = ring_peek(r, 0);
	cr_assert_eq(g->seq, 0x123456789abcull);
	cr_assert_eq(g->addr, 0x7fffdeadbeef);
	cr_assert_eq(g->aux, 4096);
	cr_assert_eq(g->size, (uint64_t)1 << 40);
	cr_assert_eq(g->stack, 0xfffffffe);
	cr_assert_eq(g->type, RING_EV_REALLOC);
	cr_assert_eq(g->kind, 2);
	cr_assert_eq(sizeof(ring_event_t), 40);
	ring_destroy(r);
}

#define N_EVENTS 5000
static ring_t *shared;
static int kicks;

static void count_kick(void)
{
	__atomic_fetch_add(&kicks, 1, __ATOMIC_RELAXED);
}

static void *producer(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < N_EVENTS; i++) {
		cr_assert_eq(ring_wait_space(shared, 1, NULL, count_kick), 0);
		push(shared, i);
	}
	return NULL;
}

Test(ring, full_ring_waits_for_the_consumer, .timeout = 20)
{
	shared = ring_create(16);
	pthread_t t;
	pthread_create(&t, NULL, producer, NULL);
	uint64_t next = 0;
	while (next < N_EVENTS) {
		if (next % 1000 == 0)
			usleep(2000); /* let the producer hit the full ring */
		uint64_t n = ring_pending(shared);
		cr_assert_leq(n, 16);
		for (uint64_t i = 0; i < n; i++)
			cr_assert_eq(ring_peek(shared, i)->seq, next + i);
		next += n;
		ring_release(shared, n);
	}
	pthread_join(t, NULL);
	cr_assert_eq(next, N_EVENTS);
	cr_assert_gt(kicks, 0); /* it did wait at least once */
	ring_destroy(shared);
}

static int stop_now(void)
{
	return 1;
}

Test(ring, wait_gives_up_when_told)
{
	ring_t *r = ring_create(16);
	for (int i = 0; i < 16; i++)
		push(r, (uint64_t)i);
	cr_assert_eq(ring_wait_space(r, 1, stop_now, NULL), -1);
	ring_destroy(r);
}

/* Growing a ring (recorder.c) waits until the writer took every slot.  A
 * wait built on ring_space never returned once the consumer had taken
 * only part of a full ring (the cached tail is reloaded only when nearly
 * full): the first version of the growth hung there. */
static void *drain_slowly(void *arg)
{
	ring_t *r = arg;
	while (ring_pending(r)) {
		usleep(1000);
		ring_release(r, 1);
	}
	return NULL;
}

Test(ring, wait_empty_returns_once_the_consumer_took_everything, .timeout = 10)
{
	ring_t *r = ring_create(16);
	for (uint64_t i = 0; i < 16; i++)
		push(r, i);
	ring_release(r, 3); /* partly drained before the wait starts */
	cr_assert_lt(ring_space(r), 16);
	pthread_t t;
	pthread_create(&t, NULL, drain_slowly, r);
	cr_assert_eq(ring_wait_empty(r, NULL, NULL), 0);
	cr_assert_eq(ring_pending(r), 0);
	cr_assert_eq(ring_space(r), 16);
	pthread_join(t, NULL);
	ring_destroy(r);
}

static int always(void)
{
	return 1;
}

Test(ring, wait_empty_gives_up_when_told)
{
	ring_t *r = ring_create(16);
	push(r, 0);
	cr_assert_eq(ring_wait_empty(r, always, NULL), -1);
	ring_destroy(r);
}
