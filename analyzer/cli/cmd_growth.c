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
#include "cli/args.h"
#include "render/json.h"
#include "render/text.h"
#include "cli/run.h"

/* The high-water step threshold (--step PERCENT, --step-min BYTES) and
 * the chains' --steps all|N and --sort bytes|steps. */
struct step {
	long long pct, minb, nsteps;
	growth_sort_t sort;
};

static int step_opt(const char *cmd, int argc, char **argv, int *i,
		    void *ctx)
{
	struct step *st = ctx;
	const char *val;
	int m;
	if ((m = args_opt(cmd, argc, argv, i, "--step", &val))) {
		if (m > 0 && ((st->pct = args_parse_count(val)) < 0 ||
			      st->pct > 100000)) {
			args_usage_error(cmd, "--step: expected a percentage, not '%s'", val);
			return -1;
		}
	} else if ((m = args_opt(cmd, argc, argv, i, "--step-min", &val))) {
		if (m > 0 && (st->minb = args_parse_count(val)) < 0) {
			args_usage_error(cmd, "--step-min: expected bytes, not '%s'", val);
			return -1;
		}
	} else if ((m = args_opt(cmd, argc, argv, i, "--steps", &val))) {
		if (m > 0 && strcmp(val, "all") == 0) {
			st->nsteps = 0;
		} else if (m > 0 && (st->nsteps = args_parse_count(val)) < 0) {
			args_usage_error(cmd, "--steps: expected all or a count, not '%s'", val);
			return -1;
		}
	} else if ((m = args_opt(cmd, argc, argv, i, "--sort", &val))) {
		if (m > 0 && strcmp(val, "bytes") == 0) {
			st->sort = GROWTH_SORT_BYTES;
		} else if (m > 0 && strcmp(val, "steps") == 0) {
			st->sort = GROWTH_SORT_STEPS;
		} else if (m > 0) {
			args_usage_error(cmd, "--sort: expected bytes or steps, not '%s'", val);
			return -1;
		}
	}
	return m;
}

/* --include/--exclude: a chain is kept when its site passes. */
static bool keep_site(void *arg, sidx_t stack)
{
	return group_stack_passes(arg, stack);
}

int cmd_growth(int argc, char **argv)
{
	const char *path = NULL;
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_FRAMES |
				OPT_BY | OPT_LIMIT | OPT_FILTERS;
	opts_t o;
	int rc = 1;
	opts_init(&o);
	struct step st = { HIGHWATER_PERCENT, HIGHWATER_MIN_BYTES,
			   GROWTH_TEXT_STEPS, GROWTH_SORT_BYTES };
	if (opts_args("growth", accept, step_opt, &st, argc, argv, &o, &path))
		return 2;
	if (analysis_refuse_aggregated(path, "growth chains and high-water steps"))
		return 2;

	growth_t *gr = growth_new();
	highwater_t *hw = highwater_new();
	analysis_t *an = NULL;
	group_t *g = NULL;
	growth_result_t gres = { 0 };
	highwater_result_t hres = { 0 };
	if (!gr || !hw)
		goto nomem;
	highwater_set_threshold(hw, (unsigned)st.pct, (uint64_t)st.minb);
	growth_set_sort(gr, st.sort);
	growth_set_text_steps(gr, (uint64_t)st.nsteps);
	agg_t *aggs[2] = { growth_agg(gr), highwater_agg(hw) };
	an = run_file(path, aggs, 2);
	if (!an)
		goto done;
	frames_t *fs = analysis_frames(an, o.fmode, o.raw);
	g = opts_group(&o, fs);
	if (!g)
		goto nomem;
	highwater_set_group(hw, g, (report_by_t)o.by);
	if (group_has_filters(g))
		growth_set_filter(gr, keep_site, g);
	/* -n keeps the last steps in text, the ones that built the peak;
	 * JSON keeps them all. */
	if (growth_result(gr, (size_t)o.limit, &gres) < 0 ||
	    highwater_result(hw, o.json ? 0 : (size_t)o.limit, &hres) < 0)
		goto nomem;
	opts_hint_unmatched(&o, gres.total);
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, analysis_summary(an));
		json_growth(&j, &gres, fs);
		json_highwater(&j, &hres, fs);
		json_report_end(&j);
	} else {
		text_notes(stdout, analysis_summary(an));
		text_growth(stdout, &gres, fs);
		text_highwater(stdout, &hres, fs);
	}
	rc = run_finish(an);
	goto done;
nomem:
	rc = run_nomem();
done:
	highwater_result_free(&hres);
	growth_result_free(&gres);
	group_free(g);
	analysis_free(an);
	growth_free(gr);
	highwater_free(hw);
	return rc;
}
