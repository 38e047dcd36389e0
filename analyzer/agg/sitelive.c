/* Per-stack live totals from heap events; see sitelive.h. */
#include "agg/sitelive.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int ensure(sitelive_t *s, sidx_t i)
{
	if (i == SIDX_NONE)
		return -EINVAL;
	if (i < s->n)
		return 0;
	if (i >= s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap <= i)
			cap *= 2;
		uint64_t *b = realloc(s->bytes, cap * sizeof *b);
		if (!b)
			return -ENOMEM;
		s->bytes = b;
		uint64_t *c = realloc(s->count, cap * sizeof *c);
		if (!c)
			return -ENOMEM;
		s->count = c;
		s->cap = cap;
	}
	memset(s->bytes + s->n, 0, (i + 1 - s->n) * sizeof *s->bytes);
	memset(s->count + s->n, 0, (i + 1 - s->n) * sizeof *s->count);
	s->n = (size_t)i + 1;
	return 0;
}

static int add(sitelive_t *s, const heap_block_t *b)
{
	int rc = ensure(s, b->stack);
	if (rc)
		return rc == -EINVAL ? 0 : rc;
	s->bytes[b->stack] += b->size;
	s->count[b->stack]++;
	s->total_bytes += b->size;
	s->total_count++;
	return 0;
}

/* Clamped: a block the model delivers as freed was added before, so this
 * only guards against a model bug turning into a huge unsigned number. */
static void sub(sitelive_t *s, const heap_block_t *b)
{
	if (b->stack >= s->n)
		return;
	uint64_t sz = b->size < s->bytes[b->stack] ? b->size
						    : s->bytes[b->stack];
	s->bytes[b->stack] -= sz;
	s->total_bytes -= sz < s->total_bytes ? sz : s->total_bytes;
	if (s->count[b->stack]) {
		s->count[b->stack]--;
		s->total_count--;
	}
}

/* An aggregated trace's absolute totals for stack i. */
static int set(sitelive_t *s, sidx_t i, uint64_t bytes, uint64_t count)
{
	int rc = ensure(s, i);
	if (rc)
		return rc == -EINVAL ? 0 : rc;
	s->total_bytes += bytes - s->bytes[i];
	s->total_count += count - s->count[i];
	s->bytes[i] = bytes;
	s->count[i] = count;
	return 0;
}

int sitelive_apply(sitelive_t *s, const heap_event_t *ev)
{
	switch (ev->kind) {
	case HEAP_EV_ALLOC:
		return add(s, &ev->block);
	case HEAP_EV_FREE:
		sub(s, &ev->block);
		return 0;
	case HEAP_EV_REALLOC:
	case HEAP_EV_MOVE:
		if (ev->old_known)
			sub(s, &ev->old);
		return add(s, &ev->block);
	case HEAP_EV_SET:
		return set(s, ev->block.stack, ev->block.size, ev->count);
	case HEAP_EV_SAMPLE:
		return 0;
	}
	return 0;
}

void sitelive_reset(sitelive_t *s)
{
	s->n = 0;
	s->total_bytes = 0;
	s->total_count = 0;
}

void sitelive_free(sitelive_t *s)
{
	free(s->bytes);
	free(s->count);
	memset(s, 0, sizeof *s);
}
