/* Text renderer: see text.h. */
#include "render/text.h"

#include "agg/leakrule.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "read/notices.h"
#include "render/fmt.h"
#include "render/report.h"

void text_notes(FILE *out, const analysis_summary_t *s)
{
	if (s->truncated)
		fprintf(out,
			"warning: %s is truncated (no END record): the recording was cut short; figures cover the events that were written\n",
			s->path);
	if (s->lost_events) {
		char why[400];
		fprintf(out,
			"warning: %" PRIu64 " events were lost by the recorder%s; figures undercount\n",
			s->lost_events, text_lost_why(why, sizeof why, s));
	}
	char note[1200];
	if (s->images > 1) {
		text_exec_note(note, sizeof note, s);
		if (notices_show(s->path, note))
			fprintf(out, "note: %s\n", note);
	}
}

char *text_lost_why(char *buf, size_t len, const analysis_summary_t *s)
{
	size_t n = 0;
	buf[0] = 0;
	if (s->lost_own_alloc)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRIu64 " of them: malloc-family calls "
				      "not recorded, the program has an allocator of its own",
				      n ? "; " : " (", s->lost_own_alloc);
	if (s->lost_signal && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRIu64 " of them: allocations in signal "
				      "handlers that interrupted the recorder",
				      n ? "; " : " (", s->lost_signal);
	if (n && n + 2 < len)
		snprintf(buf + n, len - n, ")");
	return buf;
}

char *text_exec_note(char *buf, size_t len, const analysis_summary_t *s)
{
	if (s->image_chosen)
		snprintf(buf, len, "the program exec'd (%u images); this report covers image %u (%s), chosen by --image",
			 s->images, s->image, s->exe);
	else
		snprintf(buf, len, "the program exec'd (%u images); this report covers the final image (%s); "
			 "`heaptrail info` lists them, --image N reports another",
			 s->images, s->exe);
	return buf;
}

/* --- stats (top, diff) ---------------------------------------------------- */

static void stat_row(FILE *out, const stat_row_t *r, bool diff, report_by_t by,
		     uint64_t per)
{
	char a[32], b[32], c[32], line[1024];
	const char *key = r->key;
	/* A traceback key spans lines: the heading names the innermost
	 * frame, the frames follow. */
	if (by == BY_TRACEBACK && r->nframes > 0)
		key = report_frame_key(line, sizeof(line), NULL, &r->frames[0],
				       BY_LINENO);
	if (diff)
		fprintf(out, "%s: size=%s (%s), count=%" PRIu64 " (%+" PRId64 ")",
			key, fmt_size(a, sizeof(a), (double)r->bytes, false),
			fmt_size(b, sizeof(b), (double)r->bytes_diff, true),
			r->count, r->count_diff);
	else
		fprintf(out, "%s: size=%s, count=%" PRIu64, key,
			fmt_size(a, sizeof(a), (double)r->bytes, false),
			r->count);
	if (r->count)
		fprintf(out, ", average=%s",
			fmt_size(c, sizeof(c),
				 (double)r->bytes / (double)r->count, false));
	if (per)
		fprintf(out, ", per %" PRIu64 "=%s", per,
			fmt_size(c, sizeof(c), (double)r->bytes / (double)per,
				 false));
	fputc('\n', out);
	if (by == BY_TRACEBACK)
		for (int i = 0; i < r->nframes; i++)
			fprintf(out, "    %s\n",
				report_frame_line(line, sizeof(line), NULL,
						  &r->frames[i]));
}

void text_stats(FILE *out, const stat_set_t *s, size_t k, bool diff,
		report_by_t by)
{
	text_stats_per(out, s, k, diff, by, 0);
}

void text_stats_per(FILE *out, const stat_set_t *s, size_t k, bool diff,
		    report_by_t by, uint64_t per)
{
	for (size_t i = 0; i < k && i < s->n; i++)
		stat_row(out, &s->rows[i], diff, by, per);
}

/* --- frames ---------------------------------------------------------------- */

void text_frames(FILE *out, frames_t *fs, sidx_t s, int max)
{
	const frame_t *fr = NULL;
	int n = fs && s != SIDX_NONE ? frames_get(fs, s, &fr) : 0;
	char line[1024];
	if (n <= 0) {
		fprintf(out, "    <no frames>\n");
		return;
	}
	for (int k = 0; k < n && (!max || k < max); k++)
		fprintf(out, "    %s\n",
			report_frame_line(line, sizeof line, fs, &fr[k]));
	if (max && n > max)
		fprintf(out, "    ... %d more frames\n", n - max);
}

/* --- growth: realloc chains ---------------------------------------------- */

/* The innermost frame of stack st as file:line (or its function). */
static const char *step_line(char *buf, size_t len, frames_t *fs, sidx_t st)
{
	const frame_t *fr = NULL;
	int n = fs && st != SIDX_NONE ? frames_get(fs, st, &fr) : 0;
	if (n <= 0)
		snprintf(buf, len, "<no stack>");
	else
		report_frame_key(buf, len, fs, &fr[0], BY_LINENO);
	return buf;
}

static const char *step_how(const growth_step_t *st)
{
	if (st->copy)
		return "copied  ";
	return st->moved ? "moved   " : "in place";
}

void text_growth(FILE *out, const growth_result_t *res, frames_t *fs)
{
	char a[32], b[32], c[32], t[32], l1[512], l2[512];
	uint64_t steps = res->steps, chains = res->chains,
		 copies = res->copy_steps;
	size_t total = res->total;
	fprintf(out, "Growth chains: %llu step%s (%llu realloc%s, %llu cop%s "
		     "into a larger block) grew %llu block%s; %zu call site%s "
		     "grew a block %d or more times; by %s\n",
		(unsigned long long)steps, steps == 1 ? "" : "s",
		(unsigned long long)(steps - copies),
		steps - copies == 1 ? "" : "s", (unsigned long long)copies,
		copies == 1 ? "y" : "ies", (unsigned long long)chains,
		chains == 1 ? "" : "s", total, total == 1 ? "" : "s",
		GROWTH_MIN_STEPS,
		res->sort == GROWTH_SORT_BYTES ? "bytes (final size x copies)"
					       : "steps");
	uint64_t want = res->text_steps;
	uint64_t head = (want + 1) / 2, tail = want / 2;
	for (size_t i = 0; i < res->n; i++) {
		const growth_site_t *x = &res->sites[i];
		fprintf(out, "#%zu: %llu chain%s, %llu steps (%llu moved, %s "
			     "copied); its chain: %llu steps, %s -> %s, %s\n",
			i + 1, (unsigned long long)x->chains,
			x->chains == 1 ? "" : "s",
			(unsigned long long)x->steps,
			(unsigned long long)x->moved,
			fmt_size(a, sizeof a, (double)x->copied_bytes, false),
			(unsigned long long)x->nsteps,
			fmt_size(b, sizeof b, (double)x->initial_size, false),
			fmt_size(c, sizeof c, (double)x->final_size, false),
			growth_end_name(x->end));
		fprintf(out, "    first step at %s, last step at %s\n",
			step_line(l1, sizeof l1, fs, x->stack),
			step_line(l2, sizeof l2, fs, x->last_stack));
		text_frames(out, fs, x->stack, 0);
		/* Text shows `want` steps, half from each end (0 = all; JSON
		 * has every kept one). */
		bool all = !want || x->nsteps <= want;
		int said = 0;
		for (size_t k = 0; k < x->nshown; k++) {
			const growth_step_t *st = &x->shown[k];
			uint64_t idx = x->omitted && k >= x->omitted_after
					       ? k + x->omitted
					       : k;
			if (!all && idx >= head && idx + tail < x->nsteps) {
				if (!said)
					fprintf(out, "      ... %llu steps ...\n",
						(unsigned long long)(x->nsteps -
								     head - tail));
				said = 1;
				continue;
			}
			if (all && x->omitted && k == x->omitted_after)
				fprintf(out, "      ... %llu steps not kept ...\n",
					(unsigned long long)x->omitted);
			fmt_seconds(t, sizeof t, st->time_us);
			fprintf(out, "      %s -> %s %s at %s\n",
				fmt_size(a, sizeof a, (double)st->old_size, false),
				fmt_size(b, sizeof b, (double)st->new_size, false),
				step_how(st), t);
		}
	}
	if (res->n)
		fprintf(out, "\n");
}

/* --- growth: high-water steps -------------------------------------------- */

/* "func at file:42 (mod) <- file.c:7": the innermost frame and where it
 * was called from. */
static void site_line(char *buf, size_t len, frames_t *fs, sidx_t s)
{
	const frame_t *fr = NULL;
	int n = fs ? frames_get(fs, s, &fr) : 0;
	if (n <= 0) {
		snprintf(buf, len, "<no frames>");
		return;
	}
	char one[512], key[512] = "";
	report_frame_line(one, sizeof one, fs, &fr[0]);
	if (n > 1)
		report_frame_key(key, sizeof key, fs, &fr[1], BY_LINENO);
	snprintf(buf, len, "%s%s%s", one, n > 1 ? " <- " : "", key);
}

static void hw_site(char *buf, size_t len, const highwater_result_t *res,
		    frames_t *fs, const highwater_site_t *w)
{
	if (res->group && res->by != BY_TRACEBACK)
		snprintf(buf, len, "%s", group_key(res->group, w->id));
	else
		site_line(buf, len, fs, w->stack);
}

void text_highwater(FILE *out, const highwater_result_t *res, frames_t *fs)
{
	char a[32], b[32], c[32], t[32], line[2048];
	size_t first = res->first;
	fmt_seconds(t, sizeof t, res->peak_time_us);
	fprintf(out, "High-water steps: peak %s at %s; a step closes when the "
		     "heap exceeds the previous mark by >= %u%% and >= %s\n",
		fmt_size(a, sizeof a, (double)res->peak, false), t,
		res->percent,
		fmt_size(b, sizeof b, (double)res->min_bytes, false));
	if (first)
		fprintf(out, "(%zu earlier step%s not shown; -n 0 shows all)\n",
			first, first == 1 ? "" : "s");
	for (size_t i = 0; i < res->nsteps; i++) {
		const highwater_grouped_t *g = &res->steps[i];
		const highwater_step_t *s = g->step;
		fmt_seconds(t, sizeof t, s->to_time_us);
		fprintf(out, "#%zu: %s -> %s at %s (%s)%s\n", first + i + 1,
			fmt_size(a, sizeof a, (double)s->from_bytes, false),
			fmt_size(b, sizeof b, (double)s->to_bytes, false), t,
			fmt_size(c, sizeof c,
				 (double)(s->to_bytes - s->from_bytes), true),
			s->is_peak ? " peak" : "");
		for (size_t w = 0; w < g->nsites; w++) {
			hw_site(line, sizeof line, res, fs, &g->sites[w]);
			fprintf(out, "    %10s  %s\n",
				fmt_size(a, sizeof a, (double)g->sites[w].bytes,
					 true),
				line);
		}
		if (g->nothers)
			fprintf(out, "    %10s  %zu other site%s\n",
				fmt_size(a, sizeof a, (double)g->others, true),
				g->nothers, g->nothers == 1 ? "" : "s");
	}
}

/* --- leaks --------------------------------------------------------------- */

/* Header key of a group: its key, or the innermost frame's file:line for
 * a traceback grouping (the traceback follows, indented). */
static void leak_key(char *buf, size_t len, const leaks_result_t *res,
		     frames_t *fs, uint32_t id)
{
	const frame_t *fr;
	int n = group_frames(res->group, id, &fr);
	if (res->by != BY_TRACEBACK)
		snprintf(buf, len, "%s", group_key(res->group, id));
	else if (n <= 0)
		snprintf(buf, len, "<no stack>");
	else
		report_frame_key(buf, len, fs, &fr[0], BY_LINENO);
}

static void leak_traceback(FILE *out, const leaks_result_t *res,
			   frames_t *fs, uint32_t id)
{
	const frame_t *fr;
	int n = group_frames(res->group, id, &fr);
	char line[1024];
	for (int k = 0; k < n; k++)
		fprintf(out, "    %s\n",
			report_frame_line(line, sizeof line, fs, &fr[k]));
}

/* A point's name in series: its label when no other point has it, else
 * its time ("@0.300s"); "end" for the end point. */
static const char *point_name(char *buf, size_t len, const leaks_point_t *pts,
			      size_t np, size_t i)
{
	const leaks_point_t *p = &pts[i];
	int unique = p->label && *p->label;
	for (size_t k = 0; unique && k < np; k++)
		if (k != i && pts[k].label && !strcmp(pts[k].label, p->label))
			unique = 0;
	if (p->origin == LEAKS_POINT_END)
		snprintf(buf, len, "end");
	else if (unique)
		snprintf(buf, len, "%s", p->label);
	else
	{
		char t[32];
		snprintf(buf, len, "@%s", fmt_seconds(t, sizeof t, p->time_us));
	}
	return buf;
}

void text_leaks(FILE *out, const leaks_result_t *res, frames_t *fs)
{
	char a[32], b[32], key[1024];
	fprintf(out, "Live at %s: %s in %llu blocks from %zu "
		     "call sites (by %s)\n",
		res->at_teardown ? "teardown (the program's own code done, "
				   "before the interpreter's finalization)"
				 : "the end of the trace",
		fmt_size(a, sizeof a, (double)res->total_bytes, false),
		(unsigned long long)res->total_count, res->nsites,
		report_by_name(res->by));
	if (res->nstats < res->nsites)
		fprintf(out, "Top %zu:\n", res->nstats);
	for (size_t i = 0; i < res->nstats; i++) {
		const leak_stat_t *s = &res->stats[i];
		leak_key(key, sizeof key, res, fs, s->group);
		fprintf(out, "#%zu: %s: size=%s, count=%llu, average=%s\n",
			i + 1, key, fmt_size(a, sizeof a, (double)s->bytes, false),
			(unsigned long long)s->count,
			fmt_size(b, sizeof b,
				 s->count ? (double)s->bytes / (double)s->count
					  : 0,
				 false));
		if (res->by == BY_TRACEBACK)
			leak_traceback(out, res, fs, s->group);
	}
	fprintf(out, "\n");
	text_leak_candidates(out, res, fs);
}

/* Which end a Python program's leaks are read at (nothing for others). */
static void leaks_end_note(FILE *out, const leaks_result_t *res)
{
	if (res->at_teardown)
		fprintf(out, "Note: Python program: the end is its teardown mark "
			     "(atexit, before finalization); --at end for the "
			     "heap after finalization\n");
	else if (res->has_teardown)
		fprintf(out, "Note: Python program: the end is after the "
			     "interpreter's finalization (--at end); --at "
			     "teardown for the program's own end\n");
	else if (res->python)
		fprintf(out, "Note: Python program without a teardown mark (it "
			     "left through os._exit, a fatal signal or exec): "
			     "the end is the end of the trace\n");
}

void text_leak_candidates(FILE *out, const leaks_result_t *res, frames_t *fs)
{
	char a[32], b[32], c[32], key[1024];
	const leaks_point_t *pts = res->points;
	size_t np = res->npoints_all;
	leaks_end_note(out, res);
	if (res->teardown)
		fprintf(out, "Note: the exit snapshot (%s) came after the program "
			     "freed most of its heap (%s before): it is left "
			     "out of the series\n",
			fmt_size(a, sizeof a, (double)pts[np - 1].heap_bytes,
				 false),
			fmt_size(b, sizeof b, (double)pts[np - 2].heap_bytes,
				 false));
	if (res->npoints < 3) {
		fprintf(out, "Leak candidates: need at least 3 snapshots "
			     "(the exit one included), the trace has %zu "
			     "point%s; record with --snapshot-every or call "
			     "heaptrail_snapshot()\n",
			res->npoints, res->npoints == 1 ? "" : "s");
		return;
	}
	fprintf(out, "Leak candidates: call sites whose live memory never fell "
		     "(by more than %d%%), grew in at least half of the %zu "
		     "intervals between %zu points and grew by >= %s: %zu\n",
		LEAKRULE_FALL_PCT, res->npoints - 1, res->npoints,
		fmt_size(a, sizeof a, (double)res->min_growth, false),
		res->ncands_total);
	for (size_t i = 0; i < res->ncands; i++) {
		const leak_cand_t *x = &res->cands[i];
		leak_key(key, sizeof key, res, fs, x->group);
		fprintf(out, "#%zu: %s: %s (%s -> %s), grew in %u of %u "
			     "intervals\n", i + 1, key,
			fmt_size(a, sizeof a, (double)x->growth, true),
			fmt_size(b, sizeof b, (double)x->series[0], false),
			fmt_size(c, sizeof c,
				 (double)x->series[res->npoints - 1], false),
			x->grew, x->intervals);
		fprintf(out, "    series:");
		for (size_t p = 0; p < res->npoints; p++) {
			char name[300];
			fprintf(out, "%s %s=%s", p ? "," : "",
				point_name(name, sizeof name, pts, np, p),
				fmt_size(a, sizeof a, (double)x->series[p],
					 false));
		}
		fprintf(out, "\n");
		if (res->by == BY_TRACEBACK)
			leak_traceback(out, res, fs, x->group);
	}
}

/* --- report -------------------------------------------------------------- */

/* How the run ended, in a few words. */
static void run_end(char *buf, size_t len, const analysis_summary_t *s)
{
	const char *abbrev = s->fatal_signal > 0 ? sigabbrev_np(s->fatal_signal) : NULL;
	if (s->fatal_signal)
		snprintf(buf, len, "died of SIG%s", abbrev ? abbrev : "?");
	else if (s->has_end)
		snprintf(buf, len, "ended cleanly");
	else
		snprintf(buf, len, "TRUNCATED (no END record)");
}

void text_report(FILE *out, const overview_result_t *r, frames_t *fs,
		 report_by_t by)
{
	const analysis_summary_t *s = r->sum;
	const heap_counters_t *c = &r->counters;
	char a[32], b[32], t[32], u[32], end[64];
	const char *path = s->path;
	text_notes(out, s);
	run_end(end, sizeof end, s);
	fprintf(out, "Run: %s, %s, %" PRIu64 " events (%" PRIu64
		     " allocations, %" PRIu64 " frees, %" PRIu64
		     " reallocs), %" PRIu64 " lost, %s\n",
		s->exe[0] ? s->exe : "(unknown program)",
		fmt_seconds(t, sizeof t, s->end_time_us),
		c->allocs + c->frees + c->reallocs, c->allocs, c->frees,
		c->reallocs, s->lost_events, end);
	fprintf(out, "     peak heap %s in %" PRIu64 " blocks at %s; ",
		fmt_size(a, sizeof a, (double)r->peak_bytes, false),
		r->peak_blocks, fmt_seconds(t, sizeof t, r->peak_time_us));
	/* A Python program's leak at its teardown mark, as `info` and
	 * `check` count it; the heap after finalization stays in view. */
	if (r->leaked.teardown)
		fprintf(out, "%s leaked at teardown (%s live after finalization); ",
			fmt_size(a, sizeof a, (double)r->leaked.bytes, false),
			fmt_size(b, sizeof b, (double)c->heap_bytes, false));
	else
		fprintf(out, "%s live at the end; ",
			fmt_size(b, sizeof b, (double)c->heap_bytes, false));
	if (s->rss_max)
		fprintf(out, "max RSS %s at %s\n",
			fmt_size(a, sizeof a, (double)s->rss_max, false),
			fmt_seconds(u, sizeof u, s->rss_max_time_us));
	else
		fprintf(out, "max RSS not sampled\n");

	fprintf(out, "\nWhat built the peak: %s in %" PRIu64 " blocks by %s, top %zu of %zu"
		     " (more: heaptrail top %s --at peak)\n",
		fmt_size(a, sizeof a, (double)r->peak.total_bytes, false),
		r->peak.total_count, report_by_name(by), r->npeak, r->peak.n,
		path);
	text_stats(out, &r->peak, r->npeak, false, by);

	fprintf(out, "\n");
	text_leak_candidates(out, &r->leaks, fs);
	fprintf(out, "(more: heaptrail leaks %s)\n", path);

	fprintf(out, "\n");
	if (s->aggregated) {
		fprintf(out, "Growth chains: not in this trace (recorded with --aggregate: no single "
			     "events; record without it for growth)\n");
	} else {
		text_growth(out, &r->growth, fs);
		fprintf(out, "(more: heaptrail growth %s --steps all)\n", path);
	}

	fprintf(out, "\nMost calls: %" PRIu64 " allocations (%s) by %s, top %zu of %zu;"
		     " size is the bytes allocated in total"
		     " (more: heaptrail report %s -n 0)\n",
		r->calls.total_count,
		fmt_size(a, sizeof a, (double)r->calls.total_bytes, false),
		report_by_name(by), r->ncalls, r->calls.n, path);
	text_stats(out, &r->calls, r->ncalls, false, by);

	if (s->aggregated) {
		fprintf(out, "\nTemporary allocations: not in this trace (recorded with --aggregate: "
			     "no single events; record without it for --temporary)\n");
		return;
	}
	fprintf(out, "\nTemporary allocations (freed before any other allocation): %" PRIu64
		     " (%s) by %s, top %zu of %zu (more: heaptrail top %s --temporary)\n",
		r->temp.total_count,
		fmt_size(a, sizeof a, (double)r->temp.total_bytes, false),
		report_by_name(by), r->ntemp, r->temp.n, path);
	text_stats(out, &r->temp, r->ntemp, false, by);
}
