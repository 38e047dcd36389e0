/* One analysis run: reader -> stack/module tables -> heap model ->
 * aggregators, in one pass, plus the trace summary every report shows
 * (process, counts, lost events, truncation, snapshots).  cli/run.c
 * opens one, adds the command's aggregators and runs it, or restores it
 * from the trace index (read/index.c).  Not thread-safe (analysis_run may
 * decode on a thread of its own, pipe.h, joined before it returns). */
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
	/* How fine event times are, us (>= 1): the CLOCK record's resolution
	 * rounded up, the coarsest of all images; ANALYSIS_WRITER_CYCLE_US for
	 * traces without one (times were the recorder's writer cycles). */
	uint64_t time_resolution_us;
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
	uint64_t recorder_peak; /* MEMORY: the recorder's own peak, bytes; 0 = not recorded */
	/* `heaptrail attach` (ATTACH record): the trace began in a running
	 * process at start_unix_ns; blocks from before are unknown, so
	 * unknown_frees/reallocs are frees of blocks from before the attach. */
	bool attached;
	uint64_t attach_proc_start_ns; /* the process's own start, unix ns; 0 = unknown */
	bool detached; /* DETACH: recording ended while the process ran on */
	uint64_t detach_time_us;
	size_t nsnapshots;
	const analysis_snapshot_t *snapshots;
	uint64_t file_bytes;
	uint32_t format_version; /* the trace's (its header) */
} analysis_summary_t;

/* The resolution of traces that have no CLOCK record: their events were
 * dated by the writer's cycle, which sleeps up to 10 ms while idle. */
#define ANALYSIS_WRITER_CYCLE_US 10000u

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
/* Python programs: at the start-up mark (HT_SNAP_PY_MAIN) everything
 * allocated so far becomes one stack, STACKS_ID_STARTUP, shown as
 * `<interpreter startup>` (on by default; off: the reports' --startup,
 * which then skip the trace index, saved with it on).  Process-wide. */
void analysis_group_startup(bool on);
bool analysis_grouping_startup(void);
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

/* True when `an` was filled by analysis_restore (from the trace index):
 * then no event was replayed and the heap has no live blocks. */
bool analysis_from_index(const analysis_t *an);

/* --- for the trace index (read/index.c) ------------------------------- */

/* One stack's live totals at a snapshot. */
typedef struct analysis_state {
	uint32_t sidx;
	uint64_t bytes;
	uint64_t count;
} analysis_state_t;

/* Every snapshot's per-stack live totals, nonzero entries only: snapshot
 * k has states[at[k] .. at[k + 1]) and had n[k] per-stack entries then. */
typedef struct analysis_states {
	const analysis_state_t *states;
	const uint64_t *at; /* nsnapshots + 1 entries */
	const uint64_t *n; /* nsnapshots entries */
} analysis_states_t;

/* What a finished replay leaves that the trace index keeps, and what
 * analysis_restore takes back instead of a replay. */
typedef struct analysis_saved {
	analysis_summary_t sum; /* path and file_bytes are not kept */
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
	/* states.states NULL when not kept (too many: then a point at a
	 * snapshot needs a replay). */
	analysis_states_t states;
	/* The one-time notices already shown for this trace (read/notices.h),
	 * nnotices strings.  Index only: analysis_restore ignores them. */
	const char *const *notices;
	size_t nnotices;
} analysis_saved_t;

/* Collect the snapshot states during analysis_run (off by default: only
 * a run whose index will be saved needs them). */
void analysis_keep_states(analysis_t *an, bool on);
/* The snapshot states collected or restored; false when none were kept
 * (not asked for, or past the limits). */
bool analysis_states(const analysis_t *an, analysis_states_t *out);
/* The stack-table records of the final image, for analysis_saved_t's
 * defs and marks (*nmarks: stacks interned so far). */
void analysis_defs(const analysis_t *an, const uint64_t **defs, size_t *ndefs,
		   const uint64_t **marks, size_t *nmarks);
/* Fills a freshly opened analysis from d: the summary, the heap's counters
 * and per-stack totals, and the stack tables, rebuilt by decoding only the
 * records d points at.  The aggregators see nothing.  Returns 0, or
 * -EBADMSG on any inconsistency / -ENOMEM (the caller replays instead). */
int analysis_restore(analysis_t *an, const analysis_saved_t *d);

/* Prints the symbolizer's warnings (each once) on stderr. */
void analysis_print_warnings(const analysis_t *an);

void analysis_free(analysis_t *an);

#endif /* HEAPTRAIL_ANALYSIS_H */
