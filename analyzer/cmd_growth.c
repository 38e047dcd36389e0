/* `heaptrail growth`: see cmd_growth.h.  Two aggregators in one pass; the
 * JSON document holds both ("chains" and "highwater"). */
#include "cmd_growth.h"

#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "growth.h"
#include "highwater.h"
#include "report.h"

static int parse_frames(const char *s)
{
	if (strcmp(s, "all") == 0)
		return FRAMES_ALL;
	if (strcmp(s, "python") == 0)
		return FRAMES_PYTHON;
	if (strcmp(s, "native") == 0)
		return FRAMES_NATIVE;
	return -1;
}

int cmd_growth(int argc, char **argv)
{
	const char *path = NULL, *val;
	int fmode = FRAMES_ALL, by = BY_LINENO, rc = 1;
	bool json = false, raw = false;
	long long limit = 10, pct = HIGHWATER_PERCENT,
		  minb = HIGHWATER_MIN_BYTES;
	for (int i = 1; i < argc; i++) {
		int m;
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--no-symbols") == 0) {
			raw = true;
		} else if ((m = report_opt("growth", argc, argv, &i, "--frames",
					   &val))) {
			if (m < 0)
				return 2;
			if ((fmode = parse_frames(val)) < 0)
				return report_usage_error(
					"growth",
					"--frames: expected all, python or "
					"native, not '%s'",
					val);
		} else if ((m = report_opt("growth", argc, argv, &i, "--by",
					   &val))) {
			if (m < 0)
				return 2;
			if ((by = report_by_parse(val)) < 0)
				return report_usage_error(
					"growth",
					"--by: unknown key '%s' (lineno, "
					"filename, function, traceback, "
					"module)",
					val);
		} else if ((m = report_opt("growth", argc, argv, &i, "--step",
					   &val))) {
			if (m < 0)
				return 2;
			if ((pct = report_parse_count(val)) < 0 || pct > 100000)
				return report_usage_error(
					"growth",
					"--step: expected a percentage, not "
					"'%s'",
					val);
		} else if ((m = report_opt("growth", argc, argv, &i,
					   "--step-min", &val))) {
			if (m < 0)
				return 2;
			if ((minb = report_parse_count(val)) < 0)
				return report_usage_error(
					"growth",
					"--step-min: expected bytes, not '%s'",
					val);
		} else if ((m = report_opt("growth", argc, argv, &i, "-n",
					   &val)) ||
			   (m = report_opt("growth", argc, argv, &i, "--limit",
					   &val))) {
			if (m < 0)
				return 2;
			if ((limit = report_parse_count(val)) < 0)
				return report_usage_error(
					"growth",
					"-n: expected a count, not '%s'", val);
		} else if (a[0] == '-' && a[1]) {
			return report_usage_error("growth",
						  "unknown option '%s'", a);
		} else if (!path) {
			path = a;
		} else {
			return report_usage_error("growth",
						  "unexpected argument '%s'", a);
		}
	}
	if (!path)
		return report_usage_error("growth", "missing TRACE");

	growth_t *gr = growth_new();
	highwater_t *hw = highwater_new();
	analysis_t *an = NULL;
	group_t *g = NULL;
	if (!gr || !hw)
		goto nomem;
	highwater_set_threshold(hw, (unsigned)pct, (uint64_t)minb);
	agg_t *aggs[2] = { growth_agg(gr), highwater_agg(hw) };
	an = analysis_run_file(path, aggs, 2);
	if (!an)
		goto done;
	agg_report_t r = {
		.out = stdout,
		.json = json,
		.limit = (size_t)limit,
		.an = an,
		.stacks = analysis_stacks(an),
		.heap = analysis_heap(an),
		.frames = analysis_frames(an, fmode, raw),
	};
	g = r.frames ? group_new(r.frames, (report_by_t)by) : NULL;
	if (!g)
		goto nomem;
	highwater_set_group(hw, g, (report_by_t)by);
	if (json) {
		json_t j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_summary_fields(&j, analysis_summary(an));
		if (growth_report_json(gr, &j, &r) < 0 ||
		    highwater_report_json(hw, &j, &r) < 0)
			goto nomem;
		json_obj_end(&j);
		json_finish(&j);
	} else {
		report_notes(stdout, analysis_summary(an));
		if (growth_report_text(gr, &r) < 0 ||
		    highwater_report_text(hw, &r) < 0)
			goto nomem;
	}
	fflush(stdout);
	analysis_print_warnings(an);
	rc = 0;
	goto done;
nomem:
	fprintf(stderr, "heaptrail: out of memory\n");
done:
	group_free(g);
	analysis_free(an);
	growth_free(gr);
	highwater_free(hw);
	return rc;
}
