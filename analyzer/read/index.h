/* Trace index (.htri): the aggregated results of one full replay (summary,
 * heap counters, per-stack totals at the end and at the peak, the stack ids
 * and where the stack tables' records lie), saved beside the trace so later
 * commands skip the replay: the file, and the save and restore of an
 * analysis through it.  Called by cli/run.c.  Not thread-safe. */
#ifndef HEAPTRAIL_INDEX_H
#define HEAPTRAIL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "model/analysis.h"
#include "model/heap.h"

/* What an index holds: the analysis's saved state (analysis.h).  Saving
 * borrows the pointers; index_load allocates them (free with
 * index_data_free). */
typedef analysis_saved_t index_data_t;

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

/* The notices already shown for `trace` (stat `st`), from its index
 * without reading the rest: *list (n malloc'd strings in a malloc'd array;
 * the caller frees).  Returns 0, or -ENOENT when it has no valid index. */
int index_notices_load(const char *trace, const struct stat *st, char ***list, size_t *n);

/* Replaces the notices in the valid index of `trace`, atomically, leaving
 * the rest as it is.  Returns 0, or -ENOENT when there is none. */
int index_notices_set(const char *trace, const struct stat *st, const char *const *list,
		      size_t n);

/* Saves the index of `an`, a finished replay of `path` with its snapshot
 * states kept, provided the file did not change since `before` (its stat
 * when the replay began: a trace still being written is not indexed at a
 * size it no longer has).  Best effort, silent. */
void index_save_analysis(const analysis_t *an, const char *path,
			 const struct stat *before);

/* An analysis of `path` restored from its index (analysis_restore), or
 * NULL when the index is disabled, missing, stale, lacks the snapshot
 * states and `need_states`, or does not restore: then replay. */
analysis_t *index_open(const char *path, bool need_states);

/* The checksum an index file ends with (u64 LE) over the bytes before it
 * (exposed for tests that forge consistent-looking damage). */
uint64_t index_checksum(const uint8_t *p, size_t n);

/* The sidecar path of `trace`: X.htr -> X.htri, else TRACE.htri.  Returns
 * 0, or -ENAMETOOLONG. */
int index_sidecar_path(const char *trace, char *buf, size_t len);

#endif /* HEAPTRAIL_INDEX_H */
