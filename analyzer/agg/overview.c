/* Overview aggregator: see overview.h.  It adds no event handling of its
 * own: the point, leaks and growth aggregators do the work, and the
 * per-stack totals of the heap model give the call counts and the
 * temporary allocations. */
#include "agg/overview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/point.h"

struct overview {
	point_t *peak;
	leaks_t *leaks;
	growth_t *growth;
};

overview_t *overview_new(report_by_t by)
{
	overview_t *o = calloc(1, sizeof(*o));
	point_spec_t spec = { .kind = POINT_PEAK };
	if (!o)
		return NULL;
	o->peak = point_new(&spec);
	o->leaks = leaks_new();
	o->growth = growth_new();
	if (!o->peak || !o->leaks || !o->growth) {
		overview_free(o);
		return NULL;
	}
	leaks_set_by(o->leaks, by);
	/* A page has room for the ends of a chain only. */
	growth_set_text_steps(o->growth, 4);
	return o;
}

void overview_free(overview_t *o)
{
	if (!o)
		return;
	point_free(o->peak);
	leaks_free(o->leaks);
	growth_free(o->growth);
	free(o);
}

size_t overview_aggs(overview_t *o, agg_t **aggs)
{
	aggs[0] = point_agg(o->peak);
	aggs[1] = leaks_agg(o->leaks);
	aggs[2] = growth_agg(o->growth);
	return OVERVIEW_MAX_AGGS;
}

/* A stat set over the heap's per-stack totals: allocations (temp false)
 * or temporary allocations, ranked by count. */
static int totals_set(group_t *g, const heap_stack_stat_t *st, size_t n,
		      bool temp, size_t limit, stat_set_t *out, size_t *k)
{
	uint64_t *b = calloc(n + 1, sizeof(*b));
	uint64_t *c = calloc(n + 1, sizeof(*c));
	int rc = -ENOMEM;
	if (!b || !c)
		goto done;
	for (size_t i = 0; i < n; i++) {
		b[i] = temp ? st[i].temp_bytes : st[i].alloc_bytes;
		c[i] = temp ? st[i].temp_count : st[i].alloc_count;
	}
	rc = stats_compute(g, b, c, n, false, out);
	if (rc == 0)
		*k = stats_rank_count(out, limit);
done:
	free(b);
	free(c);
	return rc;
}

/* Growth chains follow the page's --include/--exclude. */
static bool keep_site(void *arg, sidx_t stack)
{
	return group_stack_passes(arg, stack);
}

int overview_result(overview_t *o, const analysis_t *an, group_t *g,
		    size_t limit, overview_result_t *res, char *err,
		    size_t errlen)
{
	const heap_t *h = analysis_heap(an);
	const uint64_t *bytes, *count;
	size_t n;
	int rc;
	memset(res, 0, sizeof(*res));
	res->sum = analysis_summary(an);
	res->counters = *heap_counters(h);
	point_from_t f = {
		.heap = h,
		.sum = res->sum,
		.from_index = analysis_from_index(an),
	};
	f.has_states = analysis_states(an, &f.states);
	if ((rc = point_result(o->peak, &f, &bytes, &count, &n, err, errlen)) < 0)
		return rc;
	res->peak_time_us = point_time_us(o->peak);
	res->peak_bytes = point_heap_bytes(o->peak);
	res->peak_blocks = point_heap_blocks(o->peak);
	if ((rc = stats_compute(g, bytes, count, n, false, &res->peak)) < 0)
		goto fail;
	res->npeak = stats_rank(&res->peak, false, limit);
	const heap_stack_stat_t *st = heap_stack_stats(h, &n);
	if ((rc = totals_set(g, st, n, false, limit, &res->calls, &res->ncalls)) < 0 ||
	    (rc = totals_set(g, st, n, true, limit, &res->temp, &res->ntemp)) < 0)
		goto fail;
	if ((rc = leaks_grouped(o->leaks, g, limit, &res->leaks)) < 0)
		goto fail;
	analysis_leaked(an, !leaks_at_teardown(o->leaks), &res->leaked);
	if (group_has_filters(g))
		growth_set_filter(o->growth, keep_site, g);
	if ((rc = growth_result(o->growth, limit, &res->growth)) < 0)
		goto fail;
	return 0;
fail:
	overview_result_free(res);
	return rc;
}

void overview_result_free(overview_result_t *res)
{
	stats_free(&res->peak);
	stats_free(&res->calls);
	stats_free(&res->temp);
	leaks_result_free(&res->leaks);
	growth_result_free(&res->growth);
	memset(res, 0, sizeof(*res));
}

leaks_t *overview_leaks(overview_t *o)
{
	return o->leaks;
}
