/* Heap and RSS over time; see series.h. */
#include "agg/series.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct line {
	series_point_t *p;
	size_t n, cap;
} line_t;

struct series {
	agg_t agg; /* first member: agg_t * <-> series_t * */
	line_t heap, rss;
};

/* Halves the points: each pair becomes one with the later time and last
 * value and the larger max (so the peak survives). */
static void l_halve(line_t *l)
{
	size_t j = 0;
	for (size_t i = 0; i + 1 < l->n; i += 2) {
		series_point_t a = l->p[i], b = l->p[i + 1];
		l->p[j++] = (series_point_t){ b.time_us, b.last,
					      a.max > b.max ? a.max : b.max };
	}
	if (l->n & 1)
		l->p[j++] = l->p[l->n - 1];
	l->n = j;
}

static int l_add(line_t *l, uint64_t t, uint64_t v)
{
	if (l->n && l->p[l->n - 1].time_us >= t) {
		series_point_t *q = &l->p[l->n - 1];
		q->last = v;
		if (v > q->max)
			q->max = v;
		return 0;
	}
	if (l->n == SERIES_MAX_POINTS)
		l_halve(l);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		series_point_t *p = realloc(l->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->p = p;
		l->cap = cap;
	}
	l->p[l->n++] = (series_point_t){ t, v, v };
	return 0;
}

static int s_add(agg_t *a, const heap_event_t *ev)
{
	series_t *s = (series_t *)a;
	if (ev->kind == HEAP_EV_MOVE) /* the heap is unchanged */
		return 0;
	return l_add(&s->heap, ev->time_us, ev->heap_bytes);
}

static int s_rss(agg_t *a, uint64_t time_us, uint64_t bytes)
{
	series_t *s = (series_t *)a;
	return l_add(&s->rss, time_us, bytes);
}

static void s_reset(agg_t *a)
{
	series_t *s = (series_t *)a;
	s->heap.n = s->rss.n = 0;
}

static const agg_ops_t series_ops = {
	.name = "series",
	.add = s_add,
	.reset = s_reset,
	.rss = s_rss,
};

series_t *series_new(void)
{
	series_t *s = calloc(1, sizeof(*s));
	if (s)
		s->agg.ops = &series_ops;
	return s;
}

void series_free(series_t *s)
{
	if (!s)
		return;
	free(s->heap.p);
	free(s->rss.p);
	free(s);
}

agg_t *series_agg(series_t *s)
{
	return &s->agg;
}

const series_point_t *series_heap(const series_t *s, size_t *n)
{
	*n = s->heap.n;
	return s->heap.p;
}

const series_point_t *series_rss(const series_t *s, size_t *n)
{
	*n = s->rss.n;
	return s->rss.p;
}
