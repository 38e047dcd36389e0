/* aggregate: the writer's own heap model for `heaptrail record --aggregate`
 * (address -> size and stack; per-stack live and allocation totals; the
 * peak's breakdown by the heap model's epoch trick), and the records that
 * replace single events in an aggregated trace (heaptrail_format.h,
 * HT_REC_AGGREGATE..HT_REC_AGG_HEAP).  Called by writer.c only, under its
 * lock; not thread-safe.  Memory comes from mapmem, never malloc. */
#ifndef HT_AGGREGATE_H
#define HT_AGGREGATE_H

#include "encoder.h"

#include <stdint.h>

/* A new image: forgets every block and total (maps the tables on first
 * use).  0 or -ENOMEM. */
int aggregate_begin(void);
/* The model's clock: the time of the events that follow, us since the
 * image start (never goes back). */
void aggregate_clock(uint64_t us);
/* The events, as the analyzer's heap model takes them: frees of unknown
 * addresses are counted and ignored, an allocation on a live address
 * first frees the stale block.  0, or -ENOMEM when a table cannot grow
 * (the caller stops recording). */
int aggregate_alloc(uint64_t addr, uint64_t size, uint32_t stack, unsigned kind);
void aggregate_free(uint64_t addr);
int aggregate_realloc(uint64_t old_addr, uint64_t new_addr, uint64_t size, uint32_t stack);

/* Python's start-up mark (HT_SNAP_PY_MAIN): every live block and every
 * allocation so far goes to stack HT_AGG_STARTUP_ID, as the analyzer's
 * heap_move_live does for a full trace.  O(table). */
void aggregate_move_startup(void);

/* The AGGREGATE record (after PROCESS). */
void aggregate_put_mark(enc_t *e);
/* AGG_STATE of the stacks changed since the last one (always written:
 * the heap totals and counters are in it), then AGG_PEAK when the peak
 * rose since the last one or `peak` is set. */
void aggregate_put_state(enc_t *e, int peak);
/* AGG_HEAP when the heap changed since the last one; returns 1 when it
 * wrote one.  The caller writes the TIME before it. */
int aggregate_heap_changed(void);
void aggregate_put_heap(enc_t *e);

#endif /* HT_AGGREGATE_H */
