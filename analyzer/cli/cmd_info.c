/* `heaptrail info`: see cmd_info.h.  Needs no aggregator: the heap model's
 * counters and the analysis summary hold every figure. */
#include "cli/cmd_info.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model/analysis.h"
#include "cli/opts.h"
#include "cli/cmd_snapshots.h"
#include "render/report.h"
#include "cli/args.h"
#include "read/notices.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/text.h"
#include "cli/multi.h"
#include "cli/run.h"
#include "render/sparkline.h"

static const char *const kind_names[HT_KIND_COUNT] = {
	"malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc",
};

/* "SIGSEGV"; "an unknown signal" for a number outside the system's. */
static const char *signal_name(int sig)
{
	static char name[16];
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (!abbrev)
		return "an unknown signal";
	snprintf(name, sizeof(name), "SIG%s", abbrev);
	return name;
}

/* "" for 1, "s" otherwise: "1 allocation", "2 allocations". */
static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* argv[0] as the user ran the program (the first word of the command
 * line) when its name differs from the executable's: a symlink such as
 * redis-server -> redis-check-rdb.  Writes "" otherwise. */
static void run_as(const analysis_summary_t *s, char *out, size_t len)
{
	out[0] = 0;
	if (!s->cmdline[0] || !s->exe[0])
		return;
	size_t n = strcspn(s->cmdline, " ");
	if (n >= len)
		return;
	memcpy(out, s->cmdline, n);
	out[n] = 0;
	const char *a = strrchr(out, '/'), *e = strrchr(s->exe, '/');
	a = a ? a + 1 : out;
	e = e ? e + 1 : s->exe;
	if (!strcmp(a, e))
		out[0] = 0;
}

static void print_json(const analysis_summary_t *s, const heap_counters_t *c,
		       size_t nstacks, const analysis_leaked_t *lk)
{
	json_t j;
	json_report_begin(&j, stdout, s);
	json_key(&j, "clean_end");
	json_bool(&j, s->has_end && !s->fatal_signal);
	json_key(&j, "fatal_signal");
	if (s->fatal_signal > 0)
		json_u64(&j, (uint64_t)s->fatal_signal);
	else
		json_null(&j);
	json_key(&j, "fatal_signal_name");
	if (s->fatal_signal)
		json_str(&j, signal_name(s->fatal_signal));
	else
		json_null(&j);
	json_key(&j, "program");
	json_str(&j, s->exe);
	/* The name the user ran when it differs (a symlink), else null. */
	char as[256];
	run_as(s, as, sizeof(as));
	json_key(&j, "run_as");
	if (as[0])
		json_str(&j, as);
	else
		json_null(&j);
	json_key(&j, "cmdline");
	json_str(&j, s->cmdline);
	json_key(&j, "pid");
	json_u64(&j, s->pid);
	json_key(&j, "ppid");
	json_u64(&j, s->ppid);
	json_key(&j, "recorder_version");
	json_str(&j, s->recorder_version);
	/* null for a plain trace. */
	json_key(&j, "compression");
	if (s->zstd_frames) {
		json_obj_begin(&j);
		json_key(&j, "format");
		json_str(&j, "zstd");
		json_key(&j, "file_bytes");
		json_u64(&j, s->file_bytes);
		json_key(&j, "data_bytes");
		json_u64(&j, s->data_bytes);
		json_key(&j, "frames");
		json_u64(&j, s->zstd_frames);
		json_key(&j, "torn_frame");
		json_bool(&j, s->zstd_cut);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_key(&j, "start_unix_ns");
	json_u64(&j, s->start_unix_ns);
	json_key(&j, "duration_us");
	json_u64(&j, s->end_time_us);
	json_key(&j, "time_resolution_us");
	json_u64(&j, s->time_resolution_us);
	json_key(&j, "images");
	json_u64(&j, s->images);
	json_key(&j, "image");
	json_u64(&j, s->image);
	/* Every image of an exec chain (the figures are image's); [] for a
	 * trace of one image, as from the trace index, which keeps no list. */
	json_key(&j, "image_list");
	json_arr_begin(&j);
	for (size_t i = 0; s->images > 1 && i < s->nimage_list; i++) {
		const analysis_image_t *im = &s->image_list[i];
		json_obj_begin(&j);
		json_key(&j, "image");
		json_u64(&j, im->n);
		json_key(&j, "pid");
		json_u64(&j, im->pid);
		json_key(&j, "exe");
		json_str(&j, im->exe);
		json_key(&j, "cmdline");
		json_str(&j, im->cmdline);
		json_key(&j, "events");
		json_u64(&j, im->events);
		json_key(&j, "first_us");
		json_u64(&j, im->first_us);
		json_key(&j, "last_us");
		json_u64(&j, im->last_us);
		json_key(&j, "exec_path");
		json_str(&j, im->exec_path);
		json_key(&j, "has_end");
		json_bool(&j, im->has_end);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	/* `heaptrail attach`: null, or when the process itself started
	 * (unix ns, null = unknown); start_unix_ns is the attach. */
	json_key(&j, "attached");
	if (s->attached) {
		json_obj_begin(&j);
		json_key(&j, "process_start_unix_ns");
		if (s->attach_proc_start_ns)
			json_u64(&j, s->attach_proc_start_ns);
		else
			json_null(&j);
		/* The unknown frees and reallocs: of the blocks from before. */
		json_key(&j, "frees_before_attach");
		json_u64(&j, c->unknown_frees);
		json_key(&j, "reallocs_before_attach");
		json_u64(&j, c->unknown_reallocs);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_key(&j, "detached_us"); /* the DETACH time, null: none */
	if (s->detached)
		json_u64(&j, s->detach_time_us);
	else
		json_null(&j);
	json_key(&j, "events");
	json_obj_begin(&j);
	json_key(&j, "alloc");
	json_u64(&j, c->allocs);
	json_key(&j, "free");
	json_u64(&j, c->frees);
	json_key(&j, "realloc");
	json_u64(&j, c->reallocs);
	json_key(&j, "alloc_by_kind");
	json_obj_begin(&j);
	for (int k = 0; k < HT_KIND_COUNT; k++) {
		json_key(&j, kind_names[k]);
		json_u64(&j, c->alloc_kind[k]);
	}
	json_obj_end(&j);
	json_obj_end(&j);
	json_key(&j, "bytes_allocated");
	json_u64(&j, c->bytes_allocated);
	json_key(&j, "stacks");
	json_u64(&j, nstacks);
	json_key(&j, "threads");
	json_u64(&j, s->threads);
	json_key(&j, "peak_bytes");
	json_u64(&j, c->peak_bytes);
	json_key(&j, "peak_blocks");
	json_u64(&j, c->peak_blocks);
	json_key(&j, "peak_time_us");
	json_u64(&j, c->peak_time_us);
	json_key(&j, "end_bytes");
	json_u64(&j, c->heap_bytes);
	json_key(&j, "end_blocks");
	json_u64(&j, c->heap_blocks);
	/* leaked: at a Python program's teardown mark (then end_* is after
	 * the interpreter's finalization), less <interpreter startup>. */
	json_key(&j, "leaked_bytes");
	json_u64(&j, lk->bytes);
	json_key(&j, "leaked_blocks");
	json_u64(&j, lk->blocks);
	json_key(&j, "leaked_at");
	json_str(&j, lk->teardown ? "teardown" : "end");
	json_key(&j, "leaked_at_us");
	json_u64(&j, lk->teardown ? lk->teardown->time_us : s->end_time_us);
	json_key(&j, "leaked_startup_bytes");
	json_u64(&j, lk->startup_bytes);
	json_key(&j, "leaked_startup_blocks");
	json_u64(&j, lk->startup_blocks);
	json_key(&j, "max_rss");
	json_u64(&j, s->rss_max);
	json_key(&j, "max_rss_time_us");
	json_u64(&j, s->rss_max_time_us);
	json_key(&j, "recorder_memory_peak"); /* bytes; null: not in the trace */
	if (s->recorder_peak)
		json_u64(&j, s->recorder_peak);
	else
		json_null(&j);
	json_key(&j, "aggregated");
	json_bool(&j, s->aggregated);
	json_key(&j, "temporary");
	json_obj_begin(&j);
	json_key(&j, "count");
	json_u64(&j, c->temporary);
	json_key(&j, "bytes");
	json_u64(&j, c->temporary_bytes);
	json_key(&j, "definition");
	json_str(&j, "freed before any other allocation, on any thread");
	json_obj_end(&j);
	json_key(&j, "anomalies");
	json_obj_begin(&j);
	json_key(&j, "unknown_frees");
	json_u64(&j, c->unknown_frees);
	json_key(&j, "unknown_reallocs");
	json_u64(&j, c->unknown_reallocs);
	json_key(&j, "allocs_on_live_address");
	json_u64(&j, c->double_allocs);
	json_obj_end(&j);
	/* Of lost_events, the reasons a user can act on. */
	json_key(&j, "lost_signal");
	json_u64(&j, s->lost_signal);
	json_key(&j, "lost_own_allocator");
	json_u64(&j, s->lost_own_alloc);
	json_key(&j, "warnings");
	json_u64(&j, s->warnings);
	/* The one-time notices (read/notices.h) shown so far. */
	const char *const *list;
	char exec_note[1200];
	if (s->images > 1)
		notices_show(s->path, text_exec_note(exec_note, sizeof exec_note, s));
	size_t n = notices_list(s->path, &list);
	json_key(&j, "notices");
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++)
		json_str(&j, list[i]);
	json_arr_end(&j);
	snapshots_json(&j, s);
	json_report_end(&j);
}

/* A Python program: a stack with Python frames, or an interpreter named
 * python*.  PYTHONMALLOC=malloc is set for every program, but only means
 * something to these. */
static bool is_python(const analysis_summary_t *s, const stacks_t *st)
{
	const char *base = strrchr(s->exe, '/');
	base = base ? base + 1 : s->exe;
	if (strncmp(base, "python", 6) == 0)
		return true;
	for (size_t i = 0; i < stacks_count(st); i++)
		if (stacks_get(st, (sidx_t)i)->npy)
			return true;
	return false;
}

static void print_text(const analysis_summary_t *s, const heap_counters_t *c,
		       size_t nstacks, bool python, const analysis_leaked_t *lk)
{
	char a[32], b[32];
	text_notes(stdout, s);
	printf("trace:        %s (%s, format v%u)\n", s->path,
	       fmt_size(a, sizeof(a), (double)s->file_bytes, false),
	       s->format_version);
	if (s->zstd_frames)
		printf("compressed:   zstd, %" PRIu64 " frames: %s of records, %.1fx%s\n",
		       s->zstd_frames, fmt_size(b, sizeof(b), (double)s->data_bytes, false),
		       s->file_bytes ? (double)s->data_bytes / (double)s->file_bytes : 0.0,
		       s->zstd_cut ? "; the last frame was torn (cut short) and left out" : "");
	if (s->aggregated)
		printf("aggregated:   yes (record --aggregate): per-stack totals at %zu snapshot%s, "
		       "the peak and the end; no single events\n",
		       s->nsnapshots, s->nsnapshots == 1 ? "" : "s");
	char as[256];
	run_as(s, as, sizeof(as));
	printf("program:      %s%s%s%s\n", s->exe[0] ? s->exe : "(unknown: no PROCESS record)",
	       as[0] ? " (run as " : "", as, as[0] ? ")" : "");
	if (s->cmdline[0])
		printf("command:      %s\n", s->cmdline);
	printf("pid:          %" PRIu64 " (parent %" PRIu64 ")%s\n", s->pid,
	       s->ppid, s->images > 1 ? ", after exec" : "");
	if (s->nimage_list > 1) {
		printf("images:       %zu (an exec chain; the figures below are image %u's; --image N reports another)\n",
		       s->nimage_list, s->image);
		for (size_t i = 0; i < s->nimage_list; i++) {
			const analysis_image_t *im = &s->image_list[i];
			char t0[32], t1[32], ev[32];
			fmt_seconds(t0, sizeof t0, im->first_us);
			fmt_seconds(t1, sizeof t1, im->last_us);
			snprintf(ev, sizeof ev, "%" PRIu64 " event%s", im->events, plural(im->events));
			printf("  image %u:    %s, %s to %s, pid %" PRIu64 ": %s%s%s%s\n", im->n, ev, t0, t1,
			       im->pid, im->cmdline[0] ? im->cmdline : im->exe,
			       im->exec_path[0] ? " (exec'd " : "", im->exec_path,
			       im->exec_path[0] ? ")" : (im->has_end ? " (END)" : ""));
		}
	}
	if (s->recorder_version && s->recorder_version[0])
		printf("recorder:     heaptrail %s%s\n", s->recorder_version,
		       python && (s->proc_flags & HT_PROC_PYTHONMALLOC) ?
			       " (PYTHONMALLOC=malloc)" : "");
	if (s->start_unix_ns) {
		time_t t = (time_t)(s->start_unix_ns / 1000000000u);
		struct tm tm;
		char when[64];
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("started:      %s%s\n", when, s->attached ? " (the attach)" : "");
	}
	if (s->attached) {
		/* The process ran before the trace: say since when. */
		char ran[64] = "";
		if (s->attach_proc_start_ns && s->attach_proc_start_ns <= s->start_unix_ns) {
			char d[32];
			snprintf(ran, sizeof(ran), ", %s after the process started",
				 fmt_seconds(d, sizeof d,
					     (s->start_unix_ns - s->attach_proc_start_ns) / 1000u));
		}
		printf("attached:     the trace began at `heaptrail attach` to the running process%s;\n"
		       "              blocks allocated before are not in it (their frees are counted below)\n",
		       ran);
	}
	char t[32];
	printf("run time:     %s%s\n", fmt_seconds(t, sizeof t, s->end_time_us),
	       s->has_end ? "" : " (until the last event written)");
	printf("times:        to %" PRIu64 " us (%s)\n", s->time_resolution_us,
	       s->time_resolution_us >= ANALYSIS_WRITER_CYCLE_US ?
		       "recorded by a heaptrail that dated events by its writer's cycle" :
		       "each thread stamps its events when its clock moves on by that much");
	printf("events:       %" PRIu64 " allocation%s, %" PRIu64 " free%s, %" PRIu64
	       " realloc%s\n",
	       c->allocs, plural(c->allocs), c->frees, plural(c->frees),
	       c->reallocs, plural(c->reallocs));
	printf("by kind:     ");
	int any = 0;
	for (int k = 0; k < HT_KIND_COUNT; k++)
		if (c->alloc_kind[k]) {
			printf("%s %s %" PRIu64, any ? "," : "", kind_names[k],
			       c->alloc_kind[k]);
			any = 1;
		}
	printf("%s\n", any ? "" : " none");
	printf("allocated:    %s in total\n",
	       fmt_size(a, sizeof(a), (double)c->bytes_allocated, false));
	printf("stacks:       %zu distinct\n", nstacks);
	printf("threads:      %" PRIu64 "\n", s->threads);
	printf("peak heap:    %s in %" PRIu64 " blocks at %s\n",
	       fmt_size(a, sizeof(a), (double)c->peak_bytes, false),
	       c->peak_blocks, fmt_seconds(t, sizeof t, c->peak_time_us));
	printf("heap at end:  %s in %" PRIu64 " blocks%s\n",
	       fmt_size(a, sizeof(a), (double)c->heap_bytes, false),
	       c->heap_blocks, lk->teardown ? " (after the interpreter's finalization)" : "");
	/* A Python program's leak is what its own code left: at its
	 * teardown mark, as `leaks` and `check` take it (issue 18). */
	if (lk->teardown)
		printf("leaked:       %s in %" PRIu64 " block%s at teardown, %s (the program's own "
		       "code done, before the interpreter's finalization; see `heaptrail leaks`)\n",
		       fmt_size(a, sizeof(a), (double)lk->bytes, false), lk->blocks,
		       plural(lk->blocks), fmt_seconds(t, sizeof t, lk->teardown->time_us));
	else
		printf("leaked:       %s in %" PRIu64 " block%s (live at the end; see `heaptrail leaks`)\n",
		       fmt_size(a, sizeof(a), (double)lk->bytes, false), lk->blocks,
		       plural(lk->blocks));
	if (lk->startup_blocks)
		printf("              not counting <interpreter startup>: %s in %" PRIu64
		       " block%s still live there\n",
		       fmt_size(a, sizeof(a), (double)lk->startup_bytes, false),
		       lk->startup_blocks, plural(lk->startup_blocks));
	if (s->rss_max)
		printf("max RSS:      %s at %s\n",
		       fmt_size(a, sizeof(a), (double)s->rss_max, false),
		       fmt_seconds(t, sizeof t, s->rss_max_time_us));
	else
		printf("max RSS:      not sampled\n");
	if (s->recorder_peak)
		printf("recorder memory: peak %s mapped\n",
		       fmt_size(a, sizeof(a), (double)s->recorder_peak, false));
	else
		printf("recorder memory: not recorded (an older trace, or one cut short)\n");
	printf("snapshots:    %zu\n", s->nsnapshots);
	if (s->nsnapshots) {
		char sp[512];
		printf("heap marks:   %s (the marks and the peak; \u2588 = %s)\n",
		       sparkline_heap(sp, sizeof(sp), s, c->peak_bytes, c->peak_time_us, 60),
		       fmt_size(a, sizeof(a), (double)c->peak_bytes, false));
	}
	char why[400];
	printf("lost events:  %" PRIu64 "%s\n", s->lost_events, text_lost_why(why, sizeof why, s));
	if (s->aggregated)
		printf("temporary:    not recorded (--aggregate keeps no single events)\n");
	else
		printf("temporary:    %" PRIu64 " allocation%s (%s) freed before any other allocation (on any thread)\n",
		       c->temporary, plural(c->temporary),
		       fmt_size(b, sizeof(b), (double)c->temporary_bytes, false));
	/* In a fork child those addresses are, in all likelihood, blocks it
	 * inherited: allocated by the parent before fork, so not in this
	 * trace (issue 20.8). */
	const char *unknown = (s->proc_flags & HT_PROC_FOLLOWED_FORK) ?
				      "allocated before fork, in the parent" : "of unknown addresses";
	if (s->attached)
		/* Not anomalies: the blocks the process had when we came. */
		printf("pre-attach:   %" PRIu64 " frees and %" PRIu64
		       " reallocs of blocks allocated before the attach\n"
		       "anomalies:    %" PRIu64 " allocations on a live address\n",
		       c->unknown_frees, c->unknown_reallocs, c->double_allocs);
	else
		printf("anomalies:    %" PRIu64 " frees %s, %" PRIu64
		       " reallocs %s, %" PRIu64 " allocations on a live address\n",
		       c->unknown_frees, unknown, c->unknown_reallocs,
		       (s->proc_flags & HT_PROC_FOLLOWED_FORK) ? "of such blocks" : "of unknown addresses",
		       c->double_allocs);
	if (s->warnings)
		printf("warnings:     %" PRIu64 " from the recorder, last: %s\n",
		       s->warnings, s->last_warning ? s->last_warning : "");
	if (s->has_end && s->fatal_signal)
		printf("end:          the program died of %s at %s; every event before it was "
		       "written (SIGNAL and END records)\n",
		       signal_name(s->fatal_signal), fmt_seconds(t, sizeof t, s->end_time_us));
	else if (s->has_end && s->detached)
		printf("end:          clean: detached at %s (`heaptrail detach`); the process ran on\n",
		       fmt_seconds(t, sizeof t, s->detach_time_us));
	else
		printf("end:          %s\n",
		       s->has_end ? "clean (END record)" :
				    "TRUNCATED (no END record: the program or the recorder was killed, or the file was cut)");
	/* Every one-time notice shown for this trace (the exec'd one is at
	 * the top already): other commands print each only once. */
	const char *const *list;
	size_t n = notices_list(s->path, &list);
	char exec_note[1200] = "";
	if (s->images > 1)
		text_exec_note(exec_note, sizeof exec_note, s);
	for (size_t i = 0, k = 0; i < n; i++)
		if (strcmp(list[i], exec_note))
			printf("%s%s\n", k++ ? "              " : "notices:      ", list[i]);
}

int cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	opts_t o;
	opts_init(&o);
	if (opts_args("info", OPT_JSON | OPT_MULTI, NULL, NULL, argc, argv, &o, &path))
		return 2;
	if (o.ntraces) {
		int rc = multi_info(&o);
		opts_free(&o);
		return rc;
	}
	notices_always(true);
	analysis_t *an = run_file_indexed(path, NULL, 0, false);
	if (an && analysis_summary(an)->images > 1 && !analysis_summary(an)->nimage_list) {
		/* The index keeps only the final image: the list needs a replay. */
		analysis_free(an);
		an = run_file(path, NULL, 0);
	}
	if (!an)
		return 1;
	const analysis_summary_t *s = analysis_summary(an);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	size_t nstacks = stacks_count(analysis_stacks(an));
	analysis_leaked_t lk;
	analysis_leaked(an, false, &lk);
	if (o.json)
		print_json(s, c, nstacks, &lk);
	else
		print_text(s, c, nstacks, is_python(s, analysis_stacks(an)), &lk);
	analysis_free(an);
	return 0;
}
