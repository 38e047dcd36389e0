/* `heaptrail export`: see cmd_export.h.  collapsed and pprof take the
 * per-stack live totals at --at from one point aggregator (as `top`
 * does; pprof adds the whole run's allocation totals); massif takes one
 * point per snapshot mark plus the peak. */
#include "cli/cmd_export.h"

#include "cli/args.h"
#include "cli/run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/point.h"
#include "cli/opts.h"
#include "model/analysis.h"
#include "render/collapsed.h"
#include "render/export_pprof.h"
#include "render/massif.h"
#include "render/fmt.h"
#include "render/report.h"

enum { FMT_COLLAPSED, FMT_PPROF, FMT_MASSIF };

/* One analysis aggregator slot is kept free: up to this many snapshot
 * marks go into a massif file, plus the peak. */
#define MASSIF_MAX_SNAPS 15

/* massif: the snapshot marks (at most MASSIF_MAX_SNAPS) and the peak. */
static int export_massif(const char *path, const opts_t *o, FILE *out,
			 const char *outname)
{
	int rc = 1;
	analysis_t *an = run_file_indexed(path, NULL, 0, true);
	if (!an)
		return 1;
	const analysis_summary_t *s = analysis_summary(an);
	size_t ns = s->nsnapshots;
	if (ns > MASSIF_MAX_SNAPS) {
		fprintf(stderr, "heaptrail export: %s: %zu snapshot marks; the massif file holds the first %d and the peak\n",
			path, ns, MASSIF_MAX_SNAPS);
		ns = MASSIF_MAX_SNAPS;
	}
	point_t *pts[MASSIF_MAX_SNAPS + 1] = { 0 };
	agg_t *aggs[MASSIF_MAX_SNAPS + 1];
	char idx[MASSIF_MAX_SNAPS][24];
	massif_snap_t snaps[MASSIF_MAX_SNAPS + 1];
	char err[512];
	for (size_t k = 0; k <= ns; k++) {
		point_spec_t spec = { .kind = POINT_PEAK };
		if (k < ns) {
			snprintf(idx[k], sizeof(idx[k]), "%" PRIu64, s->snapshots[k].index);
			spec.kind = POINT_SNAPSHOT;
			spec.snapshot = idx[k];
		}
		if (!(pts[k] = point_new(&spec))) {
			fprintf(stderr, "heaptrail: out of memory\n");
			goto done;
		}
		aggs[k] = point_agg(pts[k]);
	}
	/* The index answers every point without a replay; else one replay
	 * feeds all the points. */
	analysis_free(an);
	an = run_file_indexed(path, aggs, ns + 1, ns > 0);
	if (!an)
		goto done;
	s = analysis_summary(an);
	for (size_t k = 0; k <= ns; k++) {
		const uint64_t *bytes, *count;
		size_t n;
		if (run_point_result(pts[k], an, &bytes, &count, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "heaptrail: %s\n", err);
			goto done;
		}
		snaps[k] = (massif_snap_t){ .time_us = point_time_us(pts[k]),
					    .heap_bytes = point_heap_bytes(pts[k]),
					    .peak = k == ns,
					    .bytes = bytes,
					    .n = n };
	}
	/* The marks are in time order; the peak goes before the first mark
	 * that is not earlier (the trace's clock is coarse: a mark right
	 * after the peak's free often has the peak's time). */
	massif_snap_t peak = snaps[ns];
	size_t at = 0;
	while (at < ns && snaps[at].time_us < peak.time_us)
		at++;
	memmove(&snaps[at + 1], &snaps[at], (ns - at) * sizeof(snaps[0]));
	snaps[at] = peak;
	frames_t *f = analysis_frames(an, o->fmode, o->raw);
	int w;
	if (!f || (w = massif_write(out, f, s->cmdline, snaps, ns + 1)) < 0) {
		fprintf(stderr, "heaptrail export: %s: %s\n", outname,
			strerror(f ? -w : ENOMEM));
		goto done;
	}
	analysis_print_warnings(an);
	rc = 0;
done:
	for (size_t k = 0; k <= ns; k++)
		point_free(pts[k]);
	analysis_free(an);
	return rc;
}

/* collapsed, pprof: the live totals at one point. */
static int export_point(const char *path, const char *at, int fmt,
			const opts_t *o, FILE *out, const char *outname)
{
	point_spec_t spec;
	args_parse_point(at, &spec);
	point_t *pt = point_new(&spec);
	if (!pt) {
		fprintf(stderr, "heaptrail: out of memory\n");
		return 1;
	}
	agg_t *agg = point_agg(pt);
	int need = point_index_need(pt), rc = 1, w;
	analysis_t *an = need == POINT_INDEX_NO ?
		run_file(path, &agg, 1) :
		run_file_indexed(path, need == POINT_INDEX_STATES ? &agg : NULL,
					  need == POINT_INDEX_STATES,
					  need == POINT_INDEX_STATES);
	const uint64_t *bytes, *count;
	size_t n;
	char err[512];
	if (!an)
		goto done;
	if (run_point_result(pt, an, &bytes, &count, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "heaptrail: %s\n", err);
		goto done;
	}
	frames_t *f = analysis_frames(an, o->fmode, o->raw);
	if (!f) {
		fprintf(stderr, "heaptrail: out of memory\n");
		goto done;
	}
	if (fmt == FMT_COLLAPSED) {
		w = collapsed_write(out, f, bytes, n);
	} else {
		const analysis_summary_t *s = analysis_summary(an);
		pprof_input_t in = { .frames = f, .inuse_bytes = bytes,
				     .inuse_count = count, .ninuse = n,
				     .time_unix_ns = s->start_unix_ns,
				     /* to the trace's resolution, as text prints it */
				     .duration_ns = fmt_round_us(s->end_time_us, 1) * 1000 };
		in.st = heap_stack_stats(analysis_heap(an), &in.nst);
		w = pprof_write(out, &in);
	}
	if (w < 0) {
		fprintf(stderr, "heaptrail export: %s: %s\n", outname, strerror(-w));
		goto done;
	}
	analysis_print_warnings(an);
	rc = 0;
done:
	analysis_free(an);
	point_free(pt);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	const char *path = NULL, *at = NULL, *format = NULL, *outpath = NULL, *val;
	const unsigned accept = OPT_NO_SYMBOLS | OPT_FRAMES;
	opts_t o;
	opts_init(&o);
	for (int i = 1; i < argc; i++) {
		int m;
		if ((m = opts_parse("export", accept, argc, argv, &i, &o))) {
			if (m < 0)
				return 2;
		} else if ((m = args_opt("export", argc, argv, &i, "--at", &val))) {
			if (m < 0)
				return 2;
			at = val;
		} else if ((m = args_opt("export", argc, argv, &i, "--format", &val))) {
			if (m < 0)
				return 2;
			format = val;
		} else if ((m = args_opt("export", argc, argv, &i, "-o", &val)) ||
			   (m = args_opt("export", argc, argv, &i, "--output", &val))) {
			if (m < 0)
				return 2;
			outpath = val;
		} else if (opts_trace("export", argv[i], &path)) {
			return 2;
		}
	}
	if (!path)
		return args_usage_error("export", "missing TRACE");
	if (!format)
		return args_usage_error("export", "missing --format collapsed|pprof|massif");
	int fmt = strcmp(format, "collapsed") == 0 ? FMT_COLLAPSED :
		  strcmp(format, "pprof") == 0 ? FMT_PPROF :
		  strcmp(format, "massif") == 0 ? FMT_MASSIF : -1;
	if (fmt < 0)
		return args_usage_error("export", "unknown --format '%s' (collapsed, pprof, massif)",
					  format);
	if (fmt == FMT_MASSIF && at)
		return args_usage_error("export", "--at does not apply to massif (its snapshots are the trace's marks and the peak)");
	FILE *out = stdout;
	const char *outname = "standard output";
	if (outpath && strcmp(outpath, "-") != 0) {
		if (!(out = fopen(outpath, fmt == FMT_PPROF ? "wb" : "w"))) {
			fprintf(stderr, "heaptrail export: cannot write %s: %s\n", outpath,
				strerror(errno));
			return 1;
		}
		outname = outpath;
	}
	int rc = fmt == FMT_MASSIF ? export_massif(path, &o, out, outname) :
		 export_point(path, at ? at : "peak", fmt, &o, out, outname);
	if (out != stdout) {
		if (fclose(out) != 0 && rc == 0) {
			fprintf(stderr, "heaptrail export: %s: %s\n", outpath, strerror(errno));
			rc = 1;
		}
		if (rc != 0)
			remove(outpath);
	} else if (fflush(stdout) != 0 && rc == 0) {
		rc = 1;
	}
	return rc;
}
