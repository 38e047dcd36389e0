/* `heaptrail lines`: see cmd_lines.h.  One or two point aggregators (as
 * `top --at` / `diff`), the whole run's allocation totals from the heap
 * model, summed by the line of each stack's key frame (frames_key: the
 * innermost Python frame, else the innermost frame) when that frame is in
 * FILE. */
#include "cli/cmd_lines.h"

#include "cli/args.h"
#include "cli/run.h"
#include "render/fmt.h"

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
	int64_t inc_bytes; /* --to minus --from */
	uint64_t alloc_bytes, alloc_count; /* over the whole run */
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

static int run_points(const char *path, point_t **pts, int np, analysis_t **out)
{
	agg_t *aggs[2];
	int need = POINT_INDEX_PLAIN;
	for (int i = 0; i < np; i++) {
		aggs[i] = point_agg(pts[i]);
		int n = point_index_need(pts[i]);
		if (n == POINT_INDEX_NO || (n == POINT_INDEX_STATES && need != POINT_INDEX_NO))
			need = n;
	}
	*out = need == POINT_INDEX_NO ? run_file(path, aggs, (size_t)np) :
	       need == POINT_INDEX_STATES ?
	       run_file_indexed(path, aggs, (size_t)np, true) :
	       run_file_indexed(path, NULL, 0, false);
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
		if ((m = opts_parse("lines", OPT_NO_SYMBOLS | OPT_FRAMES, argc, argv, &i, &o))) {
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
	size_t n[2];
	for (int i = 0; i < np; i++)
		if (run_point_result(pts[i], an, &b[i], &c[i], &n[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "heaptrail: %s\n", err);
			goto done;
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
		uint64_t lb = i < n[0] ? b[0][i] : 0;
		r->live_bytes += lb;
		r->live_count += i < n[0] ? c[0][i] : 0;
		if (np == 2)
			r->inc_bytes += (int64_t)lb - (int64_t)(i < n[1] ? b[1][i] : 0);
	}
	if (!srcpath) {
		fprintf(stderr, "heaptrail lines: %s: no allocation in %s%s%s (see `heaptrail top --by filename %s`)\n",
			path, file, func ? " in function " : "", func ? func : "", path);
		goto done;
	}
	/* The source: FILE as given, else the path in the debug info. */
	FILE *src = fopen(file, "r");
	if (!src)
		src = fopen(srcpath, "r");
	char sa[32], sb[32], sc[32], *text = NULL;
	size_t tlen = 0;
	printf("File: %s\n", srcpath);
	if (np == 1)
		printf("Live at: %s\n", point_describe(pts[0]));
	else
		printf("Increment: %s -> %s\n", point_describe(pts[1]), point_describe(pts[0]));
	printf("%6s %12s %8s %12s %12s %8s  %s\n", "Line", "Live", "Blocks",
	       np == 2 ? "Increment" : "", "Allocated", "Allocs",
	       src ? "Line Contents" : "(source not found)");
	size_t lo = 1, hi = nrows ? nrows - 1 : 0;
	if (func) { /* only the span of the function's lines */
		while (lo < nrows && !rows[lo].any)
			lo++;
		while (hi > lo && !rows[hi].any)
			hi--;
	}
	for (size_t ln = 1;; ln++) {
		ssize_t got = src ? getline(&text, &tlen, src) : -1;
		if (got < 0 && ln >= nrows)
			break;
		if (got > 0 && text[got - 1] == '\n')
			text[got - 1] = 0;
		if (ln < lo || ln > hi || (!src && !(ln < nrows && rows[ln].any)))
			continue;
		const line_row_t *r = ln < nrows ? &rows[ln] : NULL;
		if (r && r->any)
			printf("%6zu %12s %8" PRIu64 " %12s %12s %8" PRIu64 "  %s\n", ln,
			       fmt_size(sa, sizeof(sa), (double)r->live_bytes, false),
			       r->live_count,
			       np == 2 ? fmt_size(sb, sizeof(sb), (double)r->inc_bytes, true) : "",
			       fmt_size(sc, sizeof(sc), (double)r->alloc_bytes, false),
			       r->alloc_count, got >= 0 ? text : "");
		else
			printf("%6zu %12s %8s %12s %12s %8s  %s\n", ln, "", "", "", "", "",
			       got >= 0 ? text : "");
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
