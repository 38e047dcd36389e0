/* Container growth pairing; see container.h.
 *
 * Memory: one slot per stack that allocated (CONTAINER_WAYS threads of two
 * marks each, 148 bytes), indexed by the dense stack index: an allocation
 * costs one array access next to the heap model's own per-stack totals,
 * no hashing.  A thread new to a stack replaces the ways in turn. */
#include "agg/container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef container_mark_t mark_t;

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

int container_alloc_slow(container_t *c, const heap_block_t *b,
			 uint32_t thread)
{
	if (b->stack == SIDX_NONE)
		return 0;
	if (b->stack >= c->cap && ensure(c, b->stack))
		return -ENOMEM;
	container_slot_t *s = &c->slot[b->stack];
	uint32_t t = thread + 1;
	size_t k = 0;
	while (k < CONTAINER_WAYS && s->thread[k] != t)
		k++;
	if (k == CONTAINER_WAYS) {
		/* A thread new here takes the next way in turn. */
		k = s->next;
		s->next = (s->next + 1) % CONTAINER_WAYS;
		s->thread[k] = t;
		s->last[k].addr = 0;
	}
	s->prev[k] = s->last[k];
	s->last[k] = (mark_t){ b->addr, b->size };
	return 0;
}

static bool same(const mark_t *m, const heap_block_t *b)
{
	return m->addr && m->addr == b->addr && m->size == b->size;
}

bool container_free_slow(container_t *c, const heap_block_t *b, size_t k,
			 const heap_t *heap, heap_block_t *succ)
{
	container_slot_t *s = &c->slot[b->stack];
	if (same(&s->last[k], b)) {
		/* The newest block went first: nothing follows it. */
		s->last[k].addr = 0;
		return false;
	}
	if (!same(&s->prev[k], b) || !s->last[k].addr)
		return false;
	mark_t a = s->last[k];
	s->prev[k].addr = 0; /* used once, whatever the verdict */
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
