/* High-water steps; see highwater.h.
 *
 * Per-stack live bytes come from sitelive.  At each closed step the live
 * array is copied as the baseline of the next one: O(stacks) per step, and
 * the number of steps grows with the log of the peak.  The final step
 * needs per-stack bytes at the moment of the peak, long past by the end:
 * kept lazily with an epoch per peak (a stack's value is saved the first
 * time it changes after a new peak), O(1) per event. */
#include "agg/highwater.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/sitelive.h"
#include "agg/topn.h"

struct highwater {
	agg_t base; /* first */
	sitelive_t live;
	unsigned percent;
	uint64_t min_bytes;
	uint64_t mark; /* bytes at the last closed step */
	uint64_t mark_time_us;
	uint64_t *mark_bytes; /* per-stack live bytes at the mark */
	size_t nmark, capmark;
	uint64_t peak; /* highest heap so far */
	uint64_t peak_time_us;
	uint64_t epoch; /* bumped at every new peak */
	uint64_t *at_peak; /* per stack: bytes at the peak if */
	uint64_t *epoch_of; /* ... epoch_of[s] == epoch, else live */
	size_t cappeak;
	highwater_step_t *steps;
	size_t nsteps, capsteps;
	int final_done; /* steps[nsteps-1] is the final step to the peak */
	group_t *group; /* report grouping, NULL = by stack */
	report_by_t by; /* group's key type */
};

static int ensure_peak(highwater_t *h, sidx_t s)
{
	if (s < h->cappeak)
		return 0;
	size_t n = h->cappeak ? h->cappeak : 64;
	while (n <= s)
		n *= 2;
	uint64_t *a = realloc(h->at_peak, n * sizeof *a);
	if (!a)
		return -ENOMEM;
	h->at_peak = a;
	uint64_t *e = realloc(h->epoch_of, n * sizeof *e);
	if (!e)
		return -ENOMEM;
	h->epoch_of = e;
	memset(a + h->cappeak, 0, (n - h->cappeak) * sizeof *a);
	memset(e + h->cappeak, 0, (n - h->cappeak) * sizeof *e);
	h->cappeak = n;
	return 0;
}

/* Before stack s changes: remember its value at the latest peak. */
static int save_peak(highwater_t *h, sidx_t s)
{
	if (s == SIDX_NONE)
		return 0;
	int rc = ensure_peak(h, s);
	if (rc)
		return rc;
	if (h->epoch_of[s] != h->epoch) {
		h->at_peak[s] = sitelive_bytes(&h->live, s);
		h->epoch_of[s] = h->epoch;
	}
	return 0;
}

static uint64_t value_at_peak(const highwater_t *h, size_t s)
{
	if (s < h->cappeak && h->epoch_of[s] == h->epoch)
		return h->at_peak[s];
	return sitelive_bytes(&h->live, (sidx_t)s);
}

static uint64_t value_now(const highwater_t *h, size_t s)
{
	return sitelive_bytes(&h->live, (sidx_t)s);
}

/* Appends a step from the mark to `to`, with per-stack values from
 * `value`; `advance` makes it the new mark (not for the final step). */
static int close_step(highwater_t *h, uint64_t to, uint64_t to_time_us,
		      uint64_t (*value)(const highwater_t *, size_t),
		      int advance)
{
	if (h->nsteps == h->capsteps) {
		size_t cap = h->capsteps ? 2 * h->capsteps : 16;
		highwater_step_t *p = realloc(h->steps, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		h->steps = p;
		h->capsteps = cap;
	}
	size_t n = h->live.n > h->nmark ? h->live.n : h->nmark;
	topn_entry_t *v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	highwater_step_t *st = &h->steps[h->nsteps];
	memset(st, 0, sizeof *st);
	st->from_bytes = h->mark;
	st->to_bytes = to;
	st->from_time_us = h->mark_time_us;
	st->to_time_us = to_time_us;
	st->is_peak = !advance;
	size_t nv = 0, changed = 0;
	int64_t sum = 0;
	for (size_t s = 0; s < n; s++) {
		uint64_t before = s < h->nmark ? h->mark_bytes[s] : 0;
		changed += value(h, s) != before;
	}
	st->delta_stack = malloc((changed ? changed : 1) *
				 sizeof *st->delta_stack);
	st->delta_bytes = malloc((changed ? changed : 1) *
				 sizeof *st->delta_bytes);
	if (!st->delta_stack || !st->delta_bytes) {
		free(st->delta_stack);
		free(st->delta_bytes);
		free(v);
		return -ENOMEM;
	}
	changed = 0;
	for (size_t s = 0; s < n; s++) {
		uint64_t before = s < h->nmark ? h->mark_bytes[s] : 0;
		int64_t d = (int64_t)(value(h, s) - before);
		if (!d)
			continue;
		st->delta_stack[changed] = (sidx_t)s;
		st->delta_bytes[changed] = d;
		changed++;
		sum += d;
		if (d > 0)
			v[nv++] = (topn_entry_t){
				.cost = { (uint64_t)d, UINT64_MAX - s },
				.item = (void *)(uintptr_t)s
			};
	}
	size_t k = topn_rank(v, nv, HIGHWATER_TOP);
	int64_t top = 0;
	for (size_t i = 0; i < k; i++) {
		st->contrib[i].stack = (sidx_t)(uintptr_t)v[i].item;
		st->contrib[i].bytes = (int64_t)v[i].cost[0];
		top += st->contrib[i].bytes;
	}
	free(v);
	st->ncontrib = k;
	st->ndelta = changed;
	st->others = sum - top;
	st->others_sites = changed - k;
	if (advance) {
		if (h->live.n > h->capmark) {
			uint64_t *m = realloc(h->mark_bytes,
					      h->live.cap * sizeof *m);
			if (!m)
				return -ENOMEM;
			h->mark_bytes = m;
			h->capmark = h->live.cap;
		}
		for (size_t s = 0; s < h->live.n; s++)
			h->mark_bytes[s] = h->live.bytes[s];
		for (size_t s = h->live.n; s < h->nmark; s++)
			h->mark_bytes[s] = 0;
		if (h->live.n > h->nmark)
			h->nmark = h->live.n;
		h->mark = to;
		h->mark_time_us = to_time_us;
	}
	h->nsteps++;
	return 0;
}

static int op_add(agg_t *a, const heap_event_t *ev)
{
	highwater_t *h = (highwater_t *)a;
	int rc;
	if (ev->kind == HEAP_EV_SAMPLE)
		return 0;
	if (h->final_done) { /* an event after a report: drop the final */
		h->nsteps--;
		free(h->steps[h->nsteps].delta_stack);
		free(h->steps[h->nsteps].delta_bytes);
		h->final_done = 0;
	}
	if ((rc = save_peak(h, ev->block.stack)))
		return rc;
	if ((ev->kind == HEAP_EV_REALLOC || ev->kind == HEAP_EV_MOVE) &&
	    ev->old_known && (rc = save_peak(h, ev->old.stack)))
		return rc;
	if ((rc = sitelive_apply(&h->live, ev)))
		return rc;
	uint64_t now = h->live.total_bytes;
	if (now <= h->peak)
		return 0;
	h->peak = now;
	h->peak_time_us = ev->time_us;
	h->epoch++;
	uint64_t grown = now - h->mark;
	if (grown >= h->min_bytes &&
	    (unsigned __int128)grown * 100 >=
		    (unsigned __int128)h->percent * h->mark)
		return close_step(h, now, ev->time_us, value_now, 1);
	return 0;
}

static void free_steps(highwater_t *h)
{
	for (size_t i = 0; i < h->nsteps; i++) {
		free(h->steps[i].delta_stack);
		free(h->steps[i].delta_bytes);
	}
	h->nsteps = 0;
}

static void clear(highwater_t *h)
{
	free_steps(h);
	sitelive_reset(&h->live);
	h->mark = h->mark_time_us = 0;
	h->nmark = 0;
	h->peak = h->peak_time_us = 0;
	h->epoch++;
	h->nsteps = 0;
	h->final_done = 0;
	if (h->cappeak) /* every saved value is stale: forget them */
		memset(h->epoch_of, 0, h->cappeak * sizeof *h->epoch_of);
}

static void op_reset(agg_t *a)
{
	clear((highwater_t *)a);
}

static const agg_ops_t highwater_ops = {
	.name = "highwater",
	.add = op_add,
	.reset = op_reset,
};

highwater_t *highwater_new(void)
{
	highwater_t *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->base.ops = &highwater_ops;
	h->percent = HIGHWATER_PERCENT;
	h->min_bytes = HIGHWATER_MIN_BYTES;
	h->epoch = 1;
	return h;
}

void highwater_free(highwater_t *h)
{
	if (!h)
		return;
	free_steps(h);
	sitelive_free(&h->live);
	free(h->mark_bytes);
	free(h->at_peak);
	free(h->epoch_of);
	free(h->steps);
	free(h);
}

agg_t *highwater_agg(highwater_t *h)
{
	return &h->base;
}

void highwater_set_threshold(highwater_t *h, unsigned percent,
			     uint64_t min_bytes)
{
	h->percent = percent;
	h->min_bytes = min_bytes ? min_bytes : 1;
}

void highwater_set_group(highwater_t *h, group_t *g, report_by_t by)
{
	h->group = g;
	h->by = by;
}

long highwater_steps(highwater_t *h, const highwater_step_t **steps)
{
	if (!h->final_done && h->peak > h->mark) {
		int rc = close_step(h, h->peak, h->peak_time_us, value_at_peak,
				    0);
		if (rc)
			return rc;
		h->final_done = 1;
	}
	*steps = h->steps;
	return (long)h->nsteps;
}

uint64_t highwater_peak(const highwater_t *h, uint64_t *time_us)
{
	if (time_us)
		*time_us = h->peak_time_us;
	return h->peak;
}

/* --- result ------------------------------------------------------------- */

/* The step's top HIGHWATER_TOP sites under h's grouping, plus the sum and
 * count of the other changed sites.  Returns the row count or -ENOMEM. */
static long step_rows(highwater_t *h, const highwater_step_t *st,
		      highwater_site_t *rows, int64_t *others, size_t *nothers)
{
	if (!h->group) {
		for (size_t k = 0; k < st->ncontrib; k++)
			rows[k] = (highwater_site_t){ st->contrib[k].stack,
						st->contrib[k].stack,
						st->contrib[k].bytes };
		*others = st->others;
		*nothers = st->others_sites;
		return (long)st->ncontrib;
	}
	long rc = -ENOMEM;
	uint32_t *gid = malloc((st->ndelta ? st->ndelta : 1) * sizeof *gid);
	int64_t *acc = NULL, *repb = NULL;
	sidx_t *rep = NULL;
	topn_entry_t *v = NULL;
	if (!gid)
		goto fail;
	size_t ng = 0;
	for (size_t i = 0; i < st->ndelta; i++) {
		gid[i] = group_of_stack(h->group, st->delta_stack[i]);
		if (gid[i] == GROUP_NONE)
			goto fail;
		if (gid[i] >= ng)
			ng = (size_t)gid[i] + 1;
	}
	acc = calloc(ng ? ng : 1, sizeof *acc);
	repb = calloc(ng ? ng : 1, sizeof *repb);
	rep = malloc((ng ? ng : 1) * sizeof *rep);
	v = malloc((ng ? ng : 1) * sizeof *v);
	if (!acc || !repb || !rep || !v)
		goto fail;
	int64_t sum = 0;
	for (size_t i = 0; i < st->ndelta; i++) {
		uint32_t g = gid[i];
		int64_t d = st->delta_bytes[i];
		if (!repb[g] || d > repb[g]) {
			rep[g] = st->delta_stack[i];
			repb[g] = d ? d : 1;
		}
		acc[g] += d;
		sum += d;
	}
	size_t nv = 0, nz = 0;
	for (size_t g = 0; g < ng; g++) {
		nz += repb[g] && acc[g];
		if (repb[g] && acc[g] > 0)
			v[nv++] = (topn_entry_t){
				.cost = { (uint64_t)acc[g], UINT64_MAX - g },
				.item = (void *)(uintptr_t)g
			};
	}
	size_t k = topn_rank(v, nv, HIGHWATER_TOP);
	int64_t top = 0;
	for (size_t i = 0; i < k; i++) {
		uint32_t g = (uint32_t)(uintptr_t)v[i].item;
		rows[i] = (highwater_site_t){ g, rep[g], acc[g] };
		top += acc[g];
	}
	*others = sum - top;
	*nothers = nz - k;
	rc = (long)k;
fail:
	free(gid);
	free(acc);
	free(repb);
	free(rep);
	free(v);
	return rc;
}

int highwater_result(highwater_t *h, size_t last, highwater_result_t *res)
{
	const highwater_step_t *st = NULL;
	memset(res, 0, sizeof *res);
	long n = highwater_steps(h, &st);
	if (n < 0)
		return (int)n;
	res->peak = h->peak;
	res->peak_time_us = h->peak_time_us;
	res->percent = h->percent;
	res->min_bytes = h->min_bytes;
	res->group = h->group;
	res->by = h->by;
	/* Only the steps kept are grouped (a group walk per step). */
	res->first = last && (size_t)n > last ? (size_t)n - last : 0;
	res->steps = calloc(n ? (size_t)n : 1, sizeof *res->steps);
	if (!res->steps)
		return -ENOMEM;
	for (size_t i = 0; i + res->first < (size_t)n; i++) {
		const highwater_step_t *s = &st[res->first + i];
		highwater_grouped_t *g = &res->steps[i];
		long k = step_rows(h, s, g->sites, &g->others, &g->nothers);
		if (k < 0) {
			highwater_result_free(res);
			return (int)k;
		}
		g->step = s;
		g->nsites = (size_t)k;
		res->nsteps = i + 1;
	}
	return 0;
}

void highwater_result_free(highwater_result_t *res)
{
	free(res->steps);
	memset(res, 0, sizeof *res);
}
