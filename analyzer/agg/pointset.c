/* Point set: see pointset.h.  The time points are kept in time order; an
 * event is handed to the next one only once it is past that point's time
 * (the test point.c's add makes first), so a pass costs one comparison
 * per event however many points there are. */
#include "agg/pointset.h"

#include <stdlib.h>

struct pointset {
	agg_t agg;
	point_t **snaps; /* the snapshot points */
	size_t nsnaps;
	point_t **times; /* the time points, by time */
	uint64_t *at; /* their times, us */
	size_t ntimes;
	size_t next; /* first time point not passed yet */
};

/* The inner aggregator, with the running analysis' tables. */
static agg_t *inner(const pointset_t *s, point_t *p)
{
	agg_t *a = point_agg(p);
	a->heap = s->agg.heap;
	a->stacks = s->agg.stacks;
	return a;
}

static int ps_add(agg_t *a, const heap_event_t *ev)
{
	pointset_t *s = (pointset_t *)a;
	while (s->next < s->ntimes && ev->time_us > s->at[s->next]) {
		agg_t *in = inner(s, s->times[s->next++]);
		int rc = in->ops->add(in, ev);
		if (rc)
			return rc;
	}
	return 0;
}

static int ps_snapshot(agg_t *a, const agg_snapshot_t *snap)
{
	pointset_t *s = (pointset_t *)a;
	for (size_t i = 0; i < s->nsnaps; i++) {
		agg_t *in = inner(s, s->snaps[i]);
		int rc = in->ops->snapshot(in, snap);
		if (rc)
			return rc;
	}
	return 0;
}

static void ps_reset(agg_t *a)
{
	pointset_t *s = (pointset_t *)a;
	for (size_t i = 0; i < s->nsnaps + s->ntimes; i++) {
		agg_t *in = inner(s, i < s->nsnaps ? s->snaps[i] : s->times[i - s->nsnaps]);
		in->ops->reset(in);
	}
	s->next = 0;
}

static const agg_ops_t pointset_ops = {
	.name = "pointset",
	.add = ps_add,
	.snapshot = ps_snapshot,
	.reset = ps_reset,
};

pointset_t *pointset_new(point_t *const *pts, size_t n)
{
	pointset_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->agg.ops = &pointset_ops;
	s->snaps = calloc(n ? n : 1, sizeof(*s->snaps));
	s->times = calloc(n ? n : 1, sizeof(*s->times));
	s->at = calloc(n ? n : 1, sizeof(*s->at));
	if (!s->snaps || !s->times || !s->at) {
		pointset_free(s);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const point_spec_t *sp = point_spec(pts[i]);
		if (sp->kind == POINT_SNAPSHOT) {
			s->snaps[s->nsnaps++] = pts[i];
		} else if (sp->kind == POINT_TIME) {
			/* Insertion by time: a few dozen points. */
			size_t k = s->ntimes++;
			while (k && s->at[k - 1] > sp->time_us) {
				s->at[k] = s->at[k - 1];
				s->times[k] = s->times[k - 1];
				k--;
			}
			s->at[k] = sp->time_us;
			s->times[k] = pts[i];
		}
		/* The end and the peak need no event: point_result reads them
		 * from the heap model. */
	}
	return s;
}

void pointset_free(pointset_t *s)
{
	if (!s)
		return;
	free(s->snaps);
	free(s->times);
	free(s->at);
	free(s);
}

agg_t *pointset_agg(pointset_t *s)
{
	return &s->agg;
}
