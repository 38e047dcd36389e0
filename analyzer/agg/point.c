/* Point aggregator: see point.h.  Copies the heap model's per-stack live
 * totals when the point passes (snapshot mark, first event after the
 * time); the end and the peak are read from the heap model afterwards. */
#include "agg/point.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/fmt.h"


typedef struct capture {
	uint64_t *bytes, *count; /* by sidx */
	int64_t *net; /* by sidx: allocated minus freed here, since the start */
	size_t n;
	uint64_t heap_bytes, heap_blocks, time_us;
	bool done;
	char desc[320];
} capture_t;

struct point {
	agg_t agg;
	point_spec_t spec;
	bool numeric; /* spec.snapshot is a decimal index */
	uint64_t index;
	capture_t by_label, by_index, at_time;
	capture_t result; /* end / peak */
	const capture_t *chosen;
};

static void cap_clear(capture_t *c)
{
	free(c->bytes);
	free(c->count);
	free(c->net);
	memset(c, 0, sizeof(*c));
}

static int cap_take(capture_t *c, const heap_t *h)
{
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(h, &n);
	const heap_counters_t *hc = heap_counters(h);
	cap_clear(c);
	c->bytes = calloc(n ? n : 1, sizeof(uint64_t));
	c->count = calloc(n ? n : 1, sizeof(uint64_t));
	c->net = calloc(n ? n : 1, sizeof(int64_t));
	if (!c->bytes || !c->count || !c->net)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		c->bytes[i] = st[i].live_bytes;
		c->count[i] = st[i].live_count;
		c->net[i] = heap_stack_net(h, (sidx_t)i);
	}
	c->n = n;
	c->heap_bytes = hc->heap_bytes;
	c->heap_blocks = hc->heap_blocks;
	c->done = true;
	return 0;
}

/* Undoes a net change of d at stack s. */
static void cap_net(capture_t *c, sidx_t s, int64_t d)
{
	if (s < c->n)
		c->net[s] -= d;
}

static void cap_adjust(capture_t *c, const heap_block_t *b, bool add)
{
	if (b->stack >= c->n)
		return;
	if (add) {
		c->bytes[b->stack] += b->size;
		c->count[b->stack]++;
		c->heap_bytes += b->size;
		c->heap_blocks++;
	} else {
		c->bytes[b->stack] -= b->size;
		c->count[b->stack]--;
		c->heap_bytes -= b->size;
		c->heap_blocks--;
	}
}

static int p_add(agg_t *a, const heap_event_t *ev)
{
	point_t *p = (point_t *)a;
	if (p->spec.kind != POINT_TIME || p->at_time.done ||
	    ev->time_us <= p->spec.time_us)
		return 0;
	/* The first event after the time: take the state, then undo this
	 * event, which the heap model has already applied. */
	capture_t *c = &p->at_time;
	if (cap_take(c, a->heap) < 0)
		return -ENOMEM;
	switch (ev->kind) {
	case HEAP_EV_ALLOC:
		cap_adjust(c, &ev->block, false);
		cap_net(c, ev->block.stack, (int64_t)ev->block.size);
		break;
	case HEAP_EV_FREE:
		cap_adjust(c, &ev->block, true);
		cap_net(c, ev->site, -(int64_t)ev->block.size);
		break;
	case HEAP_EV_REALLOC:
	case HEAP_EV_MOVE:
		cap_adjust(c, &ev->block, false);
		cap_net(c, ev->block.stack, (int64_t)ev->block.size);
		if (ev->old_known) {
			cap_adjust(c, &ev->old, true);
			cap_net(c, ev->site, -(int64_t)ev->old.size);
		}
		break;
	case HEAP_EV_SET: /* aggregated: the state after the time is the
			   * next snapshot's, as close as such a trace gets */
	case HEAP_EV_SAMPLE:
		break;
	}
	c->time_us = p->spec.time_us;
	return 0;
}

static int p_snapshot(agg_t *a, const agg_snapshot_t *s)
{
	point_t *p = (point_t *)a;
	capture_t *c = NULL;
	if (p->spec.kind != POINT_SNAPSHOT)
		return 0;
	if (!p->by_label.done && strcmp(s->label, p->spec.snapshot) == 0)
		c = &p->by_label;
	else if (!p->by_index.done && p->numeric && s->index == p->index)
		c = &p->by_index;
	if (!c)
		return 0;
	if (cap_take(c, a->heap) < 0)
		return -ENOMEM;
	c->time_us = s->time_us;
	char t[32];
	snprintf(c->desc, sizeof(c->desc), "snapshot #%" PRIu64 " '%s' at %s",
		 s->index, s->label, fmt_seconds(t, sizeof t, s->time_us));
	return 0;
}

static void p_reset(agg_t *a)
{
	point_t *p = (point_t *)a;
	cap_clear(&p->by_label);
	cap_clear(&p->by_index);
	cap_clear(&p->at_time);
	cap_clear(&p->result);
	p->chosen = NULL;
}

static const agg_ops_t point_ops = {
	.name = "point",
	.add = p_add,
	.snapshot = p_snapshot,
	.reset = p_reset,
};

point_t *point_new(const point_spec_t *spec)
{
	point_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->agg.ops = &point_ops;
	p->spec = *spec;
	if (spec->kind == POINT_SNAPSHOT) {
		/* Digits only: a snapshot index (a label may match too). */
		const char *d = spec->snapshot;
		p->numeric = *d && strspn(d, "0123456789") == strlen(d);
		p->index = p->numeric ? (uint64_t)strtoll(d, NULL, 10) : 0;
	}
	return p;
}

void point_free(point_t *p)
{
	if (!p)
		return;
	p_reset(&p->agg);
	free(p);
}

agg_t *point_agg(point_t *p)
{
	return &p->agg;
}

const point_spec_t *point_spec(const point_t *p)
{
	return &p->spec;
}

int point_index_need(const point_t *p)
{
	switch (p->spec.kind) {
	case POINT_END:
	case POINT_PEAK:
		return POINT_INDEX_PLAIN;
	case POINT_SNAPSHOT:
		return POINT_INDEX_STATES;
	default:
		return POINT_INDEX_NO;
	}
}

/* An analysis from the index saw no snapshot: take the captures p_snapshot
 * would have taken from the index's snapshot states. */
static int snapshot_from_index(point_t *p, const point_from_t *from)
{
	const analysis_summary_t *s = from->sum;
	for (size_t k = 0; k < s->nsnapshots; k++) {
		const analysis_snapshot_t *sn = &s->snapshots[k];
		const analysis_state_t *st;
		size_t m;
		uint64_t n;
		capture_t *c = NULL;
		if (!p->by_label.done && strcmp(sn->label, p->spec.snapshot) == 0)
			c = &p->by_label;
		else if (!p->by_index.done && p->numeric && sn->index == p->index)
			c = &p->by_index;
		if (!c)
			continue;
		if (!from->has_states)
			return -EIO;
		st = from->states.states + from->states.at[k];
		m = (size_t)(from->states.at[k + 1] - from->states.at[k]);
		n = from->states.n[k];
		cap_clear(c);
		c->bytes = calloc(n ? n : 1, sizeof(uint64_t));
		c->count = calloc(n ? n : 1, sizeof(uint64_t));
		if (!c->bytes || !c->count)
			return -ENOMEM;
		for (size_t i = 0; i < m; i++) {
			if (st[i].sidx >= n)
				return -EIO;
			c->bytes[st[i].sidx] = st[i].bytes;
			c->count[st[i].sidx] = st[i].count;
		}
		c->n = (size_t)n;
		c->heap_bytes = sn->heap_bytes;
		c->heap_blocks = sn->heap_blocks;
		c->done = true;
		c->time_us = sn->time_us;
		char t[32];
		snprintf(c->desc, sizeof(c->desc), "snapshot #%" PRIu64 " '%s' at %s",
			 sn->index, sn->label, fmt_seconds(t, sizeof t, sn->time_us));
	}
	return 0;
}

int point_result(point_t *p, const point_from_t *from, const uint64_t **bytes,
		 const uint64_t **count, size_t *n, char *err, size_t errlen)
{
	const heap_t *h = from->heap;
	const heap_counters_t *hc = heap_counters(h);
	const capture_t *c = NULL;
	int rc;
	switch (p->spec.kind) {
	case POINT_SNAPSHOT:
		if (from->from_index &&
		    (rc = snapshot_from_index(p, from)) < 0) {
			snprintf(err, errlen, "%s: %s", from->sum->path,
				 rc == -ENOMEM ? "out of memory" :
				 "the trace index has no state for this snapshot; run with HEAPTRAIL_NO_INDEX=1");
			return rc;
		}
		c = p->by_label.done ? &p->by_label :
		    p->by_index.done ? &p->by_index : NULL;
		if (!c) {
			const analysis_summary_t *s = from->sum;
			size_t at = 0;
			char list[256] = "";
			for (size_t i = 0; i < s->nsnapshots && at < sizeof(list); i++) {
				int w = snprintf(list + at, sizeof(list) - at,
						 "%s#%" PRIu64 " '%s'", i ? ", " : "",
						 s->snapshots[i].index,
						 s->snapshots[i].label);
				if (w < 0)
					break;
				at += (size_t)w;
			}
			/* "0.3" is a snapshot index to args_parse_point (a
			 * time needs a unit), but most likely meant 0.3s. */
			char *e;
			char hint[96] = "";
			(void)strtod(p->spec.snapshot, &e);
			if (e != p->spec.snapshot && !*e)
				snprintf(hint, sizeof hint,
					 "; for a time, give a unit: %.40ss",
					 p->spec.snapshot);
			snprintf(err, errlen,
				 "%s: no snapshot '%s' (snapshots: %s); see `heaptrail snapshots %s`%s",
				 s->path, p->spec.snapshot,
				 s->nsnapshots ? list : "none", s->path, hint);
			return -ENOENT;
		}
		break;
	case POINT_TIME:
		if (p->at_time.done) {
			c = &p->at_time;
			char t[32];
			snprintf(p->at_time.desc, sizeof(p->at_time.desc),
				 "time %s", fmt_time(t, sizeof t, p->spec.time_us));
			break;
		}
		/* After the last event but within the run: the end state.
		 * Past the run's end is a mistake (a unit, a typo): say how
		 * long the trace is rather than show the end as if asked. */
		if (p->spec.time_us > from->sum->end_time_us) {
			char a[32], b[32];
			snprintf(err, errlen,
				 "%s: time %s is past the end of the trace, which lasts %s",
				 from->sum->path,
				 fmt_time(a, sizeof a, p->spec.time_us),
				 fmt_time(b, sizeof b, from->sum->end_time_us));
			return -ERANGE;
		}
		/* fall through */
	case POINT_END:
		if (cap_take(&p->result, h) < 0)
			return -ENOMEM;
		p->result.time_us = from->sum->end_time_us;
		char t[32];
		snprintf(p->result.desc, sizeof(p->result.desc), "end (%s)",
			 fmt_seconds(t, sizeof t, p->result.time_us));
		c = &p->result;
		break;
	case POINT_PEAK: {
		capture_t *r = &p->result;
		if (cap_take(r, h) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < r->n; i++) {
			heap_stack_at_peak(h, (sidx_t)i, &r->bytes[i], &r->count[i]);
			r->net[i] = heap_stack_net_at_peak(h, (sidx_t)i);
		}
		r->heap_bytes = hc->peak_bytes;
		r->heap_blocks = hc->peak_blocks;
		r->time_us = hc->peak_time_us;
		char t[32];
		snprintf(r->desc, sizeof(r->desc), "peak (%s)",
			 fmt_seconds(t, sizeof t, r->time_us));
		c = r;
		break;
	}
	}
	p->chosen = c;
	*bytes = c->bytes;
	*count = c->count;
	*n = c->n;
	return 0;
}

const int64_t *point_net(const point_t *p)
{
	return p->chosen ? p->chosen->net : NULL;
}

uint64_t point_heap_bytes(const point_t *p)
{
	return p->chosen ? p->chosen->heap_bytes : 0;
}

uint64_t point_heap_blocks(const point_t *p)
{
	return p->chosen ? p->chosen->heap_blocks : 0;
}

uint64_t point_time_us(const point_t *p)
{
	return p->chosen ? p->chosen->time_us : 0;
}

const char *point_describe(const point_t *p)
{
	return p->chosen ? p->chosen->desc : "";
}
