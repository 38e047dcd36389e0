/* One analysis run: reader -> stack/module tables -> heap model ->
 * aggregators, in one pass, plus the trace summary every report shows
 * (process, counts, lost events, truncation, snapshots).  Commands create
 * one, add their aggregators, run it, then report.  Not thread-safe
 * (analysis_run may decode on a thread of its own, joined before it
 * returns). */
#ifndef HEAPTRAIL_ANALYSIS_H
#define HEAPTRAIL_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"
#include "render/frames.h"
#include "model/heap.h"
#include "model/stacks.h"

typedef struct analysis_snapshot {
	uint64_t index; /* recorder's index */
	uint64_t origin; /* HT_SNAP_* */
	char *label; /* "" when none */
	uint64_t time_us;
	uint64_t heap_bytes;
	uint64_t heap_blocks;
} analysis_snapshot_t;

/* About the final image (earlier exec'd images are counted in `images`). */
typedef struct analysis_summary {
	const char *path; /* trace file */
	uint64_t pid, ppid;
	uint64_t start_unix_ns;
	const char *exe; /* "" if no PROCESS record */
	const char *cmdline; /* argv joined by spaces */
	const char *recorder_version;
	uint64_t proc_flags; /* HT_PROC_* */
	uint32_t images; /* PROCESS records (> 1 after exec) */
	uint64_t end_time_us; /* END's time, else the last TIME seen */
	uint64_t threads; /* distinct thread indexes defined or used */
	uint64_t lost_events; /* LOST records + END's lost count */
	uint64_t rss_max; /* bytes, 0 if never sampled */
	uint64_t rss_max_time_us;
	uint64_t warnings; /* WARNING records */
	const char *last_warning; /* NULL when none */
	bool truncated; /* no END record: the analysis covers what is there */
	bool has_end;
	int fatal_signal; /* > 0: the image died of this signal (SIGNAL record) */
	uint64_t end_events; /* END's recorded-events count */
	size_t nsnapshots;
	const analysis_snapshot_t *snapshots;
	uint64_t file_bytes;
	uint32_t format_version; /* the trace's (its header) */
} analysis_summary_t;

typedef struct analysis analysis_t;

/* Opens the trace (reader_open's errors).  Returns 0 or -errno with a
 * one-line message in err. */
int analysis_open(analysis_t **out, const char *path, char *err,
		  size_t errlen);
/* Same over a memory buffer (tests, fuzzer). */
int analysis_open_mem(analysis_t **out, const void *data, size_t len,
		      const char *name, char *err, size_t errlen);
/* Registers an aggregator (not owned; destroy it yourself after
 * analysis_free or before).  Up to 16. */
int analysis_add_agg(analysis_t *an, agg_t *agg);
/* Progress on stderr (only used when stderr is a terminal). */
void analysis_set_progress(analysis_t *an, bool on);
/* How analysis_run decodes: 1 = on a second thread, ahead of the heap
 * model; 0 = on the calling thread; -1 (default) = a second thread for
 * traces of 4 MiB and more when the process may use more than one CPU,
 * unless HEAPTRAIL_REPLAY_THREADS is 1 or 2 (for tests).  The results are
 * the same. */
void analysis_set_threads(analysis_t *an, int mode);
/* Reads the whole trace.  Returns 0, or -EBADMSG (corrupt record) /
 * -ENOMEM / an aggregator's error with a one-line message in err. */
int analysis_run(analysis_t *an, char *err, size_t errlen);

const analysis_summary_t *analysis_summary(const analysis_t *an);
const heap_t *analysis_heap(const analysis_t *an);
const stacks_t *analysis_stacks(const analysis_t *an);
/* Display frames for reports, created on first use: symbolized through
 * symbols.h unless `raw` (or HEAPTRAIL_NO_SYMBOLS is set).  Owned by the
 * analysis. */
frames_t *analysis_frames(analysis_t *an, int mode, bool raw);

/* For commands: opens `path`, registers the aggregators, runs with
 * progress on a terminal.  On failure prints "heaptrail: <message>" on
 * stderr and returns NULL. */
analysis_t *analysis_run_file(const char *path, agg_t **aggs, size_t naggs);

/* Same with the trace index (index.h): when a valid index of `path`
 * exists (holding snapshot states if need_states), the summary, heap
 * counters, per-stack totals (end, peak, snapshots) and stack tables come
 * from it without a replay and the aggregators see nothing (only ones that
 * need no events belong here: point.h), and the heap has no live
 * blocks (heap_lookup finds nothing); else a full replay, which writes
 * the index; the aggregators take part in it.  For commands needing
 * nothing else (info, snapshots, top at the end or the peak).  A plain
 * analysis_run_file writes the index too.  HEAPTRAIL_NO_INDEX=1 disables
 * both. */
analysis_t *analysis_run_file_indexed(const char *path, agg_t **aggs,
				       size_t naggs, bool need_states);
/* True when `an` came from the index. */
bool analysis_from_index(const analysis_t *an);
/* From the index (analysis_run_file_indexed with need_states): the
 * nonzero per-stack live totals at the k-th snapshot (0 = the first of the
 * final image) and how many per-stack entries there were then (*n).
 * Returns 0 or -ENOENT. */
struct index_state;
int analysis_snapshot_state(const analysis_t *an, size_t k,
			    const struct index_state **st, size_t *nst,
			    uint64_t *n);

/* Prints the symbolizer's warnings (each once) on stderr. */
void analysis_print_warnings(const analysis_t *an);

void analysis_free(analysis_t *an);

#endif /* HEAPTRAIL_ANALYSIS_H */
