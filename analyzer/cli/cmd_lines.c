/* `heaptrail lines`: see cmd_lines.h.  One or two point aggregators (as
 * `top --at` / `diff`), the whole run's allocation and free totals from
 * the heap model, summed by the line of each stack's key frame
 * (frames_key: the innermost Python frame, else the innermost frame) when
 * that frame is in FILE.  Frees count at the line that freed (their free
 * site stack, HT_REC_FREESITE), so the increment of a line is what it
 * allocated minus what it freed, as memory_profiler shows. */
#include "cli/cmd_lines.h"

#include "cli/args.h"
#include "cli/run.h"
#include "render/fmt.h"
#include "render/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/point.h"
#include "cli/opts.h"
#include "model/analysis.h"
#include "render/report.h"

typedef struct line_row {
	uint64_t live_bytes, live_count; /* at the point (--at, or --to) */
	int64_t inc_bytes; /* allocated minus freed here: start (or --from)
			    * to the point (or --to) */
	uint64_t alloc_bytes, alloc_count; /* over the whole run */
	uint64_t freed_bytes, freed_count; /* freed by this line, whole run */
	bool any; /* some stack keys to this line */
} line_row_t;

/* FILE matches a frame's file when equal, or when one is a path suffix
 * of the other at a '/' (traces hold the paths the compiler saw). */
static bool file_match(const char *want, const char *have)
{
	if (!have)
		return false;
	size_t a = strlen(want), b = strlen(have);
	if (a == b)
		return strcmp(want, have) == 0;
	const char *lng = a > b ? want : have, *sht = a > b ? have : want;
	size_t d = a > b ? a - b : b - a;
	return strcmp(lng + d, sht) == 0 && lng[d - 1] == '/';
}

/* A snapshot from the index has no per-stack net (point_net): the
 * points replay, except the end and the peak, which the heap model's
 * totals give (restored from the index, or after a replay). */
static int run_points(const char *path, point_t **pts, int np, analysis_t **out)
{
	agg_t *aggs[2];
	bool plain = true;
	for (int i = 0; i < np; i++) {
		aggs[i] = point_agg(pts[i]);
		if (point_index_need(pts[i]) != POINT_INDEX_PLAIN)
			plain = false;
	}
	*out = plain ? run_file_indexed(path, NULL, 0, false) : run_file(path, aggs, (size_t)np);
	return *out ? 0 : -1;
}

int cmd_lines(int argc, char **argv)
{
	const char *path = NULL, *file = NULL, *func = NULL, *at = NULL, *from = NULL,
		   *to = NULL, *val;
	opts_t o;
	opts_init(&o);
	for (int i = 1; i < argc; i++) {
		int m;
		if ((m = opts_parse("lines", OPT_JSON | OPT_NO_SYMBOLS | OPT_FRAMES, argc, argv, &i, &o))) {
			if (m < 0)
				return 2;
		} else if ((m = args_opt("lines", argc, argv, &i, "--function", &val))) {
			if (m < 0)
				return 2;
			func = val;
		} else if ((m = args_opt("lines", argc, argv, &i, "--at", &val))) {
			if (m < 0)
				return 2;
			at = val;
		} else if ((m = args_opt("lines", argc, argv, &i, "--from", &val))) {
			if (m < 0)
				return 2;
			from = val;
		} else if ((m = args_opt("lines", argc, argv, &i, "--to", &val))) {
			if (m < 0)
				return 2;
			to = val;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return args_usage_error("lines", "unknown option '%s'", argv[i]);
		} else if (!path) {
			path = argv[i];
		} else if (!file) {
			file = argv[i];
		} else {
			return args_usage_error("lines", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!path || !file)
		return args_usage_error("lines", "usage: lines TRACE FILE");
	if (analysis_refuse_aggregated(path, "per-line frees (lines)"))
		return 2;
	if (at && (from || to))
		return args_usage_error("lines", "--at excludes --from/--to");
	if (to && !from)
		return args_usage_error("lines", "--to needs --from");
	point_spec_t spec[2];
	point_t *pts[2] = { NULL, NULL };
	int np = from ? 2 : 1, rc = 1;
	args_parse_point(from ? to ? to : "end" : at ? at : "end", &spec[0]);
	if (from)
		args_parse_point(from, &spec[1]);
	line_row_t *rows = NULL;
	size_t nrows = 0;
	analysis_t *an = NULL;
	char err[512];
	for (int i = 0; i < np; i++)
		if (!(pts[i] = point_new(&spec[i]))) {
			fprintf(stderr, "heaptrail: out of memory\n");
			goto done;
		}
	if (run_points(path, pts, np, &an) < 0)
		goto done;
	const uint64_t *b[2], *c[2];
	const int64_t *net[2] = { NULL, NULL };
	size_t n[2];
	for (int i = 0; i < np; i++) {
		if (run_point_result(pts[i], an, &b[i], &c[i], &n[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "heaptrail: %s\n", err);
			goto done;
		}
		net[i] = point_net(pts[i]);
	}
	size_t nst;
	const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &nst);
	frames_t *f = analysis_frames(an, o.fmode, o.raw);
	if (!f) {
		fprintf(stderr, "heaptrail: out of memory\n");
		goto done;
	}
	const char *srcpath = NULL; /* the frame's path, for the source text */
	for (size_t i = 0; i < nst; i++) {
		frame_t fr;
		if (frames_key(f, (sidx_t)i, &fr) <= 0 || !file_match(file, fr.file) || !fr.line)
			continue;
		if (func && (!fr.function || strcmp(fr.function, func) != 0))
			continue;
		if (fr.line >= nrows) {
			size_t cap = fr.line + 64;
			line_row_t *r = realloc(rows, cap * sizeof(*r));
			if (!r) {
				fprintf(stderr, "heaptrail: out of memory\n");
				goto done;
			}
			memset(r + nrows, 0, (cap - nrows) * sizeof(*r));
			rows = r;
			nrows = cap;
		}
		line_row_t *r = &rows[fr.line];
		srcpath = fr.file;
		r->any = true;
		r->alloc_bytes += st[i].alloc_bytes;
		r->alloc_count += st[i].alloc_count;
		r->freed_bytes += st[i].freed_bytes;
		r->freed_count += st[i].freed_count;
		r->live_bytes += i < n[0] ? b[0][i] : 0;
		r->live_count += i < n[0] ? c[0][i] : 0;
		r->inc_bytes += (i < n[0] && net[0] ? net[0][i] : 0) -
				(np == 2 && i < n[1] && net[1] ? net[1][i] : 0);
	}
	if (!srcpath) {
		fprintf(stderr, "heaptrail lines: %s: no allocation in %s%s%s (see `heaptrail top --by filename %s`)\n",
			path, file, func ? " in function " : "", func ? func : "", path);
		goto done;
	}
	size_t lo = 1, hi = nrows ? nrows - 1 : 0;
	if (func) { /* only the span of the function's lines */
		while (lo < nrows && !rows[lo].any)
			lo++;
		while (hi > lo && !rows[hi].any)
			hi--;
	}
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, analysis_summary(an));
		json_key(&j, "file");
		json_str(&j, srcpath);
		json_key(&j, "point");
		json_str(&j, point_describe(pts[0]));
		json_key(&j, "from");
		if (np == 2)
			json_str(&j, point_describe(pts[1]));
		else
			json_str(&j, "start");
		json_key(&j, "lines");
		json_arr_begin(&j);
		for (size_t ln = 1; ln < nrows; ln++) {
			const line_row_t *r = &rows[ln];
			if (!r->any || ln < lo || ln > hi)
				continue;
			json_obj_begin(&j);
			json_key(&j, "line");
			json_u64(&j, ln);
			json_key(&j, "live_bytes");
			json_u64(&j, r->live_bytes);
			json_key(&j, "live_count");
			json_u64(&j, r->live_count);
			json_key(&j, "increment");
			json_i64(&j, r->inc_bytes);
			json_key(&j, "alloc_bytes");
			json_u64(&j, r->alloc_bytes);
			json_key(&j, "alloc_count");
			json_u64(&j, r->alloc_count);
			json_key(&j, "freed_bytes");
			json_u64(&j, r->freed_bytes);
			json_key(&j, "freed_count");
			json_u64(&j, r->freed_count);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_report_end(&j);
		analysis_print_warnings(an);
		rc = 0;
		goto done;
	}
	/* The source: FILE as given, else the path in the debug info. */
	FILE *src = fopen(file, "r");
	if (!src)
		src = fopen(srcpath, "r");
	char sa[32], sb[32], sc[32], sd[32], *text = NULL;
	size_t tlen = 0;
	printf("File: %s\n", srcpath);
	if (np == 1)
		printf("Live at: %s; increment: start -> %s\n", point_describe(pts[0]),
		       point_describe(pts[0]));
	else
		printf("Increment: %s -> %s\n", point_describe(pts[1]), point_describe(pts[0]));
	printf("%6s %12s %8s %12s %12s %8s %12s %8s  %s\n", "Line", "Live", "Blocks",
	       "Increment", "Allocated", "Allocs", "Freed", "Frees",
	       src ? "Line Contents" : "(source not found)");
	for (size_t ln = 1;; ln++) {
		ssize_t got = src ? getline(&text, &tlen, src) : -1;
		if (got < 0 && ln >= nrows)
			break;
		if (got > 0 && text[got - 1] == '\n')
			text[got - 1] = 0;
		if (ln < lo || ln > hi || ((!src || got < 0) && !(ln < nrows && rows[ln].any)))
			continue;
		const line_row_t *r = ln < nrows ? &rows[ln] : NULL;
		if (r && r->any)
			printf("%6zu %12s %8" PRIu64 " %12s %12s %8" PRIu64 " %12s %8" PRIu64 "  %s\n",
			       ln, fmt_size(sa, sizeof(sa), (double)r->live_bytes, false),
			       r->live_count,
			       fmt_size(sb, sizeof(sb), (double)r->inc_bytes, true),
			       fmt_size(sc, sizeof(sc), (double)r->alloc_bytes, false),
			       r->alloc_count,
			       fmt_size(sd, sizeof(sd), (double)r->freed_bytes, false),
			       r->freed_count, got >= 0 ? text : "");
		else
			printf("%6zu %12s %8s %12s %12s %8s %12s %8s  %s\n", ln, "", "", "", "", "",
			       "", "", got >= 0 ? text : "");
	}
	free(text);
	if (src)
		fclose(src);
	analysis_print_warnings(an);
	rc = 0;
done:
	free(rows);
	analysis_free(an);
	point_free(pts[0]);
	point_free(pts[1]);
	return rc;
}
