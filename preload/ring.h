/* ring: single-producer single-consumer ring of fixed-size raw events, one
 * per recording thread, in its own mmap.  The owning thread pushes (hooks);
 * the writer pops.  head is written only by the producer, tail only by the
 * consumer; both are published with release stores. */
#ifndef HT_RING_H
#define HT_RING_H

#include <stdint.h>

/* Raw event types (ring_event_t.type). */
enum ring_ev {
	RING_EV_FREE = 1, /* addr, stack = free site (0 = unknown) */
	RING_EV_ALLOC = 2, /* kind, addr, size, stack, aux = alignment */
	RING_EV_REALLOC = 3, /* addr = old, aux = new, size, stack */
	RING_EV_SNAPSHOT = 4, /* kind = origin, size = label length; label
			       * bytes follow in the next ceil(len/40) slots */
};

/* One event as the producer stores it: no encoding on the hot path. */
typedef struct ring_event {
	uint64_t seq; /* global sequence number: the event order */
	uint64_t addr; /* returned / freed / old address */
	uint64_t aux; /* realloc: new address; aligned kinds: alignment */
	uint64_t size; /* bytes requested (calloc: nmemb * size) */
	uint32_t stack; /* interned stack id (>= 1); frees: their site, 0 = unknown */
	uint8_t type; /* RING_EV_* */
	uint8_t kind; /* HT_KIND_* (allocs) or HT_SNAP_* (snapshots) */
	uint16_t flags; /* RING_F_* */
} ring_event_t;

/* ring_event_t.flags */
enum ring_flag {
	/* The next slot is a clock stamp: its `seq` is the tick_now() reading
	 * taken before this event took its number (tick.h).  Frees, allocs
	 * and reallocs only. */
	RING_F_STAMP = 1,
};

#define RING_LABEL_SLOTS(len) (((len) + sizeof(ring_event_t) - 1) / sizeof(ring_event_t))

typedef struct ring {
	/* producer-owned line */
	uint64_t head __attribute__((aligned(64))); /* next slot to fill */
	uint64_t tail_cache; /* producer's last view of tail */
	uint32_t busy; /* 1 while the producer holds an uncommitted seq */
	uint32_t waiting; /* 1 while the producer sleeps for space */
	uint64_t last_tick; /* tick_now() >> TICK_SHIFT of the last stamp */
	uint32_t skip; /* events still to record without reading the clock */
	uint32_t same; /* checks in a row that found the same tick (tick.h) */
	/* consumer-owned line */
	uint64_t tail __attribute__((aligned(64))); /* next slot to read */
	uint32_t tail_gen; /* futex word bumped on every tail advance */
	/* set up at creation, read by both sides */
	uint64_t cap __attribute__((aligned(64))); /* slots, a power of two */
	uint64_t map_len; /* bytes of the mmap holding this ring */
	ring_event_t *ev; /* cap slots */
} ring_t;

/* Maps a ring of cap slots (power of two).  Returns NULL when mmap fails. */
ring_t *ring_create(uint64_t cap);
void ring_destroy(ring_t *r);
/* Forgets all content (producer and consumer both idle). */
void ring_reset(ring_t *r);

/* Producer: free slots, reloading tail only when the cached view is full. */
static inline uint64_t ring_space(ring_t *r)
{
	uint64_t used = r->head - r->tail_cache;
	if (used + 8 >= r->cap) {
		r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		used = r->head - r->tail_cache;
	}
	return r->cap - used;
}

/* Producer: slot i positions after head (caller checked space). */
static inline ring_event_t *ring_slot(ring_t *r, uint64_t i)
{
	return &r->ev[(r->head + i) & (r->cap - 1)];
}

/* Producer: publishes n filled slots. */
static inline void ring_commit(ring_t *r, uint64_t n)
{
	__atomic_store_n(&r->head, r->head + n, __ATOMIC_RELEASE);
}

/* Producer: blocks until at least n slots are free or `give_up` returns
 * non-zero (checked about every 10 ms; the writer is kicked through
 * `kick`).  Returns 0 when space is available, -1 when it gave up. */
int ring_wait_space(ring_t *r, uint64_t n, int (*give_up)(void), void (*kick)(void));

/* Producer: blocks until the consumer has taken every slot (the same
 * give_up and kick as ring_wait_space).  0 when empty, -1 when it gave up. */
int ring_wait_empty(ring_t *r, int (*give_up)(void), void (*kick)(void));

/* Consumer: events committed and not consumed. */
static inline uint64_t ring_pending(ring_t *r)
{
	return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) - r->tail;
}

static inline ring_event_t *ring_peek(ring_t *r, uint64_t i)
{
	return &r->ev[(r->tail + i) & (r->cap - 1)];
}

/* Consumer: releases n slots and wakes a producer waiting for space. */
void ring_release(ring_t *r, uint64_t n);

#endif /* HT_RING_H */
