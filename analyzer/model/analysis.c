/* Analysis driver: see analysis.h.  One loop over reader events, read in
 * batches (on a decoder thread for large traces): table records go to
 * stacks_t, runs of heap events through the heap model to every
 * aggregator, everything else into the summary. */
#include "model/analysis.h"

#include "common/env.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/pipe.h"
#include "read/notices.h"
#include "read/reader.h"
#include "render/fmt.h"
#include "render/symbols.h"

#define MAX_AGGS 16
/* Snapshot states kept for the index: at most this many nonzero entries
 * (24 bytes each), and at most this many per-stack entries scanned over
 * all snapshots; beyond, the index keeps no states. */
#define STATES_MAX ((size_t)1 << 20)
#define STATES_MAX_SCAN ((uint64_t)1 << 26)
/* Thread indexes above this are not counted as distinct (hostile input). */
#define MAX_THREAD_INDEX (1u << 20)

struct analysis {
	reader_t *rd;
	stacks_t *stacks;
	heap_t *heap;
	agg_t *aggs[MAX_AGGS];
	size_t naggs;
	analysis_summary_t sum;
	char *path;
	char *exe, *cmdline, *version, *last_warning;
	analysis_snapshot_t *snaps;
	size_t nsnaps, capsnaps;
	uint8_t *thread_seen; /* bitmap by thread index */
	size_t thread_cap; /* bits */
	uint64_t lost_records; /* sum of LOST counts this image */
	uint64_t end_lost; /* END's lost count */
	bool progress;
	int threads; /* analysis_set_threads: -1 by size, 0 one, 1 two */
	sym_t *sym;
	frames_t *frames;
	int frames_mode;
	bool frames_raw;
	uint64_t *defs; /* offsets of this image's MODULES/STACK/PYCODE
			 * records, file order (for the index) */
	size_t ndefs, capdefs;
	uint64_t *marks; /* by sidx: ndefs when the stack id was interned, so
			  * the index can intern ids in the same order
			  * relative to the module maps */
	size_t nmarks, capmarks;
	bool from_index; /* loaded from the index: no live blocks */
	/* Per-snapshot live totals by stack, for the index (see index.h):
	 * snapshot k's are states[state_at[k] .. state_at[k + 1]). */
	bool keep_states; /* collecting them (an index will be written) */
	bool states_dropped; /* over the limits: none kept */
	analysis_state_t *states;
	size_t nstates, capstates;
	uint64_t *state_at; /* nsnaps + 1 entries, state_at[0] = 0 */
	uint64_t *state_n; /* nsnaps entries: per-stack entries then */
	size_t capstate; /* entries of state_at (and of state_n) */
	uint64_t states_scanned;
	/* The images seen (image_list): strings owned here. */
	analysis_image_t *imgs;
	size_t nimgs, capimgs;
	/* Past the image --image chose: events only counted in imgs. */
	bool frozen;
};

static int32_t image_selected = -1;
static sym_t *shared_sym; /* analysis_share_symbols */

void analysis_share_symbols(bool on)
{
	if (on && !shared_sym)
		shared_sym = sym_new();
	if (!on && shared_sym) {
		sym_free(shared_sym);
		shared_sym = NULL;
	}
}

void analysis_select_image(int32_t n)
{
	image_selected = n;
}

int32_t analysis_selected_image(void)
{
	return image_selected;
}

/* The image being read (NULL before the first PROCESS record). */
static analysis_image_t *cur_image(analysis_t *an)
{
	return an->nimgs ? &an->imgs[an->nimgs - 1] : NULL;
}

static void image_time(analysis_t *an, uint64_t t)
{
	analysis_image_t *im = cur_image(an);
	if (!im)
		return;
	if (t < im->first_us)
		im->first_us = t;
	if (t > im->last_us)
		im->last_us = t;
}

/* PROCESS's argv joined by blanks (malloc'd), NULL when out of memory. */
static char *join_argv(const rd_event_t *ev)
{
	size_t len = 1;
	for (size_t i = 0; i < ev->u.process.argc; i++)
		len += strlen(ev->u.process.argv[i]) + 1;
	char *cmd = malloc(len);
	if (!cmd)
		return NULL;
	cmd[0] = 0;
	for (size_t i = 0, at = 0; i < ev->u.process.argc; i++) {
		size_t n = strlen(ev->u.process.argv[i]);
		if (i)
			cmd[at++] = ' ';
		memcpy(cmd + at, ev->u.process.argv[i], n + 1);
		at += n;
	}
	return cmd;
}

static int push_image(analysis_t *an, const rd_event_t *ev)
{
	if (an->nimgs == an->capimgs) {
		size_t ncap = an->capimgs ? an->capimgs * 2 : 4;
		analysis_image_t *ni = realloc(an->imgs, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		an->imgs = ni;
		an->capimgs = ncap;
	}
	char *cmd = join_argv(ev), *exe = strdup(ev->u.process.exe ? ev->u.process.exe : "");
	char *none = strdup("");
	if (!cmd || !exe || !none) {
		free(cmd);
		free(exe);
		free(none);
		return -ENOMEM;
	}
	an->imgs[an->nimgs++] = (analysis_image_t){
		.n = ev->u.process.image,
		.pid = ev->u.process.pid,
		.exe = exe,
		.cmdline = cmd,
		.exec_path = none,
		.first_us = UINT64_MAX, /* until its first event (run) */
	};
	an->sum.image_list = an->imgs;
	an->sum.nimage_list = an->nimgs;
	return 0;
}

/* The records that still matter past the chosen image: the list. */
static int frozen_event(analysis_t *an, const rd_event_t *ev)
{
	analysis_image_t *im = cur_image(an);
	switch (ev->kind) {
	case RD_PROCESS:
		an->sum.images = ev->u.process.image + 1;
		return push_image(an, ev);
	case RD_EXEC:
		if (im) {
			char *p = strdup(ev->u.exec.path ? ev->u.exec.path : "");
			if (!p)
				return -ENOMEM;
			free((char *)im->exec_path);
			im->exec_path = p;
		}
		return 0;
	case RD_END:
		if (im) {
			im->has_end = true;
			if (ev->u.end.end_time_us > im->last_us)
				im->last_us = ev->u.end.end_time_us;
		}
		return 0;
	default:
		return 0;
	}
}

static int heap_sink(void *arg, const heap_event_t *ev)
{
	analysis_t *an = arg;
	for (size_t i = 0; i < an->naggs; i++) {
		int rc = an->aggs[i]->ops->add(an->aggs[i], ev);
		if (rc)
			return rc;
	}
	return 0;
}

/* Points the summary at the strings and snapshots the analysis owns;
 * called whenever a run or a restore has replaced them. */
static void sync_summary(analysis_t *an)
{
	an->sum.exe = an->exe;
	an->sum.cmdline = an->cmdline;
	an->sum.recorder_version = an->version;
	an->sum.last_warning = an->last_warning;
	an->sum.snapshots = an->snaps;
	an->sum.nsnapshots = an->nsnaps;
}

static int finish_open(analysis_t *an, const char *path, char *err,
		       size_t errlen)
{
	an->path = strdup(path);
	an->exe = strdup("");
	an->cmdline = strdup("");
	an->version = strdup("");
	an->stacks = stacks_new();
	an->heap = an->stacks ? heap_new(an->stacks, heap_sink, an) : NULL;
	if (!an->path || !an->exe || !an->cmdline || !an->version ||
	    !an->heap) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	an->threads = -1;
	an->sum.path = an->path;
	an->sum.file_bytes = reader_file_bytes(an->rd);
	an->sum.data_bytes = reader_size(an->rd);
	an->sum.zstd_frames = reader_zstd_frames(an->rd);
	an->sum.zstd_cut = reader_zstd_cut(an->rd);
	an->sum.format_version = reader_version(an->rd);
	an->sum.time_resolution_us = ANALYSIS_WRITER_CYCLE_US;
	sync_summary(an);
	return 0;
}

/* analysis_open and analysis_open_follow: the reader's way differs. */
static int open_with(analysis_t **out, const char *path, char *err, size_t errlen,
		     bool follow)
{
	analysis_t *an = calloc(1, sizeof(*an));
	int rc;
	*out = NULL;
	if (!an) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	rc = follow ? reader_open_follow(path, &an->rd, err, errlen) :
		      reader_open(path, &an->rd, err, errlen);
	if (rc < 0 || (rc = finish_open(an, path, err, errlen)) < 0) {
		analysis_free(an);
		return rc;
	}
	/* Following, each run reads a second's worth: no decoder thread. */
	if (follow)
		an->threads = 0;
	*out = an;
	return 0;
}

int analysis_open(analysis_t **out, const char *path, char *err,
		  size_t errlen)
{
	return open_with(out, path, err, errlen, false);
}

int analysis_open_follow(analysis_t **out, const char *path, char *err,
			 size_t errlen)
{
	return open_with(out, path, err, errlen, true);
}

int64_t analysis_refresh(analysis_t *an, char *err, size_t errlen)
{
	int64_t n = reader_refresh(an->rd);
	if (n < 0)
		snprintf(err, errlen, "%s", reader_error(an->rd));
	an->sum.file_bytes = reader_size(an->rd);
	return n;
}

int analysis_open_mem(analysis_t **out, const void *data, size_t len,
		      const char *name, char *err, size_t errlen)
{
	analysis_t *an = calloc(1, sizeof(*an));
	int rc;
	*out = NULL;
	if (!an) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	if ((rc = reader_open_mem(data, len, name, &an->rd, err, errlen)) < 0)
		goto fail;
	if ((rc = finish_open(an, name, err, errlen)) < 0)
		goto fail;
	*out = an;
	return 0;
fail:
	analysis_free(an);
	return rc;
}

int analysis_add_agg(analysis_t *an, agg_t *agg)
{
	if (an->naggs >= MAX_AGGS)
		return -ENOSPC;
	agg->heap = an->heap;
	agg->stacks = an->stacks;
	an->aggs[an->naggs++] = agg;
	return 0;
}

void analysis_set_progress(analysis_t *an, bool on)
{
	an->progress = on;
}

void analysis_set_threads(analysis_t *an, int mode)
{
	an->threads = mode;
}

static void reset_image(analysis_t *an)
{
	stacks_reset(an->stacks);
	heap_reset(an->heap);
	for (size_t i = 0; i < an->nsnaps; i++)
		free(an->snaps[i].label);
	an->nsnaps = 0;
	if (an->thread_seen)
		memset(an->thread_seen, 0, an->thread_cap / 8);
	an->sum.threads = 0;
	an->sum.rss_max = an->sum.rss_max_time_us = 0;
	an->sum.recorder_peak = 0;
	an->sum.warnings = 0;
	an->lost_records = an->end_lost = 0;
	an->sum.lost_signal = an->sum.lost_own_alloc = 0;
	an->ndefs = an->nmarks = 0;
	an->nstates = 0;
	an->states_scanned = 0;
	an->states_dropped = false;
	for (size_t i = 0; i < an->naggs; i++)
		if (an->aggs[i]->ops->reset)
			an->aggs[i]->ops->reset(an->aggs[i]);
}

static void see_thread(analysis_t *an, uint64_t idx)
{
	if (idx >= MAX_THREAD_INDEX)
		return;
	if (idx >= an->thread_cap) {
		size_t ncap = an->thread_cap ? an->thread_cap : 1024;
		while (ncap <= idx)
			ncap *= 2;
		uint8_t *nb = realloc(an->thread_seen, ncap / 8);
		if (!nb)
			return;
		memset(nb + an->thread_cap / 8, 0, (ncap - an->thread_cap) / 8);
		an->thread_seen = nb;
		an->thread_cap = ncap;
	}
	if (!(an->thread_seen[idx / 8] & (1u << (idx % 8)))) {
		an->thread_seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
		an->sum.threads++;
	}
}

static int replace_str(char **dst, const char *src)
{
	char *s = strdup(src ? src : "");
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int on_process(analysis_t *an, const rd_event_t *ev)
{
	if (image_selected >= 0 && ev->u.process.image > (uint32_t)image_selected) {
		/* The chosen image is complete: it ended by exec. */
		an->frozen = true;
		an->sum.has_end = true;
		return frozen_event(an, ev);
	}
	if (push_image(an, ev) < 0)
		return -ENOMEM;
	an->sum.image = ev->u.process.image;
	if (ev->u.process.image > 0)
		reset_image(an);
	an->sum.images = ev->u.process.image + 1;
	an->sum.pid = ev->u.process.pid;
	an->sum.ppid = ev->u.process.ppid;
	an->sum.start_unix_ns = ev->u.process.start_unix_ns;
	an->sum.proc_flags = ev->u.process.flags;
	an->sum.has_end = false;
	an->sum.fatal_signal = 0;
	an->sum.attached = an->sum.detached = false;
	an->sum.attach_proc_start_ns = an->sum.detach_time_us = 0;
	an->sum.time_resolution_us = ANALYSIS_WRITER_CYCLE_US; /* until a CLOCK */
	fmt_set_resolution(an->sum.time_resolution_us);
	if (replace_str(&an->exe, ev->u.process.exe) < 0 ||
	    replace_str(&an->version, ev->u.process.version) < 0 ||
	    stacks_set_exe(an->stacks, ev->u.process.exe) < 0)
		return -ENOMEM;
	char *cmd = join_argv(ev);
	if (!cmd)
		return -ENOMEM;
	free(an->cmdline);
	an->cmdline = cmd;
	return 0;
}

/* Appends snapshot an->nsnaps's per-stack live totals (the nonzero ones)
 * to the states kept for the index, or drops all states when they grow
 * past the limits. */
static int keep_state(analysis_t *an)
{
	size_t n, k = an->nsnaps;
	const heap_stack_stat_t *st = heap_stack_stats(an->heap, &n);
	if (!an->keep_states || an->states_dropped)
		return 0;
	an->states_scanned += n;
	if (k + 2 > an->capstate) {
		size_t ncap = an->capstate ? an->capstate * 2 : 16;
		uint64_t *na = realloc(an->state_at, ncap * sizeof(*na));
		if (na)
			an->state_at = na;
		uint64_t *nn = na ? realloc(an->state_n, ncap * sizeof(*nn)) : NULL;
		if (!nn)
			return -ENOMEM;
		an->state_n = nn;
		an->capstate = ncap;
	}
	if (!k)
		an->state_at[0] = 0;
	for (size_t i = 0; i < n && an->states_scanned <= STATES_MAX_SCAN; i++) {
		if (!st[i].live_bytes && !st[i].live_count)
			continue;
		if (an->nstates == STATES_MAX) {
			an->states_scanned = STATES_MAX_SCAN + 1;
			break;
		}
		if (an->nstates == an->capstates) {
			size_t ncap = an->capstates ? an->capstates * 2 : 1024;
			analysis_state_t *ns = realloc(an->states, ncap * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			an->states = ns;
			an->capstates = ncap;
		}
		an->states[an->nstates++] = (analysis_state_t){
			.sidx = (uint32_t)i,
			.bytes = st[i].live_bytes,
			.count = st[i].live_count,
		};
	}
	if (an->states_scanned > STATES_MAX_SCAN) {
		an->states_dropped = true;
		free(an->states);
		an->states = NULL;
		an->nstates = an->capstates = 0;
		return 0;
	}
	an->state_n[k] = n;
	an->state_at[k + 1] = an->nstates;
	return 0;
}

static bool group_startup = true;

void analysis_group_startup(bool on)
{
	group_startup = on;
}

bool analysis_grouping_startup(void)
{
	return group_startup;
}

static int on_snapshot(analysis_t *an, const rd_event_t *ev)
{
	int rc;
	/* Not in an aggregated trace: its stacks' totals are set by the
	 * recorder, which kept start-up's allocations where they were made. */
	if (ev->u.snapshot.origin == HT_SNAP_PY_MAIN && group_startup && !an->sum.aggregated) {
		sidx_t to = stacks_intern(an->stacks, STACKS_ID_STARTUP);
		if (to == SIDX_NONE)
			return -ENOMEM;
		if ((rc = heap_move_live(an->heap, to, ev->time_us)) != 0)
			return rc;
	}
	const heap_counters_t *c = heap_counters(an->heap);
	if (an->nsnaps == an->capsnaps) {
		size_t ncap = an->capsnaps ? an->capsnaps * 2 : 16;
		analysis_snapshot_t *ns = realloc(an->snaps, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		an->snaps = ns;
		an->capsnaps = ncap;
	}
	analysis_snapshot_t *s = &an->snaps[an->nsnaps];
	s->label = strdup(ev->u.snapshot.label);
	if (!s->label)
		return -ENOMEM;
	s->index = ev->u.snapshot.index;
	s->origin = ev->u.snapshot.origin;
	s->time_us = ev->time_us;
	s->heap_bytes = c->heap_bytes;
	s->heap_blocks = c->heap_blocks;
	s->startup_bytes = s->startup_blocks = 0;
	sidx_t su = stacks_find(an->stacks, STACKS_ID_STARTUP);
	if (su != SIDX_NONE) {
		size_t nst;
		const heap_stack_stat_t *st = heap_stack_stats(an->heap, &nst);
		if ((size_t)su < nst) {
			s->startup_bytes = st[su].live_bytes;
			s->startup_blocks = st[su].live_count;
		}
	}
	if ((rc = keep_state(an)) < 0) {
		free(s->label);
		return rc;
	}
	agg_snapshot_t as = {
		.ordinal = (uint32_t)an->nsnaps,
		.index = s->index,
		.origin = s->origin,
		.label = s->label,
		.time_us = s->time_us,
		.heap_bytes = s->heap_bytes,
		.heap_blocks = s->heap_blocks,
	};
	an->nsnaps++;
	for (size_t i = 0; i < an->naggs; i++) {
		if (!an->aggs[i]->ops->snapshot)
			continue;
		int rc = an->aggs[i]->ops->snapshot(an->aggs[i], &as);
		if (rc)
			return rc;
	}
	return 0;
}

/* Remembers where a stack-table record lies, for the index. */
static int push_def(analysis_t *an, uint64_t offset)
{
	if (an->ndefs == an->capdefs) {
		size_t ncap = an->capdefs ? an->capdefs * 2 : 1024;
		uint64_t *nd = realloc(an->defs, ncap * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		an->defs = nd;
		an->capdefs = ncap;
	}
	an->defs[an->ndefs++] = offset;
	return 0;
}

/* Marks the stacks interned since the last call with `ndefs`. */
static int mark_stacks(analysis_t *an, uint64_t ndefs)
{
	size_t n = stacks_count(an->stacks);
	if (n > an->capmarks) {
		size_t ncap = an->capmarks ? an->capmarks : 1024;
		while (ncap < n)
			ncap *= 2;
		uint64_t *nm = realloc(an->marks, ncap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		an->marks = nm;
		an->capmarks = ncap;
	}
	while (an->nmarks < n)
		an->marks[an->nmarks++] = ndefs;
	return 0;
}

static void progress(analysis_t *an, uint64_t offset, bool final)
{
	static time_t last;
	time_t now = time(NULL);
	if (final) {
		if (last)
			fprintf(stderr, "\r%60s\r", "");
		return;
	}
	if (now == last)
		return;
	if (!last) {
		last = now;
		return; /* only analyses longer than a second show progress */
	}
	last = now;
	uint64_t size = reader_size(an->rd);
	fprintf(stderr, "\rheaptrail: reading %s: %3d%%", an->path,
		size ? (int)(offset * 100 / size) : 100);
}

/* Traces smaller than this are replayed on one thread (not worth one). */
#define PIPE_MIN_BYTES ((uint64_t)4 << 20)

/* One event of the replay (what analysis_run's loops share); the caller
 * keeps end_time_us and the marks.  Returns 0 or an error. */
static int apply_event(analysis_t *an, const rd_event_t *ev,
		       uint32_t *last_thread)
{
	int rc = 0;
	switch (ev->kind) {
	case RD_ALLOC:
	case RD_FREE:
	case RD_REALLOC:
		if (ev->thread != *last_thread) {
			see_thread(an, ev->thread);
			*last_thread = ev->thread;
		}
		return heap_apply(an->heap, ev);
	case RD_PROCESS:
		if (image_selected >= 0 && ev->u.process.image > (uint32_t)image_selected)
			return on_process(an, ev); /* the chosen image stays */
		an->sum.end_time_us = 0;
		*last_thread = UINT32_MAX; /* the thread bitmap is reset */
		return on_process(an, ev);
	case RD_MODULES:
		rc = stacks_add_modules(an->stacks, ev);
		return rc ? rc : push_def(an, ev->offset);
	case RD_STACK:
		rc = stacks_add_stack(an->stacks, ev);
		return rc ? rc : push_def(an, ev->offset);
	case RD_PYCODE:
		rc = stacks_add_pycode(an->stacks, ev);
		return rc ? rc : push_def(an, ev->offset);
	case RD_THREAD:
		see_thread(an, ev->u.thread.index);
		return 0;
	case RD_SNAPSHOT:
		return on_snapshot(an, ev);
	case RD_RSS:
		if (ev->u.rss.bytes > an->sum.rss_max) {
			an->sum.rss_max = ev->u.rss.bytes;
			an->sum.rss_max_time_us = ev->time_us;
		}
		for (size_t i = 0; i < an->naggs && !rc; i++)
			if (an->aggs[i]->ops->rss)
				rc = an->aggs[i]->ops->rss(an->aggs[i], ev->time_us,
							   ev->u.rss.bytes);
		return rc;
	case RD_LOST:
		an->lost_records += ev->u.lost.count;
		if (ev->u.lost.reason == HT_LOST_SIGNAL)
			an->sum.lost_signal += ev->u.lost.count;
		else if (ev->u.lost.reason == HT_LOST_OWN_ALLOCATOR)
			an->sum.lost_own_alloc += ev->u.lost.count;
		return 0;
	case RD_WARNING:
		an->sum.warnings++;
		return replace_str(&an->last_warning, ev->u.warning.text);
	case RD_CLOCK: {
		uint64_t us = (ev->u.clock.resolution_ns + 999) / 1000;
		an->sum.time_resolution_us = us ? us : 1;
		fmt_set_resolution(an->sum.time_resolution_us);
		return 0;
	}
	case RD_SIGNAL:
		an->sum.fatal_signal = ev->u.signal.signo > 0 && ev->u.signal.signo < 128 ?
					       (int)ev->u.signal.signo : -1;
		return 0;
	case RD_MEMORY:
		an->sum.recorder_peak = ev->u.memory.peak;
		return 0;
	case RD_EXEC:
		return frozen_event(an, ev);
	case RD_AGGREGATE:
		an->sum.aggregated = true;
		return 0;
	case RD_AGG_STATE:
		return heap_agg_state(an->heap, ev);
	case RD_AGG_PEAK:
		return heap_agg_peak(an->heap, ev);
	case RD_AGG_HEAP:
		return heap_agg_heap(an->heap, ev);
	case RD_ATTACH:
		an->sum.attached = true;
		an->sum.attach_proc_start_ns = ev->u.attach.proc_start_ns;
		return 0;
	case RD_DETACH:
		an->sum.detached = true;
		an->sum.detach_time_us = ev->u.detach.time_us;
		return 0;
	case RD_END:
		if ((rc = frozen_event(an, ev)) < 0)
			return rc;
		an->sum.has_end = true;
		an->sum.end_events = ev->u.end.events;
		an->end_lost = ev->u.end.lost;
		if (ev->u.end.end_time_us > an->sum.end_time_us)
			an->sum.end_time_us = ev->u.end.end_time_us;
		return 0;
	default:
		return 0;
	}
}

static bool is_heap_event(const rd_event_t *ev)
{
	return ev->kind == RD_ALLOC || ev->kind == RD_FREE ||
	       ev->kind == RD_REALLOC;
}

/* The replay over the batches: each run of heap events
 * goes to the heap model in one call (heap_apply_run), which is what the
 * replay is made of; the records between runs one by one.  Same results
 * as the loop of analysis_run: within a run, time only grows, no record
 * adds stack definitions, and threads are noted in order.  Returns 0 at
 * the end, or an error (then *at is the event it happened at). */
static int run_piped(analysis_t *an, pipe_t *p, bool show,
		     const rd_event_t **at)
{
	uint32_t last_thread = UINT32_MAX;
	uint64_t n = 0;
	int rc;
	for (;;) {
		pbatch_t *b = pipe_take(p);
		if (!b)
			return 0; /* unreachable: a batch ends the stream */
		const rd_event_t *ev = b->ev;
		size_t i = 0, nb = b->n;
		while (i < nb) {
		while (i < nb && an->frozen) {
			/* Past the chosen image: only its list entry. */
			if (is_heap_event(&ev[i])) {
				image_time(an, ev[i].time_us);
				cur_image(an)->events++;
			} else if ((rc = frozen_event(an, &ev[i])) < 0) {
				*at = &ev[i];
				return rc;
			}
			i++;
		}
		while (i < nb && !an->frozen) {
			size_t j = i, failed;
			for (; j < nb && is_heap_event(&ev[j]); j++)
				if (ev[j].thread != last_thread) {
					see_thread(an, ev[j].thread);
					last_thread = ev[j].thread;
				}
			if (j > i) {
				if ((rc = heap_apply_run(an->heap, ev + i, j - i, &failed))) {
					*at = &ev[i + failed];
					return rc;
				}
				if (ev[j - 1].time_us > an->sum.end_time_us)
					an->sum.end_time_us = ev[j - 1].time_us;
				if (cur_image(an)) {
					image_time(an, ev[i].time_us);
					image_time(an, ev[j - 1].time_us);
					cur_image(an)->events += j - i;
				}
				if (stacks_count(an->stacks) > an->nmarks &&
				    (rc = mark_stacks(an, an->ndefs))) {
					*at = &ev[j - 1];
					return rc;
				}
				if (show && ((n + (j - i)) >> 20) != (n >> 20))
					progress(an, ev[j - 1].offset, false);
				n += j - i;
				i = j;
				continue;
			}
			size_t ndefs = an->ndefs;
			if (ev[i].time_us > an->sum.end_time_us)
				an->sum.end_time_us = ev[i].time_us;
			rc = apply_event(an, &ev[i], &last_thread);
			if (!rc && stacks_count(an->stacks) > an->nmarks)
				rc = mark_stacks(an, ndefs);
			if (rc) {
				*at = &ev[i];
				return rc;
			}
			i++;
			n++;
		}
		}
		if (b->rc <= 0)
			return b->rc;
	}
}

/* CPUs this process may run on: with one, a decoder thread would only
 * take turns with the replay (and poll while it waits). */
static int cpus_available(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

static int run(analysis_t *an, char *err, size_t errlen)
{
	pipe_t pipe;
	const rd_event_t *fail_at = NULL;
	int rc;
	bool show = an->progress && isatty(2);
	int mode = an->threads;
	const char *env = getenv(HT_ENV_REPLAY_THREADS);
	if (mode < 0 && env && (strcmp(env, "1") == 0 || strcmp(env, "2") == 0))
		mode = env[0] - '1';
	bool threaded = mode > 0 ||
			(mode < 0 && reader_size(an->rd) >= PIPE_MIN_BYTES && cpus_available() > 1);
	if (pipe_start(&pipe, an->rd, threaded) < 0) {
		snprintf(err, errlen, "%s: out of memory", an->path);
		return -ENOMEM;
	}
	/* Without aggregators the heap model need not build its events. */
	heap_set_sink(an->heap, an->naggs ? heap_sink : NULL, an);
	rc = run_piped(an, &pipe, show, &fail_at);
	if (rc > 0 || (rc < 0 && fail_at)) {
		snprintf(err, errlen, "%s: %s at byte offset %" PRIu64, an->path,
			 rc == -ENOMEM ? "out of memory" : "analysis failed",
			 fail_at->offset);
		pipe_end(&pipe);
		if (show)
			progress(an, 0, true);
		return rc < 0 ? rc : -EIO;
	}
	pipe_end(&pipe);
	if (show)
		progress(an, 0, true);
	if (rc < 0) {
		snprintf(err, errlen, "%s", reader_error(an->rd));
		return rc;
	}
	for (size_t i = 0; i < an->nimgs; i++)
		if (an->imgs[i].first_us == UINT64_MAX)
			an->imgs[i].first_us = 0;
	if (an->frozen) {
		/* The chosen image ended by exec: complete. */
		an->sum.truncated = false;
		an->sum.has_end = true;
	} else {
		an->sum.truncated = reader_truncated(an->rd);
		an->sum.has_end = reader_saw_end(an->rd);
	}
	an->sum.image_chosen = image_selected >= 0;
	if (image_selected >= 0 && (uint32_t)image_selected >= an->sum.images) {
		snprintf(err, errlen, "%s: --image %d: the trace has %u image%s (0 to %u)",
			 an->path, (int)image_selected, an->sum.images,
			 an->sum.images == 1 ? "" : "s", an->sum.images ? an->sum.images - 1 : 0);
		return -EINVAL;
	}
	an->sum.lost_events = an->lost_records > an->end_lost ?
		an->lost_records : an->end_lost;
	return 0;
}

int analysis_run(analysis_t *an, char *err, size_t errlen)
{
	int rc = run(an, err, errlen);
	sync_summary(an);
	return rc;
}

const analysis_summary_t *analysis_summary(const analysis_t *an)
{
	return &an->sum;
}

const heap_t *analysis_heap(const analysis_t *an)
{
	return an->heap;
}

const stacks_t *analysis_stacks(const analysis_t *an)
{
	return an->stacks;
}

frames_t *analysis_frames(analysis_t *an, int mode, bool raw)
{
	const char *env = getenv(HT_ENV_NO_SYMBOLS);
	if (env && *env && strcmp(env, "0") != 0)
		raw = true;
	if (an->frames && an->frames_mode == mode && an->frames_raw == raw)
		return an->frames;
	frames_free(an->frames);
	an->frames = NULL;
	if (!raw && !an->sym)
		an->sym = shared_sym ? shared_sym : sym_new();
	an->frames = frames_new(an->stacks, raw ? NULL : an->sym, mode);
	an->frames_mode = mode;
	an->frames_raw = raw;
	return an->frames;
}

int analysis_restore(analysis_t *an, const analysis_saved_t *d)
{
	const analysis_summary_t *s = &d->sum;
	rd_event_t ev;
	int rc;
	an->sum.pid = s->pid;
	an->sum.ppid = s->ppid;
	an->sum.start_unix_ns = s->start_unix_ns;
	an->sum.proc_flags = s->proc_flags;
	an->sum.images = s->images;
	an->sum.end_time_us = s->end_time_us;
	an->sum.time_resolution_us = s->time_resolution_us;
	fmt_set_resolution(an->sum.time_resolution_us);
	an->sum.threads = s->threads;
	an->sum.lost_events = s->lost_events;
	an->sum.lost_signal = s->lost_signal;
	an->sum.lost_own_alloc = s->lost_own_alloc;
	an->sum.rss_max = s->rss_max;
	an->sum.rss_max_time_us = s->rss_max_time_us;
	an->sum.warnings = s->warnings;
	an->sum.truncated = s->truncated;
	an->sum.has_end = s->has_end;
	an->sum.fatal_signal = s->fatal_signal;
	an->sum.end_events = s->end_events;
	an->sum.recorder_peak = s->recorder_peak;
	an->sum.aggregated = s->aggregated;
	an->sum.attached = s->attached;
	an->sum.attach_proc_start_ns = s->attach_proc_start_ns;
	an->sum.detached = s->detached;
	an->sum.detach_time_us = s->detach_time_us;
	if (replace_str(&an->exe, s->exe) < 0 ||
	    replace_str(&an->cmdline, s->cmdline) < 0 ||
	    replace_str(&an->version, s->recorder_version) < 0 ||
	    (s->last_warning &&
	     replace_str(&an->last_warning, s->last_warning) < 0))
		return -ENOMEM;
	if (s->nsnapshots) {
		an->snaps = calloc(s->nsnapshots, sizeof(*an->snaps));
		if (!an->snaps)
			return -ENOMEM;
		an->capsnaps = s->nsnapshots;
		for (size_t i = 0; i < s->nsnapshots; i++) {
			an->snaps[i] = s->snapshots[i];
			an->snaps[i].label = strdup(s->snapshots[i].label);
			if (!an->snaps[i].label)
				return -ENOMEM;
			an->nsnaps = i + 1;
		}
	}
	if (d->states.states) {
		const analysis_states_t *ds = &d->states;
		size_t ns = s->nsnapshots, ne = (size_t)ds->at[ns];
		an->states = malloc((ne ? ne : 1) * sizeof(*an->states));
		an->state_at = malloc((ns + 1) * sizeof(*an->state_at));
		an->state_n = malloc((ns ? ns : 1) * sizeof(*an->state_n));
		if (!an->states || !an->state_at || !an->state_n)
			return -ENOMEM;
		memcpy(an->states, ds->states, ne * sizeof(*an->states));
		memcpy(an->state_at, ds->at, (ns + 1) * sizeof(*an->state_at));
		memcpy(an->state_n, ds->n, ns * sizeof(*an->state_n));
		an->nstates = an->capstates = ne;
		an->capstate = ns + 1;
		an->keep_states = true;
	}
	if ((rc = heap_restore(an->heap, &d->counters, d->st, d->nst)) < 0 ||
	    (rc = stacks_set_exe(an->stacks, s->exe)) < 0)
		return rc;
	/* Ids are interned where the replay interned them among the records
	 * (an undefined stack takes the newest module map of that moment). */
	size_t next = 0;
	for (size_t i = 0; i <= d->ndefs; i++) {
		for (; next < d->nids && d->marks[next] <= i; next++)
			if (stacks_intern(an->stacks, d->ids[next]) != (sidx_t)next)
				return -EBADMSG;
		if (i == d->ndefs)
			break;
		if (reader_seek(an->rd, d->defs[i]) < 0 ||
		    reader_next(an->rd, &ev) != 1 || ev.offset != d->defs[i])
			return -EBADMSG;
		if (ev.kind == RD_MODULES)
			rc = stacks_add_modules(an->stacks, &ev);
		else if (ev.kind == RD_STACK)
			rc = stacks_add_stack(an->stacks, &ev);
		else if (ev.kind == RD_PYCODE)
			rc = stacks_add_pycode(an->stacks, &ev);
		else
			rc = -EBADMSG;
		if (rc < 0)
			return rc;
	}
	if (next != d->nids || stacks_count(an->stacks) != d->nids)
		return -EBADMSG;
	an->from_index = true;
	sync_summary(an);
	return 0;
}

void analysis_defs(const analysis_t *an, const uint64_t **defs, size_t *ndefs,
		   const uint64_t **marks, size_t *nmarks)
{
	*defs = an->defs;
	*ndefs = an->ndefs;
	*marks = an->marks;
	*nmarks = an->nmarks;
}

void analysis_keep_states(analysis_t *an, bool on)
{
	an->keep_states = on;
}

bool analysis_states(const analysis_t *an, analysis_states_t *out)
{
	static const analysis_state_t none;
	if (!an->keep_states || an->states_dropped || !an->state_at)
		return false;
	/* No snapshot had a live block: an empty, but kept, list. */
	out->states = an->states ? an->states : &none;
	out->at = an->state_at;
	out->n = an->state_n;
	return true;
}

void analysis_leaked(const analysis_t *an, bool at_end, analysis_leaked_t *out)
{
	const analysis_summary_t *s = &an->sum;
	*out = (analysis_leaked_t){ 0 };
	/* The first teardown mark, as the leaks aggregator freezes there. */
	for (size_t i = 0; !at_end && i < s->nsnapshots; i++)
		if (s->snapshots[i].origin == HT_SNAP_PY_TEARDOWN) {
			out->teardown = &s->snapshots[i];
			break;
		}
	if (out->teardown) {
		out->bytes = out->teardown->heap_bytes;
		out->blocks = out->teardown->heap_blocks;
		out->startup_bytes = out->teardown->startup_bytes;
		out->startup_blocks = out->teardown->startup_blocks;
	} else {
		const heap_counters_t *c = heap_counters(an->heap);
		out->bytes = c->heap_bytes;
		out->blocks = c->heap_blocks;
		sidx_t su = stacks_find(an->stacks, STACKS_ID_STARTUP);
		size_t nst;
		const heap_stack_stat_t *st = heap_stack_stats(an->heap, &nst);
		if (su != SIDX_NONE && (size_t)su < nst) {
			out->startup_bytes = st[su].live_bytes;
			out->startup_blocks = st[su].live_count;
		}
	}
	/* Never below zero, whatever a damaged trace says. */
	out->startup_bytes = out->startup_bytes < out->bytes ? out->startup_bytes : out->bytes;
	out->startup_blocks = out->startup_blocks < out->blocks ? out->startup_blocks : out->blocks;
	out->bytes -= out->startup_bytes;
	out->blocks -= out->startup_blocks;
}

bool analysis_from_index(const analysis_t *an)
{
	return an->from_index;
}

size_t analysis_warnings(const analysis_t *an, const char *const **list)
{
	*list = NULL;
	return an->sym ? sym_warnings(an->sym, list) : 0;
}

void analysis_print_warnings(const analysis_t *an)
{
	const char *const *list;
	if (!an->sym)
		return;
	size_t n = sym_warnings(an->sym, &list);
	for (size_t i = 0; i < n; i++) {
		/* A module without debug info stays so: say it once per
		 * trace (read/notices.h); other warnings are about this run. */
		if (strstr(list[i], ": no debug info (") && !notices_show(an->path, list[i]))
			continue;
		fprintf(stderr, "heaptrail: warning: %s\n", list[i]);
	}
}

void analysis_free(analysis_t *an)
{
	if (!an)
		return;
	frames_free(an->frames);
	if (an->sym && an->sym != shared_sym)
		sym_free(an->sym);
	heap_free(an->heap);
	stacks_free(an->stacks);
	reader_close(an->rd);
	for (size_t i = 0; i < an->nsnaps; i++)
		free(an->snaps[i].label);
	free(an->snaps);
	free(an->thread_seen);
	free(an->defs);
	free(an->marks);
	free(an->states);
	free(an->state_at);
	free(an->state_n);
	free(an->path);
	free(an->exe);
	free(an->cmdline);
	free(an->version);
	free(an->last_warning);
	for (size_t i = 0; i < an->nimgs; i++) {
		free((char *)an->imgs[i].exe);
		free((char *)an->imgs[i].cmdline);
		free((char *)an->imgs[i].exec_path);
	}
	free(an->imgs);
	free(an);
}

bool analysis_is_aggregated(const char *path)
{
	reader_t *rd;
	rd_event_t ev;
	char err[256];
	bool agg = false;
	if (!path || !strcmp(path, "-") || reader_open(path, &rd, err, sizeof err) < 0)
		return false;
	/* AGGREGATE follows PROCESS and CLOCK: a few records suffice. */
	for (int i = 0; i < 8 && reader_next(rd, &ev) == 1; i++) {
		if (ev.kind == RD_AGGREGATE) {
			agg = true;
			break;
		}
		if (ev.kind == RD_ALLOC || ev.kind == RD_FREE || ev.kind == RD_REALLOC)
			break;
	}
	reader_close(rd);
	return agg;
}

bool analysis_refuse_aggregated(const char *path, const char *what)
{
	if (!analysis_is_aggregated(path))
		return false;
	fprintf(stderr,
		"heaptrail: %s was recorded with --aggregate and has no single events; "
		"record without --aggregate for %s\n",
		path, what);
	return true;
}
