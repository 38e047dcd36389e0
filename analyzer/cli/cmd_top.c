/* `heaptrail top`: see cmd_top.h.  One point aggregator captures the
 * per-stack live totals at --at; stats.c groups, filters and ranks them. */
#include "cli/cmd_top.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/analysis.h"
#include "cli/opts.h"
#include "cli/multi.h"
#include "cli/run.h"
#include "agg/point.h"
#include "render/report.h"
#include "agg/stats.h"
#include "cli/args.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/text.h"

/* --at POINT, --temporary, --per N. */
struct top_args {
	const char *at;
	bool temporary;
	const char *per; /* NULL = no per column */
};

static int top_opt(const char *cmd, int argc, char **argv, int *i, void *ctx)
{
	struct top_args *ta = ctx;
	if (strcmp(argv[*i], "--temporary") == 0) {
		ta->temporary = true;
		return 1;
	}
	int m = args_opt(cmd, argc, argv, i, "--per", &ta->per);
	if (m)
		return m;
	return args_opt(cmd, argc, argv, i, "--at", &ta->at);
}

int cmd_top(int argc, char **argv)
{
	const char *path = NULL;
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_CUMULATIVE |
				OPT_BY | OPT_FRAMES | OPT_FILTERS | OPT_LIMIT | OPT_MULTI;
	opts_t o;
	int rc = 1;
	opts_init(&o);
	struct top_args ta = { NULL, false, NULL }; /* --at: the peak */
	if (opts_args("top", accept, top_opt, &ta, argc, argv, &o, &path))
		return 2;
	long long per = ta.per ? args_parse_count(ta.per) : 0;
	if (per < 0 || (ta.per && per == 0))
		return args_usage_error("top", "--per: expected a count of objects (1 or more), not '%s'",
					ta.per);
	const char *at = ta.at ? ta.at : "peak";
	bool temporary = ta.temporary;
	/* Temporary allocations are counted over the whole run: a point
	 * would be ignored, so say so rather than answer another question. */
	if (temporary && ta.at)
		return args_usage_error("top", "--temporary covers the whole run; it takes no --at (not --at %s)",
					ta.at);
	if (opts_check_cumulative("top", &o)) {
		opts_free(&o);
		return 2;
	}
	if (o.ntraces) {
		/* Several traces of one run, or --by process. */
		if (temporary || ta.per) {
			opts_free(&o);
			return args_usage_error("top", "%s reports one trace; not with several traces or --by process",
						temporary ? "--temporary" : "--per");
		}
		rc = multi_top(&o, at);
		opts_free(&o);
		return rc;
	}
	if (temporary && analysis_refuse_aggregated(path, "--temporary")) {
		opts_free(&o);
		return 2;
	}

	point_spec_t spec;
	args_parse_point(at, &spec);
	point_t *pt = point_new(&spec);
	if (!pt) {
		fprintf(stderr, "heaptrail: out of memory\n");
		return 1;
	}
	/* The end, the peak, the snapshots and the temporary totals are in
	 * the trace index. */
	analysis_t *an = temporary ? run_file_indexed(path, NULL, 0, false) :
				     run_file_points(path, &pt, 1);
	group_t *g = NULL;
	stat_set_t set = { 0 };
	char err[512], a[32], b[32];
	const uint64_t *bytes, *count;
	uint64_t *tb = NULL, *tc = NULL;
	size_t n;
	if (!an)
		goto done;
	const analysis_summary_t *s = analysis_summary(an);
	if (temporary) {
		/* Temporary allocations over the whole run, by site. */
		const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &n);
		tb = calloc(n + 1, sizeof(*tb));
		tc = calloc(n + 1, sizeof(*tc));
		if (!tb || !tc) {
			fprintf(stderr, "heaptrail: out of memory\n");
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			tb[i] = st[i].temp_bytes;
			tc[i] = st[i].temp_count;
		}
		bytes = tb;
		count = tc;
	} else if (run_point_result(pt, an, &bytes, &count, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "heaptrail: %s\n", err);
		goto done;
	}
	g = opts_group(&o, analysis_frames(an, o.fmode, o.raw));
	if (!g) {
		fprintf(stderr, "heaptrail: out of memory\n");
		goto done;
	}
	if (stats_compute(g, bytes, count, n, o.cumulative, &set) < 0) {
		fprintf(stderr, "heaptrail: out of memory\n");
		goto done;
	}
	size_t nrows = set.n;
	opts_hint_unmatched(&o, nrows);
	size_t k = stats_rank(&set, false, (size_t)o.limit);
	const char *where = temporary ? "temporary allocations" : point_describe(pt);
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, s);
		json_key(&j, "at");
		json_str(&j, temporary ? "temporary" : at);
		json_key(&j, "point");
		json_str(&j, where);
		json_key(&j, "time_us");
		json_u64(&j, temporary ? s->end_time_us : point_time_us(pt));
		json_key(&j, "by");
		json_str(&j, report_by_name(o.by));
		json_key(&j, "cumulative");
		json_bool(&j, o.cumulative);
		if (per) {
			json_key(&j, "per");
			json_u64(&j, (uint64_t)per);
		}
		json_key(&j, "heap_bytes");
		json_u64(&j, temporary ? 0 : point_heap_bytes(pt));
		json_key(&j, "heap_blocks");
		json_u64(&j, temporary ? 0 : point_heap_blocks(pt));
		json_key(&j, "total_bytes");
		json_u64(&j, set.total_bytes);
		json_key(&j, "total_count");
		json_u64(&j, set.total_count);
		json_key(&j, "groups");
		json_u64(&j, nrows);
		json_key(&j, "stats");
		json_stats(&j, &set, k, false);
		/* The rows past -n, as the text's "N other" line. */
		if (!o.cumulative) {
			uint64_t ob = 0, oc = 0;
			for (size_t i = k; i < set.n; i++) {
				ob += set.rows[i].bytes;
				oc += set.rows[i].count;
			}
			json_key(&j, "other");
			json_obj_begin(&j);
			json_key(&j, "groups");
			json_u64(&j, nrows - k);
			json_key(&j, "bytes");
			json_u64(&j, ob);
			json_key(&j, "count");
			json_u64(&j, oc);
			json_obj_end(&j);
		}
		json_report_end(&j);
	} else {
		text_notes(stdout, s);
		if (temporary)
			printf("Top %zu temporary allocation sites by %s (allocations freed before any other allocation): %s in %" PRIu64 " allocations\n",
			       k, report_by_name(o.by),
			       fmt_size(a, sizeof(a), (double)set.total_bytes, false),
			       set.total_count);
		else
			printf("Top %zu of %zu by %s%s at %s: %s live in %" PRIu64 " blocks%s\n",
			       k, nrows, report_by_name(o.by),
			       o.cumulative ? " (cumulative)" : "", where,
			       fmt_size(a, sizeof(a), (double)set.total_bytes, false),
			       set.total_count,
			       group_has_filters(g) ? " (filtered)" : "");
		text_stats_per(stdout, &set, k, false, (report_by_t)o.by,
			       (uint64_t)per);
		if (k < nrows && !o.cumulative) {
			uint64_t ob = 0, oc = 0;
			for (size_t i = k; i < set.n; i++) {
				ob += set.rows[i].bytes;
				oc += set.rows[i].count;
			}
			printf("%zu other: size=%s, count=%" PRIu64 "\n", nrows - k,
			       fmt_size(b, sizeof(b), (double)ob, false), oc);
		}
	}
	analysis_print_warnings(an);
	rc = 0;
done:
	stats_free(&set);
	group_free(g);
	free(tb);
	free(tc);
	analysis_free(an);
	point_free(pt);
	return rc;
}
