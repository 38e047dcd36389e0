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
	/* Of those, what `<interpreter startup>` (STACKS_ID_STARTUP) still
	 * holds: the interpreter's own state, not the program's (0 before a
	 * Python start-up mark, or with the grouping off). */
	uint64_t startup_bytes;
	uint64_t startup_blocks;
} analysis_snapshot_t;

/* One traced image of the trace (a PROCESS record and what follows it up
 * to the next one): images of an exec chain share the file. */
typedef struct analysis_image {
	uint32_t n; /* 0 for the first PROCESS record, 1 after the first exec... */
	uint64_t pid;
	const char *exe;
	const char *cmdline; /* argv joined by spaces */
	uint64_t events; /* heap events (ALLOC, FREE, REALLOC) replayed */
	uint64_t first_us, last_us; /* times of its first and last events, us
				     * since its own start (PROCESS) */
	const char *exec_path; /* EXEC's path: what it exec'd; "" = none */
	bool has_end; /* an END record closed it */
} analysis_image_t;

/* About the reported image: the final one, or the one analysis_select_image
 * chose (every image is counted in `images` and listed in image_list). */
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
	/* Of the LOST records' counts, two reasons reports explain: events
	 * of signal handlers (HT_LOST_SIGNAL), and malloc-family calls not
	 * recorded because the executable has an allocator of its own
	 * (HT_LOST_OWN_ALLOCATOR). */
	uint64_t lost_signal, lost_own_alloc;
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
	uint64_t file_bytes; /* on disk */
	uint64_t data_bytes; /* the records: file_bytes, or decompressed */
	uint64_t zstd_frames; /* 0 = plain trace, else zstd frames read */
	bool zstd_cut; /* the file ends inside a zstd frame (left out) */
	uint32_t format_version; /* the trace's (its header) */
	uint32_t image; /* the image reported (0 .. images - 1) */
	bool image_chosen; /* --image chose it (else the final one) */
	/* Every image in file order, nimage_list entries; empty when the
	 * analysis came from the trace index (it keeps only `images`). */
	const analysis_image_t *image_list;
	size_t nimage_list;
	/* Recorded with --aggregate (HT_REC_AGGREGATE): per-stack totals at
	 * the snapshots, the peak and the end, no single events. */
	bool aggregated;
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
/* Follows a trace still being written (reader_open_follow): each
 * analysis_run reads on from where the last one stopped, with the heap
 * model, the tables and the aggregators kept, after analysis_refresh has
 * read what the file gained (its return: those bytes, or a negative
 * errno with a message in err).  The summary describes what was read so
 * far (truncated until the END record). */
int analysis_open_follow(analysis_t **out, const char *path, char *err,
			 size_t errlen);
int64_t analysis_refresh(analysis_t *an, char *err, size_t errlen);
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
/* --image N (process-wide, for every analysis opened after it): report
 * image N of an exec chain (0 = the first) instead of the final one; -1
 * (the default) is the final image.  The replay stops modelling after
 * image N and only lists the later images; the trace index (which keeps
 * the final image) is not used (run.c). */
void analysis_select_image(int32_t n);
int32_t analysis_selected_image(void);
/* One symbolizer for every analysis opened after analysis_share_symbols
 * (true) until analysis_share_symbols(false) (which frees it, after the
 * last of those analyses is freed): the traces of one run share their
 * modules, so each is opened and each address symbolized once
 * (symbols.c keys its cache by module path, bias and build-id).  For
 * analyses run one after the other (cli/multi.c). */
void analysis_share_symbols(bool on);
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

/* What the reports call "leaked" (info, check --max-leaked, report's
 * run line): what the program left live at its end, less what
 * `<interpreter startup>` still holds there (the interpreter's own
 * state, kept out of leak candidates too).  A Python program's end is its
 * teardown mark (HT_SNAP_PY_TEARDOWN: its own code done, before the
 * interpreter's finalization frees its modules), as `leaks` and `report`
 * take it, unless at_end (their --at end): then, and for every other
 * program, the trace's end. */
typedef struct analysis_leaked {
	uint64_t bytes, blocks; /* the leaked figure */
	uint64_t startup_bytes, startup_blocks; /* left out of it */
	/* The teardown mark taken as the end; NULL: the trace's end. */
	const analysis_snapshot_t *teardown;
} analysis_leaked_t;
void analysis_leaked(const analysis_t *an, bool at_end, analysis_leaked_t *out);

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

/* The symbolizer's warnings so far (each once, no prefix); 0 before any
 * symbolization. */
size_t analysis_warnings(const analysis_t *an, const char *const **list);
/* Whether the trace at `path` was recorded with --aggregate (its first
 * records say so; no replay).  false when it cannot be read. */
bool analysis_is_aggregated(const char *path);
/* For commands that need single events: when `path` is an aggregated
 * trace, prints "heaptrail: PATH was recorded with --aggregate and has no
 * single events; record without --aggregate for WHAT" and returns true
 * (the command then exits with 2). */
bool analysis_refuse_aggregated(const char *path, const char *what);

/* Prints the symbolizer's warnings (each once) on stderr. */
void analysis_print_warnings(const analysis_t *an);

void analysis_free(analysis_t *an);

#endif /* HEAPTRAIL_ANALYSIS_H */
