/* `heaptrail diff`: see cmd_diff.h.  Each side is a point aggregator
 * (point.h) grouped on its own (group.h); the sides are matched by key
 * text, so two traces with different stack ids compare by call site. */
#include "cli/cmd_diff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/analysis.h"
#include "cli/opts.h"
#include "cli/run.h"
#include "agg/point.h"
#include "render/report.h"
#include "agg/stats.h"
#include "cli/args.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/text.h"

typedef struct side {
	analysis_t *an; /* owned unless shared with the other side */
	point_t *pt;
	group_t *g;
	stat_set_t set;
	const char *path;
	const char *spec;
} side_t;

/* Groups one side's point.  Returns 0 or 1 (error printed). */
static int side_stats(side_t *sd, const opts_t *o)
{
	const uint64_t *bytes, *count;
	size_t n;
	char err[512];
	if (run_point_result(sd->pt, sd->an, &bytes, &count, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "heaptrail: %s\n", err);
		return 1;
	}
	sd->g = opts_group(o, analysis_frames(sd->an, o->fmode, o->raw));
	if (!sd->g)
		goto oom;
	if (stats_compute(sd->g, bytes, count, n, o->cumulative, &sd->set) < 0)
		goto oom;
	return 0;
oom:
	fprintf(stderr, "heaptrail: out of memory\n");
	return 1;
}

static void json_side(json_t *j, const char *key, const side_t *sd)
{
	json_key(j, key);
	json_obj_begin(j);
	json_key(j, "trace");
	json_str(j, sd->path);
	json_key(j, "at");
	json_str(j, sd->spec);
	json_key(j, "point");
	json_str(j, point_describe(sd->pt));
	json_key(j, "time_us");
	json_u64(j, point_time_us(sd->pt));
	json_key(j, "heap_bytes");
	json_u64(j, point_heap_bytes(sd->pt));
	json_key(j, "total_bytes");
	json_u64(j, sd->set.total_bytes);
	json_key(j, "total_count");
	json_u64(j, sd->set.total_count);
	const analysis_summary_t *s = analysis_summary(sd->an);
	json_key(j, "truncated");
	json_bool(j, s->truncated);
	json_key(j, "lost_events");
	json_u64(j, s->lost_events);
	json_obj_end(j);
}

/* --from POINT, --to POINT and the one or two TRACE operands. */
struct diff_args {
	const char *paths[2];
	int npaths;
	const char *from, *to;
};

static int diff_opt(const char *cmd, int argc, char **argv, int *i,
		    void *ctx)
{
	struct diff_args *da = ctx;
	const char *a = argv[*i];
	int m;
	if ((m = args_opt(cmd, argc, argv, i, "--from", &da->from)) ||
	    (m = args_opt(cmd, argc, argv, i, "--to", &da->to)))
		return m;
	if (a[0] == '-' && a[1])
		return 0; /* an unknown option */
	if (da->npaths == 2) {
		args_usage_error(cmd, "unexpected argument '%s' (give one trace with --from/--to, or two traces)", a);
		return -1;
	}
	da->paths[da->npaths++] = a;
	return 1;
}

int cmd_diff(int argc, char **argv)
{
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_CUMULATIVE |
				OPT_BY | OPT_FRAMES | OPT_FILTERS | OPT_LIMIT;
	opts_t o;
	int rc = 1;
	opts_init(&o);
	struct diff_args da = { { NULL, NULL }, 0, NULL, NULL };
	if (opts_args("diff", accept, diff_opt, &da, argc, argv, &o, NULL))
		return 2;
	const char **paths = da.paths, *from = da.from, *to = da.to;
	int npaths = da.npaths;
	if (!npaths)
		return args_usage_error("diff", "missing TRACE");
	if (npaths == 1 && !from)
		return args_usage_error("diff", "one trace needs --from SNAPSHOT (and --to, default end); or give OLD.htr NEW.htr");
	if (opts_check_cumulative("diff", &o))
		return 2;

	side_t sd[2];
	memset(sd, 0, sizeof(sd));
	point_spec_t ps;
	sd[0].spec = from ? from : "end";
	sd[1].spec = to ? to : "end";
	sd[0].path = paths[0];
	sd[1].path = npaths == 2 ? paths[1] : paths[0];
	for (int k = 0; k < 2; k++) {
		args_parse_point(sd[k].spec, &ps);
		if (!(sd[k].pt = point_new(&ps))) {
			fprintf(stderr, "heaptrail: out of memory\n");
			goto done;
		}
	}
	/* The end, the peak and snapshots come from the trace index when
	 * there is one. */
	if (npaths == 1) {
		point_t *pts[2] = { sd[0].pt, sd[1].pt };
		sd[0].an = sd[1].an = run_file_points(paths[0], pts, 2);
		if (!sd[0].an)
			goto done;
	} else {
		for (int k = 0; k < 2; k++)
			if (!(sd[k].an = run_file_points(paths[k], &sd[k].pt, 1)))
				goto done;
	}

	for (int k = 0; k < 2; k++)
		if (side_stats(&sd[k], &o))
			goto done;
	/* Two programs share few call sites: the diff is then mostly the
	 * two programs' whole heaps. */
	if (npaths == 2) {
		const char *e0 = analysis_summary(sd[0].an)->exe,
			   *e1 = analysis_summary(sd[1].an)->exe;
		if (*e0 && *e1 && strcmp(e0, e1) != 0)
			fprintf(stderr, "heaptrail: warning: the traces are of two different programs (%s and %s)\n",
				e0, e1);
	}

	stat_set_t d;
	if (stats_diff(&sd[0].set, &sd[1].set, &d) < 0) {
		fprintf(stderr, "heaptrail: out of memory\n");
		goto done;
	}
	size_t k = stats_rank(&d, true, (size_t)o.limit);
	opts_hint_unmatched(&o, sd[0].set.n + sd[1].set.n);
	char a[32], b[32];
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, analysis_summary(sd[1].an));
		json_side(&j, "from", &sd[0]);
		json_side(&j, "to", &sd[1]);
		json_key(&j, "by");
		json_str(&j, report_by_name(o.by));
		json_key(&j, "cumulative");
		json_bool(&j, o.cumulative);
		json_key(&j, "total_bytes_diff");
		json_i64(&j, d.total_bytes_diff);
		json_key(&j, "total_count_diff");
		json_i64(&j, d.total_count_diff);
		json_key(&j, "groups");
		json_u64(&j, d.n);
		json_key(&j, "stats");
		json_stats(&j, &d, k, true);
		json_report_end(&j);
	} else {
		text_notes(stdout, analysis_summary(sd[0].an));
		if (npaths == 2)
			text_notes(stdout, analysis_summary(sd[1].an));
		printf("Top %zu of %zu differences by %s%s, %s%s%s -> %s%s%s: size=%s (%s), count=%" PRIu64 " (%+" PRId64 ")\n",
		       k, d.n, report_by_name(o.by), o.cumulative ? " (cumulative)" : "",
		       npaths == 2 ? sd[0].path : "", npaths == 2 ? " " : "",
		       point_describe(sd[0].pt),
		       npaths == 2 ? sd[1].path : "", npaths == 2 ? " " : "",
		       point_describe(sd[1].pt),
		       fmt_size(a, sizeof(a), (double)d.total_bytes, false),
		       fmt_size(b, sizeof(b), (double)d.total_bytes_diff, true),
		       d.total_count, d.total_count_diff);
		text_stats(stdout, &d, k, true, (report_by_t)o.by);
	}
	stats_free(&d);
	analysis_print_warnings(sd[0].an);
	if (sd[1].an != sd[0].an)
		analysis_print_warnings(sd[1].an);
	rc = 0;
done:
	for (int i = 0; i < 2; i++) {
		stats_free(&sd[i].set);
		group_free(sd[i].g);
	}
	if (sd[1].an != sd[0].an)
		analysis_free(sd[1].an);
	analysis_free(sd[0].an);
	point_free(sd[0].pt);
	point_free(sd[1].pt);
	return rc;
}
