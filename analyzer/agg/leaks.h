/* Leaks aggregator: blocks live at the end of the final image by call site,
 * and leak candidates (call sites whose live bytes kept growing across the
 * snapshots and never fell; the rule is leakrule.h's).  Fed by analysis.c
 * (agg.h); cmd_leaks.c takes its result (leaks_grouped) to render/text.c or
 * json.c; the unit tests check leaks_compute().  Not thread-safe. */

/* Candidate rule: the series is every snapshot of the final image plus an
 * "end" point when the last snapshot is not the exit one; the exit snapshot
 * is left out when it came after a teardown that freed most of the heap
 * (below half of the previous point: CPython's finalization).  A site is a
 * candidate when leakrule_judge() says so over that series (>= 3 points):
 * it never fell by more than a tolerance, set a new high in at least half
 * of the intervals, grew by a meaningful amount and is still live at the
 * end.  Ranked by retained growth (last - first), then last bytes. */
#ifndef HEAPTRAIL_LEAKS_H
#define HEAPTRAIL_LEAKS_H

#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"
#include "agg/group.h"
#include "render/report.h"

typedef struct leaks leaks_t;

leaks_t *leaks_new(void);
void leaks_free(leaks_t *l);
/* The aggregator to register with analysis_add_agg (owned by l). */
agg_t *leaks_agg(leaks_t *l);
/* Grouping of call sites in reports (default BY_TRACEBACK). */
void leaks_set_by(leaks_t *l, report_by_t by);

/* Python programs: the end is the teardown mark (HT_SNAP_PY_TEARDOWN, the
 * program's own code done, before the interpreter's finalization frees
 * its modules): the live set and the series stop there.  at_exit 1 (the
 * reports' `--at end`) ignores the mark: the end of the trace, after
 * finalization, as for any program. */
void leaks_set_at_exit(leaks_t *l, int at_exit);
/* 1 when the live set is the one at the teardown mark. */
int leaks_at_teardown(const leaks_t *l);

/* Closes the series after the last event: appends an "end" point (the
 * heap at the end of the trace) unless the last snapshot is the exit one.
 * Idempotent; leaks_grouped and leaks_compute call it. */
int leaks_finish(leaks_t *l);

/* A point of the candidate series. */
typedef struct leaks_point {
	const char *label; /* snapshot label; "end" for the end point */
	uint64_t origin; /* HT_SNAP_*, LEAKS_POINT_END for the end point */
	uint64_t time_us;
	uint64_t heap_bytes; /* live bytes of the whole heap there */
} leaks_point_t;
#define LEAKS_POINT_END UINT64_MAX

size_t leaks_points(const leaks_t *l, const leaks_point_t **points);

typedef struct leak_stat {
	uint32_t group; /* group id (stack index when ungrouped) */
	sidx_t stack; /* the group's stack with the most live bytes */
	uint64_t bytes; /* live at the end */
	uint64_t count; /* live blocks at the end */
} leak_stat_t;

typedef struct leak_cand {
	uint32_t group;
	sidx_t stack; /* the group's stack with the most bytes at the end */
	uint64_t growth; /* retained growth: series[last] - series[0] */
	uint64_t *series; /* live bytes at each point (npoints) */
	uint32_t start; /* first point of the judged window (the points
			 * before it all hold series[0]: before the site
			 * started) */
	uint32_t grew; /* intervals that set a new high */
	uint32_t intervals; /* intervals the rule counted (a flat run
			     * between changes as one) */
} leak_cand_t;

typedef struct leaks_result {
	leak_stat_t *stats; /* ranked by bytes, count; at most `limit` */
	size_t nstats;
	size_t nsites; /* groups with live bytes (before the limit) */
	uint64_t total_bytes; /* live at the end, all groups */
	uint64_t total_count;
	leak_cand_t *cands; /* ranked by growth, last bytes */
	size_t ncands;
	size_t ncands_total; /* before the limit */
	size_t npoints; /* points in the series (0..2: too few for
			 * candidates): the first npoints of leaks_points() */
	uint64_t min_growth; /* the rule's meaningful growth, bytes */
	int teardown; /* the exit snapshot was left out: taken after the
		       * program freed most of its heap (below half of the
		       * previous point: an interpreter's finalization) */
	const leaks_point_t *points; /* leaks_points(): every point, the
				      * left-out exit one included */
	size_t npoints_all;
	const group_t *group; /* leaks_grouped's (keys, frames), else NULL */
	report_by_t by; /* leaks_set_by's key type */
	int at_teardown; /* live set and series end at the Python teardown
			  * mark (leaks_at_teardown) */
	int has_teardown; /* the final image has a teardown mark */
	int python; /* ... and a Python start-up mark (a Python program
		     * recorded with its sitecustomize) */
} leaks_result_t;

/* Computes stats and candidates.  group_of[i] is the group of stack i
 * (UINT32_MAX = ignore; stacks >= ngroup_of are ignored); group_of NULL =
 * each stack its own group.  limit 0 = all.  Returns 0 or -ENOMEM. */
int leaks_compute(leaks_t *l, const uint32_t *group_of, size_t ngroup_of,
		  size_t limit, leaks_result_t *res);
void leaks_result_free(leaks_result_t *res);

/* The report's result: leaks_compute with call sites grouped by g (its
 * key type and include/exclude filters; l's `by` names it).  g must
 * outlive *res.  Returns 0 or -ENOMEM. */
int leaks_grouped(leaks_t *l, group_t *g, size_t limit, leaks_result_t *res);

#endif /* HEAPTRAIL_LEAKS_H */
