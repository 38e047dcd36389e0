/* ThreadSanitizer driver for the ring (make tsan; no LD_PRELOAD): four
 * producer threads each push 200000 events through their own small ring,
 * with the recorder's protocol (busy flag, one global fetch_add for the
 * sequence number, commit, wait for space with a kick); one consumer
 * thread drains all rings in sequence order as the writer does, checking
 * that every event arrives once, per ring in order, and that the merged
 * order never goes back.  Exit 0 and no TSan report: clean. */
#include "ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define PRODUCERS 4
#define EVENTS 200000
#define CAP 256

/* util.c is not linked: the ring needs only the futex helpers. */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void util_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u) };
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, timeout_ns ? &ts : NULL, NULL, 0);
}

void util_futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static ring_t *rings[PRODUCERS];
static uint64_t seq;
static uint32_t kicks;
static int done_producers;

static void kick(void)
{
	__atomic_fetch_add(&kicks, 1, __ATOMIC_SEQ_CST);
}

static void *producer(void *arg)
{
	long id = (long)arg;
	ring_t *r = rings[id];
	for (uint64_t i = 0; i < EVENTS; i++) {
		if (ring_space(r) < 1 && ring_wait_space(r, 1, NULL, kick) != 0)
			abort();
		__atomic_store_n(&r->busy, 1, __ATOMIC_RELAXED);
		ring_event_t *e = ring_slot(r, 0);
		e->seq = __atomic_fetch_add(&seq, 1, __ATOMIC_SEQ_CST);
		e->addr = i;
		e->aux = (uint64_t)id;
		e->type = RING_EV_ALLOC;
		ring_commit(r, 1);
		__atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
	}
	__atomic_fetch_add(&done_producers, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	uint64_t next[PRODUCERS] = { 0 }, last = 0, total = 0;
	int have_last = 0;
	while (total < (uint64_t)PRODUCERS * EVENTS) {
		uint64_t G = __atomic_load_n(&seq, __ATOMIC_SEQ_CST);
		/* As the writer's wait_committed: no ring may still be between
		 * "took a number below G" and "committed". */
		for (int i = 0; i < PRODUCERS; i++) {
			uint64_t h = __atomic_load_n(&rings[i]->head, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&rings[i]->busy, __ATOMIC_SEQ_CST) &&
			       __atomic_load_n(&rings[i]->head, __ATOMIC_SEQ_CST) == h)
				sched_yield();
		}
		for (;;) {
			int best = -1;
			uint64_t bs = 0;
			for (int i = 0; i < PRODUCERS; i++) {
				ring_t *r = rings[i];
				if (!ring_pending(r))
					continue;
				uint64_t s = ring_peek(r, 0)->seq;
				if (s < G && (best < 0 || s < bs)) {
					best = i;
					bs = s;
				}
			}
			if (best < 0)
				break;
			ring_event_t *e = ring_peek(rings[best], 0);
			if (e->addr != next[best] || e->aux != (uint64_t)best ||
			    (have_last && e->seq <= last)) {
				fprintf(stderr, "ring %d: event %llu out of order\n", best,
					(unsigned long long)e->addr);
				exit(1);
			}
			next[best]++;
			last = e->seq;
			have_last = 1;
			ring_release(rings[best], 1);
			total++;
		}
	}
	return NULL;
}

int main(void)
{
	for (int i = 0; i < PRODUCERS; i++)
		if (!(rings[i] = ring_create(CAP)))
			return 2;
	pthread_t p[PRODUCERS], c;
	pthread_create(&c, NULL, consumer, NULL);
	for (long i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	pthread_join(c, NULL);
	printf("tsan ring: %d x %d events, in order\n", PRODUCERS, EVENTS);
	return 0;
}
