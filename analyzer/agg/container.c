/* Container growth pairing; see container.h.
 *
 * Memory: one slot per stack that allocated (CONTAINER_WAYS threads of two
 * marks each, 72 bytes), indexed by the dense stack index: an allocation
 * costs one array access next to the heap model's own per-stack totals,
 * no hashing.  Ways are kept most recently used first. */
#include "agg/container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct mark {
	uint64_t addr; /* 0 = none */
	uint64_t size; /* bytes */
} mark_t;

typedef struct way {
	uint32_t thread; /* thread index + 1; 0 = unused */
	mark_t prev, last; /* the thread's last two allocations here */
} way_t;

struct container_slot {
	way_t way[CONTAINER_WAYS];
};

void container_init(container_t *c)
{
	memset(c, 0, sizeof *c);
}

void container_free(container_t *c)
{
	free(c->slot);
	container_init(c);
}

void container_reset(container_t *c)
{
	if (c->cap)
		memset(c->slot, 0, c->cap * sizeof *c->slot);
}

static int ensure(container_t *c, sidx_t st)
{
	if (st < c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 1024;
	while (cap <= st)
		cap *= 2;
	container_slot_t *p = realloc(c->slot, cap * sizeof *p);
	if (!p)
		return -ENOMEM;
	memset(p + c->cap, 0, (cap - c->cap) * sizeof *p);
	c->slot = p;
	c->cap = cap;
	return 0;
}

int container_on_alloc(container_t *c, const heap_block_t *b,
		       uint32_t thread)
{
	if (b->stack == SIDX_NONE)
		return 0;
	if (b->stack >= c->cap && ensure(c, b->stack))
		return -ENOMEM;
	way_t *w = c->slot[b->stack].way;
	uint32_t t = thread + 1;
	if (w[0].thread != t) {
		size_t k = 1;
		while (k < CONTAINER_WAYS - 1 && w[k].thread != t)
			k++;
		/* Move way k (this thread's, or the least recent) first. */
		way_t x = w[k];
		memmove(&w[1], &w[0], k * sizeof *w);
		if (x.thread != t)
			x = (way_t){ .thread = t };
		w[0] = x;
	}
	w[0].prev = w[0].last;
	w[0].last = (mark_t){ b->addr, b->size };
	return 0;
}

static bool same(const mark_t *m, const heap_block_t *b)
{
	return m->addr && m->addr == b->addr && m->size == b->size;
}

bool container_on_free(container_t *c, const heap_block_t *b, uint32_t thread,
		       const heap_t *heap, heap_block_t *succ)
{
	if (b->stack >= c->cap)
		return false;
	way_t *w = c->slot[b->stack].way, *s = NULL;
	for (size_t k = 0; k < CONTAINER_WAYS; k++)
		if (w[k].thread == thread + 1)
			s = &w[k];
	if (!s)
		return false;
	if (same(&s->last, b)) {
		/* The newest block went first: nothing follows it. */
		s->last.addr = 0;
		return false;
	}
	if (!same(&s->prev, b) || !s->last.addr)
		return false;
	mark_t a = s->last;
	s->prev.addr = 0; /* used once, whatever the verdict */
	if (a.size * CONTAINER_MIN_RATIO_DEN < b->size * CONTAINER_MIN_RATIO_NUM ||
	    a.size > CONTAINER_MAX_RATIO * b->size)
		return false;
	if (heap) {
		/* Still live, and the same block (not a reuse of its address). */
		const heap_block_t *live = heap_lookup(heap, a.addr);
		if (!live || live->size != a.size || live->stack != b->stack)
			return false;
		*succ = *live;
	} else {
		*succ = (heap_block_t){ .addr = a.addr, .size = a.size,
					.time_us = b->time_us,
					.stack = b->stack };
	}
	return true;
}
