/* Trace index (.htri): the aggregated results of one full replay (summary,
 * heap counters, per-stack totals at the end and at the peak, the stack ids
 * and where the stack tables' records lie), saved beside the trace so later
 * commands skip the replay.  Called by analysis.c only.  Not thread-safe. */
#ifndef HEAPTRAIL_INDEX_H
#define HEAPTRAIL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "model/analysis.h"
#include "model/heap.h"

/* One stack's live totals at a snapshot. */
typedef struct index_state {
	uint32_t sidx;
	uint64_t bytes;
	uint64_t count;
} index_state_t;

/* What an index holds.  Saving borrows the pointers; index_load allocates
 * them (free with index_data_free). */
typedef struct index_data {
	analysis_summary_t sum; /* path and file_bytes are not stored */
	heap_counters_t counters;
	const heap_stack_stat_t *st; /* per-stack totals, nst entries */
	size_t nst;
	const uint64_t *ids; /* stack id of every sidx, nids entries */
	size_t nids;
	const uint64_t *marks; /* by sidx: how many `defs` records preceded
				* the id's interning (nondecreasing) */
	const uint64_t *defs; /* file offsets of the final image's MODULES,
			       * STACK and PYCODE records, in file order */
	size_t ndefs;
	/* Every snapshot's per-stack live totals, nonzero entries only:
	 * snapshot k has states[state_at[k] .. state_at[k + 1]) and had
	 * state_n[k] per-stack entries then.  NULL when not kept (too many:
	 * then a point at a snapshot needs a replay). */
	const index_state_t *states;
	const uint64_t *state_at; /* sum.nsnapshots + 1 entries */
	const uint64_t *state_n; /* sum.nsnapshots entries */
} index_data_t;

/* False when HEAPTRAIL_NO_INDEX is set (to anything but "" or "0"). */
bool index_enabled(void);

/* Writes the index of `trace`, whose stat was `st` when the replay began
 * (the caller checked it did not change), atomically: beside the trace,
 * else in the user's cache directory.  Best effort: returns 0 or -errno,
 * prints nothing. */
int index_save(const char *trace, const struct stat *st,
	       const index_data_t *d);

/* Loads the index of `trace` (stat `st`) into *d.  Returns 0, or a
 * negative errno when there is none or it does not match the trace, this
 * heaptrail binary or its own checksum (then *d is empty). */
int index_load(const char *trace, const struct stat *st, index_data_t *d);

void index_data_free(index_data_t *d);

/* The checksum an index file ends with (u64 LE) over the bytes before it
 * (exposed for tests that forge consistent-looking damage). */
uint64_t index_checksum(const uint8_t *p, size_t n);

/* The sidecar path of `trace`: X.htr -> X.htri, else TRACE.htri.  Returns
 * 0, or -ENAMETOOLONG. */
int index_sidecar_path(const char *trace, char *buf, size_t len);

#endif /* HEAPTRAIL_INDEX_H */
