/* `heaptrail growth`: see cmd_growth.h.  Two aggregators in one pass; the
 * JSON document holds both ("chains" and "highwater").  --steps, --sort
 * and --include/--exclude are about the chains. */
#include "cli/cmd_growth.h"

#include <stdio.h>
#include <string.h>

#include "model/analysis.h"
#include "agg/growth.h"
#include "agg/highwater.h"
#include "cli/opts.h"
#include "render/report.h"

/* --include/--exclude: a chain is kept when its site passes. */
static bool keep_site(void *arg, sidx_t stack)
{
	return group_stack_passes(arg, stack);
}

int cmd_growth(int argc, char **argv)
{
	const char *path = NULL, *val;
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_FRAMES |
				OPT_BY | OPT_LIMIT | OPT_FILTERS;
	opts_t o;
	int rc = 1;
	long long pct = HIGHWATER_PERCENT, minb = HIGHWATER_MIN_BYTES;
	long long nsteps = GROWTH_TEXT_STEPS;
	growth_sort_t sort = GROWTH_SORT_BYTES;
	opts_init(&o);
	for (int i = 1; i < argc; i++) {
		int m;
		const char *a = argv[i];
		if ((m = opts_parse("growth", accept, argc, argv, &i, &o))) {
			if (m < 0)
				return 2;
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
		} else if ((m = report_opt("growth", argc, argv, &i, "--steps",
					   &val))) {
			if (m < 0)
				return 2;
			if (strcmp(val, "all") == 0)
				nsteps = 0;
			else if ((nsteps = report_parse_count(val)) < 0)
				return report_usage_error(
					"growth",
					"--steps: expected all or a count, not "
					"'%s'",
					val);
		} else if ((m = report_opt("growth", argc, argv, &i, "--sort",
					   &val))) {
			if (m < 0)
				return 2;
			if (strcmp(val, "bytes") == 0)
				sort = GROWTH_SORT_BYTES;
			else if (strcmp(val, "steps") == 0)
				sort = GROWTH_SORT_STEPS;
			else
				return report_usage_error(
					"growth",
					"--sort: expected bytes or steps, not "
					"'%s'",
					val);
		} else if (opts_trace("growth", a, &path)) {
			return 2;
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
	growth_set_sort(gr, sort);
	growth_set_text_steps(gr, (uint64_t)nsteps);
	agg_t *aggs[2] = { growth_agg(gr), highwater_agg(hw) };
	an = analysis_run_file(path, aggs, 2);
	if (!an)
		goto done;
	agg_report_t r = opts_report(&o, an);
	g = opts_group(&o, r.frames);
	if (!g)
		goto nomem;
	highwater_set_group(hw, g, (report_by_t)o.by);
	if (group_has_filters(g))
		growth_set_filter(gr, keep_site, g);
	if (o.json) {
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
