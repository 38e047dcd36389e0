/* Point aggregator: the live bytes and blocks of every stack at one point
 * of the trace: its end, the heap peak, a snapshot mark (label or index),
 * or a time.  Feeds `top --at` and `diff --from/--to`: cli/run.c runs it
 * and reads its result (point_result, from a point_from_t, never from the
 * analysis itself).  Not thread-safe. */
#ifndef HEAPTRAIL_POINT_H
#define HEAPTRAIL_POINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"
#include "model/analysis.h"

typedef enum point_kind {
	POINT_END = 0,
	POINT_PEAK,
	POINT_SNAPSHOT, /* label, or index when no label matches */
	POINT_TIME, /* state after every event with time <= time_us */
} point_kind_t;

typedef struct point_spec {
	point_kind_t kind;
	const char *snapshot; /* POINT_SNAPSHOT: label or decimal index */
	uint64_t time_us; /* POINT_TIME */
} point_spec_t;

typedef struct point point_t;

point_t *point_new(const point_spec_t *spec);
void point_free(point_t *p);
agg_t *point_agg(point_t *p);
/* The point's spec as given to point_new. */
const point_spec_t *point_spec(const point_t *p);
/* What the trace index must hold for this point: POINT_INDEX_PLAIN (end,
 * peak: the heap model's per-stack totals, no event needed),
 * POINT_INDEX_STATES (a snapshot: the index's snapshot states; from a
 * replay the aggregator must see the events), or POINT_INDEX_NO (a time:
 * always a replay with the aggregator). */
enum { POINT_INDEX_NO = -1, POINT_INDEX_PLAIN = 0, POINT_INDEX_STATES = 1 };
int point_index_need(const point_t *p);

/* What a point is read from after the run (cli/run.c's run_point_from
 * fills it from the analysis). */
typedef struct point_from {
	const heap_t *heap; /* at the end of the trace */
	const analysis_summary_t *sum; /* end time, snapshots, path */
	bool from_index; /* restored from the trace index: no event seen */
	bool has_states; /* states holds the index's snapshot states */
	analysis_states_t states;
} point_from_t;

/* After the run: per-stack live totals at the point (index = sidx, n
 * entries, entries beyond n are zero).  Returns 0, or -ENOENT when the
 * snapshot was not found (message in err, listing what exists). */
int point_result(point_t *p, const point_from_t *from, const uint64_t **bytes,
		 const uint64_t **count, size_t *n, char *err, size_t errlen);
/* Per-stack bytes allocated there minus bytes freed there (the stack as
 * free site) from the start to the point, n entries as point_result's;
 * NULL when the point came from the trace index's snapshot states
 * (which do not keep it: replay without the index). */
const int64_t *point_net(const point_t *p);
/* Heap totals and time at the point (valid after point_result). */
uint64_t point_heap_bytes(const point_t *p);
uint64_t point_heap_blocks(const point_t *p);
uint64_t point_time_us(const point_t *p);
/* "end", "peak", "snapshot 'label' (#1)", "2.500s". */
const char *point_describe(const point_t *p);

#endif /* HEAPTRAIL_POINT_H */
