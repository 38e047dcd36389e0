/* The aggregator interface: every question is an aggregator with the same
 * calls (add a heap event, mark a snapshot; reset, rss), driven in one
 * pass by analysis.c with events already through the heap model, so none
 * needs its own address table.  Each aggregator then exposes its result
 * through its own header; render/ prints it.  Not thread-safe. */
#ifndef HEAPTRAIL_AGG_H
#define HEAPTRAIL_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include "model/heap.h"
#include "model/stacks.h"

/* A snapshot mark, with the heap as it was at that point. */
typedef struct agg_snapshot {
	uint32_t ordinal; /* 0, 1, ... in file order within the image */
	uint64_t index; /* index written by the recorder */
	uint64_t origin; /* HT_SNAP_* */
	const char *label; /* "" when none; valid during the call only */
	uint64_t time_us;
	uint64_t heap_bytes; /* live bytes at the mark */
	uint64_t heap_blocks; /* live blocks at the mark */
} agg_snapshot_t;

typedef struct agg agg_t;

typedef struct agg_ops {
	const char *name;
	/* add: one heap event (alloc/free/realloc).  Return 0 or -errno. */
	int (*add)(agg_t *a, const heap_event_t *ev);
	/* snapshot: a snapshot mark (may be NULL if not interested). */
	int (*snapshot)(agg_t *a, const agg_snapshot_t *s);
	/* Optional (may be NULL).  reset: the program exec'd, forget the old
	 * image (results are about the final image).  rss: an RSS sample. */
	void (*reset)(agg_t *a);
	int (*rss)(agg_t *a, uint64_t time_us, uint64_t bytes);
} agg_ops_t;

/* Aggregators embed this as their first member. */
struct agg {
	const agg_ops_t *ops;
	/* Set by analysis_add_agg(): the heap model (for per-stack totals)
	 * and tables of the running analysis. */
	const heap_t *heap;
	const stacks_t *stacks;
};

#endif /* HEAPTRAIL_AGG_H */
