/* Heap model: live blocks by address (open addressing), per-stack live
 * totals now and at the peak, current/peak heap, anomalies; turns reader
 * events into heap events for the aggregators.  Called by analysis.c;
 * aggregators read it (const).  Not thread-safe. */
#ifndef HEAPTRAIL_HEAP_H
#define HEAPTRAIL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/stacks.h"

/* 32 bytes: the heap model's table holds two per cache line. */
typedef struct heap_block {
	uint64_t addr;
	uint64_t size; /* bytes requested */
	uint64_t time_us; /* allocation time, us since image start */
	sidx_t stack; /* allocating stack (dense index) */
	uint8_t kind; /* HT_KIND_* */
} heap_block_t;

typedef enum heap_ev_kind {
	HEAP_EV_ALLOC = 1, /* `block` was allocated */
	HEAP_EV_FREE, /* `block` (a known live block) was freed */
	HEAP_EV_REALLOC, /* `old` became `block` (old_known: old was live) */
	HEAP_EV_MOVE, /* the live block `old` now belongs to block.stack (a
		       * Python start-up mark, heap_move_live): no allocation,
		       * no free, the heap is unchanged */
	/* Aggregated traces (record --aggregate) have no single events: */
	HEAP_EV_SET, /* stack block.stack now holds block.size live bytes in
		      * `count` blocks (AGG_STATE); its allocations so far
		      * are in its heap_stack_stat_t */
	HEAP_EV_SAMPLE, /* the heap was heap_bytes / heap_blocks here (AGG_HEAP;
			 * the model's totals are unchanged); no stack is
			 * named, block is zero */
} heap_ev_kind_t;

/* A heap event after the model: what aggregators consume.  Frees of
 * unknown addresses are counted as anomalies and not delivered.  An
 * allocation on a still-live address is delivered as FREE of the stale
 * block, then ALLOC. */
typedef struct heap_event {
	heap_ev_kind_t kind;
	heap_block_t block; /* ALLOC/REALLOC: new block; FREE: freed block */
	heap_block_t old; /* REALLOC only: the previous block (if old_known) */
	bool old_known; /* REALLOC: the old address was a live block */
	bool temporary; /* FREE: no other allocation (any thread) happened
			 * since this block's allocation */
	sidx_t site; /* FREE: the free site (HT_REC_FREESITE), SIDX_NONE =
		      * unknown; REALLOC: the realloc's stack, which the old
		      * block's bytes are charged to as freed */
	uint64_t time_us; /* time of this event */
	uint32_t thread; /* thread index doing it */
	uint64_t heap_bytes; /* live bytes after the event */
	uint64_t heap_blocks; /* live blocks after the event */
	bool new_peak; /* heap_bytes exceeded the previous peak */
	uint64_t count; /* SET: the stack's live blocks now */
} heap_event_t;

/* Per-stack live totals.  Valid for every sidx < stacks_count(). */
typedef struct heap_stack_stat {
	uint64_t live_bytes;
	uint64_t live_count;
	uint64_t peak_bytes; /* live_bytes at the current peak, when
			      * peak_epoch == heap's epoch (else = live) */
	uint64_t peak_count;
	uint64_t peak_epoch; /* heap epoch of the last change */
	uint64_t alloc_count; /* allocations ever made from this stack */
	uint64_t alloc_bytes; /* bytes ever allocated from this stack */
	uint64_t temp_count; /* temporary allocations (see heap_event_t) */
	uint64_t temp_bytes;
	/* Frees made here: this stack is their free site (a FREESITE stack,
	 * or a realloc's, for the old block). */
	uint64_t freed_count;
	uint64_t freed_bytes;
	uint64_t peak_alloc_bytes; /* alloc_bytes at the peak, when
				    * peak_epoch == heap's epoch */
	uint64_t peak_freed_bytes; /* freed_bytes at the peak, when
				    * freed_epoch == heap's epoch */
	uint64_t freed_epoch; /* heap epoch of the last free charged here */
} heap_stack_stat_t;

typedef struct heap_counters {
	uint64_t allocs; /* RD_ALLOC events */
	uint64_t frees; /* RD_FREE events (known or not) */
	uint64_t reallocs; /* RD_REALLOC events */
	uint64_t alloc_kind[HT_KIND_COUNT]; /* RD_ALLOC by HT_KIND_* */
	uint64_t unknown_frees; /* free of an address not live: allocated
				 * before recording started, or lost */
	uint64_t unknown_reallocs; /* realloc of an address not live */
	uint64_t double_allocs; /* allocation returned a still-live address */
	uint64_t temporary; /* temporary allocations (freed before any other
			     * allocation, on any thread) */
	uint64_t temporary_bytes;
	uint64_t bytes_allocated; /* sum of sizes ever allocated */
	uint64_t heap_bytes; /* live now */
	uint64_t heap_blocks;
	uint64_t peak_bytes; /* maximum of heap_bytes */
	uint64_t peak_blocks; /* heap_blocks at that moment */
	uint64_t peak_time_us; /* when the peak was first reached */
	uint64_t epoch; /* bumped at every new peak */
} heap_counters_t;

typedef struct heap heap_t;

/* Callback receiving each heap event; return non-zero to stop (error). */
typedef int (*heap_sink_fn)(void *arg, const heap_event_t *ev);

/* `stacks` maps stack ids to dense indexes (entries are created for
 * unknown ids). */
heap_t *heap_new(stacks_t *stacks, heap_sink_fn sink, void *arg);
void heap_free(heap_t *h);
/* Replaces the sink (NULL: events are applied, not delivered). */
void heap_set_sink(heap_t *h, heap_sink_fn sink, void *arg);
/* Forget all blocks and totals (exec'd image). */
void heap_reset(heap_t *h);

/* Sets counters and per-stack totals saved by an earlier replay (the
 * trace index) on an empty heap: everything but the live blocks, so
 * heap_lookup finds nothing.  Returns 0 or -ENOMEM. */
int heap_restore(heap_t *h, const heap_counters_t *c,
		 const heap_stack_stat_t *st, size_t n);

/* Aggregated traces: RD_AGG_STATE sets the totals of the stacks it names
 * and the heap's (one HEAP_EV_SET per stack to the sink); RD_AGG_PEAK sets
 * the peak and every stack's share of it (what heap_stack_at_peak then
 * returns); RD_AGG_HEAP is a heap sample for the timeline (HEAP_EV_SAMPLE:
 * the totals stay the last AGG_STATE's, which its stacks add up to).  Returns 0,
 * -ENOMEM, or the sink's non-zero return. */
int heap_agg_state(heap_t *h, const rd_event_t *ev);
int heap_agg_peak(heap_t *h, const rd_event_t *ev);
int heap_agg_heap(heap_t *h, const rd_event_t *ev);

/* Feeds one RD_ALLOC / RD_FREE / RD_REALLOC event (others are ignored).
 * Returns 0, -ENOMEM, or the sink's non-zero return. */
int heap_apply(heap_t *h, const rd_event_t *ev);

/* Applies ev[0..n), heap events only, as n heap_apply calls would,
 * fetching the table slots of events a few ahead meanwhile (the replay's
 * inner loop).  Returns 0, or the first failure (*failed = its index). */
int heap_apply_run(heap_t *h, const rd_event_t *ev, size_t n,
		   size_t *failed);

/* Gives every live block, and every allocation made so far, to stack `to`
 * (the `<interpreter startup>` stack at a Python start-up mark): the
 * per-stack live and allocation totals move, heap totals and the peak do
 * not, and the sink gets one HEAP_EV_MOVE per block moved (time_us: the
 * mark's).  Returns 0, -ENOMEM, or the sink's non-zero return. */
int heap_move_live(heap_t *h, sidx_t to, uint64_t time_us);

const heap_counters_t *heap_counters(const heap_t *h);
/* Per-stack totals, index = sidx; *n = number of entries (may be smaller
 * than stacks_count(): missing entries are all zero). */
const heap_stack_stat_t *heap_stack_stats(const heap_t *h, size_t *n);
/* Live bytes/count of stack i at the peak (resolves the epoch trick). */
void heap_stack_at_peak(const heap_t *h, sidx_t i, uint64_t *bytes,
			uint64_t *count);
/* Bytes allocated minus bytes freed here (as the free site) from the
 * start to the peak (its "net"; the sum over all stacks is the heap).
 * heap_stack_net gives it now. */
int64_t heap_stack_net_at_peak(const heap_t *h, sidx_t i);
int64_t heap_stack_net(const heap_t *h, sidx_t i);
/* The live block at addr, or NULL. */
const heap_block_t *heap_lookup(const heap_t *h, uint64_t addr);

#endif /* HEAPTRAIL_HEAP_H */
