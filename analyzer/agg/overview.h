/* Overview aggregator: everything `heaptrail report` shows, from one
 * replay: the run's figures, the sites live at the peak, leak candidates,
 * growth chains, the most-called and the temporary-allocation sites.  It
 * owns a point (the peak), a leaks and a growth aggregator; cmd_report.c
 * registers them together and hands the result to render/text.c or
 * json.c.  Not thread-safe. */
#ifndef HEAPTRAIL_OVERVIEW_H
#define HEAPTRAIL_OVERVIEW_H

#include <stddef.h>

#include "agg/agg.h"
#include "agg/group.h"
#include "agg/growth.h"
#include "agg/leaks.h"
#include "agg/stats.h"
#include "model/analysis.h"

#define OVERVIEW_MAX_AGGS 3

typedef struct overview overview_t;

/* Sites keyed by `by` (the leaks section's key). */
overview_t *overview_new(report_by_t by);
/* Its leaks aggregator (for leaks_set_at_exit). */
leaks_t *overview_leaks(overview_t *o);
void overview_free(overview_t *o);
/* The aggregators to register with the analysis: fills aggs (room for
 * OVERVIEW_MAX_AGGS), returns how many. */
size_t overview_aggs(overview_t *o, agg_t **aggs);

typedef struct overview_result {
	const analysis_summary_t *sum; /* the analysis's */
	heap_counters_t counters; /* the heap's at the end */
	analysis_leaked_t leaked; /* at the leaks section's end (a Python
				   * program's teardown mark, or --at end) */
	uint64_t peak_time_us; /* when the peak was first reached */
	uint64_t peak_bytes, peak_blocks;
	stat_set_t peak; /* live at the peak, ranked by bytes */
	size_t npeak; /* rows shown (the limit) */
	stat_set_t calls; /* allocations over the run (bytes = allocated),
			   * ranked by count */
	size_t ncalls;
	stat_set_t temp; /* temporary allocations, ranked by count */
	size_t ntemp;
	leaks_result_t leaks; /* candidates and live-at-end sites */
	growth_result_t growth; /* chains, heaviest first */
} overview_result_t;

/* Fills *res with at most `limit` rows per section, sites grouped by g
 * (which must outlive *res).  Returns 0, -ENOMEM, or -EINVAL with a
 * message in err. */
int overview_result(overview_t *o, const analysis_t *an, group_t *g,
		    size_t limit, overview_result_t *res, char *err,
		    size_t errlen);
void overview_result_free(overview_result_t *res);

#endif /* HEAPTRAIL_OVERVIEW_H */
