/* Running a command's analysis: a replay of the trace with the command's
 * aggregators (which saves the trace index), or the analysis restored
 * from that index when the aggregators need no events, and what the
 * point aggregators read from it.  Called by cli/cmd_*.c.  Errors are
 * printed on stderr ("heaptrail: ..."); not thread-safe. */
#ifndef HEAPTRAIL_RUN_H
#define HEAPTRAIL_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "agg/agg.h"
#include "agg/point.h"
#include "model/analysis.h"

/* Opens `path`, registers the aggregators (NULL entries are skipped),
 * replays with progress on a terminal and saves the trace index.  NULL on
 * failure (message printed). */
analysis_t *run_file(const char *path, agg_t **aggs, size_t naggs);

/* With the trace index: when a valid index of `path` exists (holding
 * snapshot states if need_states), the analysis comes from it without a
 * replay (index_open) and the aggregators see nothing (only ones that
 * need no events belong here: point.h); else run_file.  For commands
 * needing nothing else (info, snapshots, top at the end or the peak).
 * HEAPTRAIL_NO_INDEX=1 disables the index. */
analysis_t *run_file_indexed(const char *path, agg_t **aggs, size_t naggs,
			     bool need_states);

/* One analysis of `path` for n (<= RUN_MAX_POINTS) point aggregators:
 * from the index when every point can be read from it
 * (point_index_need), else a replay they take part in. */
#define RUN_MAX_POINTS 2
analysis_t *run_file_points(const char *path, point_t *const *pts, size_t n);

/* point_result for a point of the finished analysis `an`. */
int run_point_result(point_t *p, const analysis_t *an, const uint64_t **bytes,
		     const uint64_t **count, size_t *n, char *err,
		     size_t errlen);

/* The end of a report: stdout flushed, then the symbolizer's warnings on
 * stderr (analysis_print_warnings).  Returns 0, the exit code. */
int run_finish(const analysis_t *an);
/* Prints "heaptrail: out of memory" on stderr; returns 1, the exit code. */
int run_nomem(void);

#endif /* HEAPTRAIL_RUN_H */
