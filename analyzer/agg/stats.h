/* Statistics like tracemalloc's Snapshot.statistics() and compare_to():
 * per-stack live totals grouped by key (group.h), ranked by the top-N
 * routine; rendered by text.c ("file.c:42: size=97.7 KiB, count=1000,
 * average=100 B") and json.c.  Used by top and diff.  Not thread-safe. */
#ifndef HEAPTRAIL_STATS_H
#define HEAPTRAIL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agg/group.h"
#include "render/report.h"

typedef struct stat_row {
	const char *key; /* group key (owned by the group_t) */
	const frame_t *frames; /* representative frames, innermost first */
	int nframes;
	const frames_t *fr; /* for module names */
	uint64_t bytes, count;
	int64_t bytes_diff, count_diff; /* diff only: new - old */
} stat_row_t;

typedef struct stat_set {
	stat_row_t *rows;
	size_t n; /* rows (groups with count or diff != 0) */
	uint64_t total_bytes, total_count; /* over the filtered stacks */
	int64_t total_bytes_diff, total_count_diff;
} stat_set_t;

/* Groups per-stack totals (bytes[i], count[i] for i < n) of the stacks
 * that pass g's filters.  cumulative: every distinct key of a stack's
 * frames gets the stack's totals (totals then count each block once).
 * Returns 0 or -ENOMEM. */
int stats_compute(group_t *g, const uint64_t *bytes, const uint64_t *count,
		  size_t n, bool cumulative, stat_set_t *out);

/* compare_to: rows of `now` minus `old`, matched by key; keys only in old
 * appear with size 0.  The sets may come from different traces. */
int stats_diff(const stat_set_t *old, const stat_set_t *now, stat_set_t *out);

/* Ranks rows: by (bytes, count) or for a diff by (|bytes diff|, bytes,
 * |count diff|, count), then key; keeps `limit` (0 = all).  Returns the
 * number kept (rows reordered in place). */
size_t stats_rank(stat_set_t *s, bool diff, size_t limit);

/* Ranks rows by (count, bytes), then key: the most-called sites. */
size_t stats_rank_count(stat_set_t *s, size_t limit);

void stats_free(stat_set_t *s);

#endif /* HEAPTRAIL_STATS_H */
