/* ring: see ring.h. */
#include "ring.h"

#include "mapmem.h"

#include "util.h"

#include <stddef.h>
#include <sys/mman.h>

ring_t *ring_create(uint64_t cap)
{
	size_t len = sizeof(ring_t) + cap * sizeof(ring_event_t);
	len = (len + 4095) & ~(size_t)4095;
	void *m = mapmem_map(len, MAPMEM_RING, 0);
	if (!m)
		return NULL;
	ring_t *r = m;
	r->cap = cap;
	r->map_len = len;
	r->ev = (ring_event_t *)((char *)m + ((sizeof(ring_t) + 63) & ~(size_t)63));
	return r;
}

void ring_destroy(ring_t *r)
{
	if (r)
		mapmem_unmap(r, r->map_len, MAPMEM_RING);
}

void ring_reset(ring_t *r)
{
	r->head = r->tail = r->tail_cache = 0;
	r->busy = r->waiting = 0;
	r->last_tick = 0;
	r->skip = r->same = 0;
}

int ring_wait_space(ring_t *r, uint64_t n, int (*give_up)(void), void (*kick)(void))
{
	while (ring_space(r) < n) {
		if (give_up && give_up())
			return -1;
		uint32_t gen = __atomic_load_n(&r->tail_gen, __ATOMIC_ACQUIRE);
		__atomic_store_n(&r->waiting, 1, __ATOMIC_SEQ_CST);
		if (ring_space(r) >= n) {
			__atomic_store_n(&r->waiting, 0, __ATOMIC_RELAXED);
			break;
		}
		if (kick)
			kick();
		util_futex_wait(&r->tail_gen, gen, 10 * 1000 * 1000);
		__atomic_store_n(&r->waiting, 0, __ATOMIC_RELAXED);
	}
	return 0;
}

int ring_wait_empty(ring_t *r, int (*give_up)(void), void (*kick)(void))
{
	/* Not ring_space: its cached tail is reloaded only when nearly full. */
	while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) != r->head) {
		if (give_up && give_up())
			return -1;
		uint32_t gen = __atomic_load_n(&r->tail_gen, __ATOMIC_ACQUIRE);
		__atomic_store_n(&r->waiting, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&r->tail, __ATOMIC_SEQ_CST) == r->head) {
			__atomic_store_n(&r->waiting, 0, __ATOMIC_RELAXED);
			break;
		}
		if (kick)
			kick();
		util_futex_wait(&r->tail_gen, gen, 10 * 1000 * 1000);
		__atomic_store_n(&r->waiting, 0, __ATOMIC_RELAXED);
	}
	r->tail_cache = r->head;
	return 0;
}

void ring_release(ring_t *r, uint64_t n)
{
	if (!n)
		return;
	__atomic_store_n(&r->tail, r->tail + n, __ATOMIC_RELEASE);
	__atomic_fetch_add(&r->tail_gen, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&r->waiting, __ATOMIC_SEQ_CST))
		util_futex_wake(&r->tail_gen);
}
