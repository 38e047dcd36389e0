/* JSON writer and renderers: see json.h. */
#include "render/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/cxxname.h"
#include "render/report.h"

void json_init(json_t *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void json_pre(json_t *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->depth < 64) {
		if (j->need_comma[j->depth])
			fputc(',', j->out);
		j->need_comma[j->depth] = true;
	}
}

static void json_open(json_t *j, char c)
{
	json_pre(j);
	fputc(c, j->out);
	j->depth++;
	if (j->depth < 64)
		j->need_comma[j->depth] = false;
}

static void json_close(json_t *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->out);
}

void json_obj_begin(json_t *j)
{
	json_open(j, '{');
}

void json_obj_end(json_t *j)
{
	json_close(j, '}');
}

void json_arr_begin(json_t *j)
{
	json_open(j, '[');
}

void json_arr_end(json_t *j)
{
	json_close(j, ']');
}

static void json_raw_str(FILE *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', o);
	while (*p) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', o);
			fputc(c, o);
			p++;
		} else if (c < 0x20) {
			fprintf(o, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			fputc(c, o);
			p++;
		} else {
			/* Pass valid UTF-8 through; escape stray bytes as
			 * Latin-1 so the document stays valid. */
			int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
				(c & 0xf8) == 0xf0 ? 4 : 0;
			int ok = n > 0;
			for (int i = 1; ok && i < n; i++)
				ok = (p[i] & 0xc0) == 0x80;
			if (ok) {
				fwrite(p, 1, (size_t)n, o);
				p += n;
			} else {
				fprintf(o, "\\u%04x", c);
				p++;
			}
		}
	}
	fputc('"', o);
}

void json_key(json_t *j, const char *key)
{
	json_pre(j);
	json_raw_str(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

void json_str(json_t *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_pre(j);
	json_raw_str(j->out, s);
}

void json_u64(json_t *j, uint64_t v)
{
	json_pre(j);
	fprintf(j->out, "%" PRIu64, v);
}

void json_i64(json_t *j, int64_t v)
{
	json_pre(j);
	fprintf(j->out, "%" PRId64, v);
}

void json_double(json_t *j, double v)
{
	json_pre(j);
	/* The shortest form that reads back as the same double: exact,
	 * never %g's rounded 8.10947e+06. */
	if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0) {
		fprintf(j->out, "%.0f", v); /* integral: no exponent */
	} else if (isfinite(v)) {
		char buf[40];
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		fputs(buf, j->out);
	}
	else
		fputs("null", j->out);
}

void json_bool(json_t *j, bool v)
{
	json_pre(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(json_t *j)
{
	json_pre(j);
	fputs("null", j->out);
}

void json_finish(json_t *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}

void json_frame(json_t *j, const frames_t *f, const frame_t *fr)
{
	char a[64];
	json_obj_begin(j);
	json_key(j, "function");
	json_str(j, fr->function);
	/* A C++ name with template arguments: also the form text prints. */
	if (fr->function && (fr->module || fr->address) &&
	    strchr(fr->function, '<')) {
		size_t n = strlen(fr->function) + 1;
		char *sh = malloc(n);
		if (sh && cxxname_short(fr->function, sh, n) + 1 < n) {
			json_key(j, "function_short");
			json_str(j, sh);
		}
		free(sh);
	}
	json_key(j, "file");
	json_str(j, fr->file);
	json_key(j, "line");
	json_u64(j, fr->line);
	json_key(j, "module");
	json_str(j, report_frame_module(f, fr));
	json_key(j, "address");
	if (fr->address) {
		snprintf(a, sizeof(a), "0x%" PRIx64, fr->address);
		json_str(j, a);
	} else {
		json_null(j);
	}
	if (fr->marker == SYM_MARK_NATIVE_ONLY) {
		json_key(j, "native_only");
		json_bool(j, true);
	}
	json_obj_end(j);
}

void json_frames(json_t *j, const frames_t *f, const frame_t *fr, int n)
{
	const char *cut = NULL;
	json_key(j, "frames");
	json_arr_begin(j);
	for (int k = 0; k < n; k++) {
		if (fr[k].marker == SYM_MARK_CUT_DEPTH)
			cut = "depth";
		else if (fr[k].marker == SYM_MARK_CUT_RECORDER)
			cut = cut ? cut : "recorder";
		else
			json_frame(j, f, &fr[k]);
	}
	json_arr_end(j);
	/* Only on a cut stack: every other document stays as it was. */
	if (cut) {
		json_key(j, "cut");
		json_str(j, cut);
	}
}

void json_summary_fields(json_t *j, const analysis_summary_t *s)
{
	json_key(j, "trace");
	json_str(j, s->path);
	json_key(j, "truncated");
	json_bool(j, s->truncated);
	json_key(j, "lost_events");
	json_u64(j, s->lost_events);
}

void json_report_begin(json_t *j, FILE *out, const analysis_summary_t *s)
{
	json_init(j, out);
	json_obj_begin(j);
	json_summary_fields(j, s);
}

void json_report_end(json_t *j)
{
	json_obj_end(j);
	json_finish(j);
}

/* --- renderers ------------------------------------------------------------ */

void json_stats(json_t *j, const stat_set_t *s, size_t k, bool diff)
{
	json_arr_begin(j);
	for (size_t i = 0; i < k && i < s->n; i++) {
		const stat_row_t *r = &s->rows[i];
		json_obj_begin(j);
		json_key(j, "key");
		json_str(j, r->key);
		json_key(j, "bytes");
		json_u64(j, r->bytes);
		json_key(j, "count");
		json_u64(j, r->count);
		json_key(j, "average");
		json_double(j, r->count ? (double)r->bytes / (double)r->count : 0);
		if (diff) {
			json_key(j, "bytes_diff");
			json_i64(j, r->bytes_diff);
			json_key(j, "count_diff");
			json_i64(j, r->count_diff);
		}
		json_frames(j, NULL, r->frames, r->nframes);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* "frames" of stack s (none for SIDX_NONE or without display frames). */
static void stack_frames(json_t *j, frames_t *fs, sidx_t s)
{
	const frame_t *fr = NULL;
	int n = fs && s != SIDX_NONE ? frames_get(fs, s, &fr) : 0;
	json_frames(j, fs, fr, n);
}

void json_growth(json_t *j, const growth_result_t *res, frames_t *fs)
{
	json_key(j, "realloc_growth_steps");
	json_u64(j, res->steps - res->copy_steps);
	json_key(j, "copy_growth_steps");
	json_u64(j, res->copy_steps);
	json_key(j, "sort");
	json_str(j, res->sort == GROWTH_SORT_BYTES ? "bytes" : "steps");
	json_key(j, "chain_sites");
	json_u64(j, res->total);
	json_key(j, "chains");
	json_arr_begin(j);
	for (size_t i = 0; i < res->n; i++) {
		const growth_site_t *x = &res->sites[i];
		json_obj_begin(j);
		json_key(j, "site_chains");
		json_u64(j, x->chains);
		json_key(j, "site_steps");
		json_u64(j, x->steps);
		json_key(j, "site_moved");
		json_u64(j, x->moved);
		json_key(j, "site_copied_bytes");
		json_u64(j, x->copied_bytes);
		json_key(j, "nsteps");
		json_u64(j, x->nsteps);
		json_key(j, "initial_size");
		json_u64(j, x->initial_size);
		json_key(j, "final_size");
		json_u64(j, x->final_size);
		json_key(j, "copies");
		json_u64(j, x->copies);
		json_key(j, "weight");
		json_u64(j, x->weight);
		json_key(j, "end");
		json_str(j, growth_end_name(x->end));
		json_key(j, "steps_omitted");
		json_u64(j, x->omitted);
		json_key(j, "steps");
		json_arr_begin(j);
		for (size_t k = 0; k < x->nshown; k++) {
			const growth_step_t *st = &x->shown[k];
			json_obj_begin(j);
			json_key(j, "old_size");
			json_u64(j, st->old_size);
			json_key(j, "new_size");
			json_u64(j, st->new_size);
			json_key(j, "moved");
			json_bool(j, st->moved);
			json_key(j, "copy");
			json_bool(j, st->copy);
			json_key(j, "time_us");
			json_u64(j, st->time_us);
			json_obj_end(j);
		}
		json_arr_end(j);
		stack_frames(j, fs, x->stack);
		/* The last step's stack, when it is not the first's. */
		json_key(j, "last_step");
		if (x->last_stack != x->stack) {
			json_obj_begin(j);
			stack_frames(j, fs, x->last_stack);
			json_obj_end(j);
		} else {
			json_null(j);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

void json_highwater(json_t *j, const highwater_result_t *res, frames_t *fs)
{
	json_key(j, "peak_bytes");
	json_u64(j, res->peak);
	json_key(j, "peak_time_us");
	json_u64(j, res->peak_time_us);
	json_key(j, "highwater_percent");
	json_u64(j, res->percent);
	json_key(j, "highwater_min_bytes");
	json_u64(j, res->min_bytes);
	json_key(j, "highwater");
	json_arr_begin(j);
	for (size_t i = 0; i < res->nsteps; i++) {
		const highwater_grouped_t *g = &res->steps[i];
		const highwater_step_t *s = g->step;
		json_obj_begin(j);
		json_key(j, "from_bytes");
		json_u64(j, s->from_bytes);
		json_key(j, "to_bytes");
		json_u64(j, s->to_bytes);
		json_key(j, "from_time_us");
		json_u64(j, s->from_time_us);
		json_key(j, "time_us");
		json_u64(j, s->to_time_us);
		json_key(j, "peak");
		json_bool(j, s->is_peak);
		json_key(j, "sites");
		json_arr_begin(j);
		for (size_t w = 0; w < g->nsites; w++) {
			const highwater_site_t *x = &g->sites[w];
			const frame_t *fr = NULL;
			int nf;
			json_obj_begin(j);
			json_key(j, "bytes");
			json_i64(j, x->bytes);
			if (res->group) {
				json_key(j, "key");
				json_str(j, group_key(res->group, x->id));
				nf = group_frames(res->group, x->id, &fr);
			} else {
				nf = fs ? frames_get(fs, x->stack, &fr) : 0;
			}
			json_frames(j, fs, fr, nf);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_key(j, "others_bytes");
		json_i64(j, g->others);
		json_key(j, "others_sites");
		json_u64(j, g->nothers);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* A leak group's "key" and "frames". */
static void leak_group(json_t *j, const leaks_result_t *res, frames_t *fs,
		       uint32_t id)
{
	const frame_t *fr;
	int n = group_frames(res->group, id, &fr);
	json_key(j, "key");
	json_str(j, group_key(res->group, id));
	json_frames(j, fs, fr, n);
}

void json_leaks(json_t *j, const leaks_result_t *res, frames_t *fs)
{
	json_key(j, "by");
	json_str(j, report_by_name(res->by));
	json_key(j, "total_bytes");
	json_u64(j, res->total_bytes);
	json_key(j, "total_count");
	json_u64(j, res->total_count);
	json_key(j, "sites");
	json_u64(j, res->nsites);
	json_key(j, "stats");
	json_arr_begin(j);
	for (size_t i = 0; i < res->nstats; i++) {
		const leak_stat_t *s = &res->stats[i];
		json_obj_begin(j);
		json_key(j, "bytes");
		json_u64(j, s->bytes);
		json_key(j, "count");
		json_u64(j, s->count);
		leak_group(j, res, fs, s->group);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "points");
	json_arr_begin(j);
	for (size_t i = 0; i < res->npoints_all; i++) {
		const leaks_point_t *p = &res->points[i];
		json_obj_begin(j);
		json_key(j, "label");
		json_str(j, p->origin == LEAKS_POINT_END ? "end" : p->label);
		json_key(j, "time_us");
		json_u64(j, p->time_us);
		json_key(j, "heap_bytes");
		json_u64(j, p->heap_bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "series_points");
	json_u64(j, res->npoints);
	json_key(j, "end");
	json_str(j, res->at_teardown ? "teardown" : "end");
	json_key(j, "exit_after_teardown");
	json_bool(j, res->teardown);
	json_key(j, "candidate_min_growth");
	json_u64(j, res->min_growth);
	json_key(j, "candidates_available");
	json_bool(j, res->npoints >= 3);
	json_key(j, "candidates");
	json_arr_begin(j);
	for (size_t i = 0; i < res->ncands; i++) {
		const leak_cand_t *c = &res->cands[i];
		json_obj_begin(j);
		json_key(j, "growth");
		json_u64(j, c->growth);
		json_key(j, "grew_intervals");
		json_u64(j, c->grew);
		json_key(j, "intervals");
		json_u64(j, c->intervals);
		json_key(j, "window_start");
		json_u64(j, c->start);
		json_key(j, "series");
		json_arr_begin(j);
		for (size_t p = 0; p < res->npoints; p++)
			json_u64(j, c->series[p]);
		json_arr_end(j);
		leak_group(j, res, fs, c->group);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* "NAME": {"total_bytes", "total_count", "groups", "stats"}. */
static void report_stats(json_t *j, const char *name, const stat_set_t *s,
			 size_t k)
{
	json_key(j, name);
	json_obj_begin(j);
	json_key(j, "total_bytes");
	json_u64(j, s->total_bytes);
	json_key(j, "total_count");
	json_u64(j, s->total_count);
	json_key(j, "groups");
	json_u64(j, s->n);
	json_key(j, "stats");
	json_stats(j, s, k, false);
	json_obj_end(j);
}

void json_report(json_t *j, const overview_result_t *r, frames_t *fs,
		 report_by_t by)
{
	const analysis_summary_t *s = r->sum;
	const heap_counters_t *c = &r->counters;
	json_key(j, "by");
	json_str(j, report_by_name(by));
	json_key(j, "run");
	json_obj_begin(j);
	json_key(j, "program");
	json_str(j, s->exe);
	json_key(j, "duration_us");
	json_u64(j, s->end_time_us);
	json_key(j, "events");
	json_u64(j, c->allocs + c->frees + c->reallocs);
	json_key(j, "allocations");
	json_u64(j, c->allocs);
	json_key(j, "frees");
	json_u64(j, c->frees);
	json_key(j, "reallocs");
	json_u64(j, c->reallocs);
	json_key(j, "peak_bytes");
	json_u64(j, r->peak_bytes);
	json_key(j, "peak_blocks");
	json_u64(j, r->peak_blocks);
	json_key(j, "peak_time_us");
	json_u64(j, r->peak_time_us);
	json_key(j, "end_bytes");
	json_u64(j, c->heap_bytes);
	json_key(j, "end_blocks");
	json_u64(j, c->heap_blocks);
	/* as `info` and `check` count it (analysis_leaked) */
	json_key(j, "leaked_bytes");
	json_u64(j, r->leaked.bytes);
	json_key(j, "leaked_blocks");
	json_u64(j, r->leaked.blocks);
	json_key(j, "leaked_at");
	json_str(j, r->leaked.teardown ? "teardown" : "end");
	json_key(j, "max_rss");
	json_u64(j, s->rss_max);
	json_key(j, "max_rss_time_us");
	json_u64(j, s->rss_max_time_us);
	json_key(j, "recorder_memory_peak");
	if (s->recorder_peak)
		json_u64(j, s->recorder_peak);
	else
		json_null(j);
	json_key(j, "clean_end");
	json_bool(j, s->has_end && !s->fatal_signal);
	json_key(j, "fatal_signal");
	if (s->fatal_signal > 0)
		json_u64(j, (uint64_t)s->fatal_signal);
	else
		json_null(j);
	json_obj_end(j);
	report_stats(j, "peak", &r->peak, r->npeak);
	json_key(j, "leaks");
	json_obj_begin(j);
	json_leaks(j, &r->leaks, fs);
	json_obj_end(j);
	json_key(j, "growth");
	json_obj_begin(j);
	json_growth(j, &r->growth, fs);
	json_obj_end(j);
	report_stats(j, "calls", &r->calls, r->ncalls);
	report_stats(j, "temporary", &r->temp, r->ntemp);
}
