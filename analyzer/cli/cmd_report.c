/* `heaptrail report`: see cmd_report.h.  One replay feeds the overview's
 * aggregators (the peak, leaks, growth); the heap's per-stack totals give
 * the call counts and the temporary allocations. */
#include "cli/cmd_report.h"

#include <errno.h>
#include <stdio.h>

#include "agg/overview.h"
#include "cli/args.h"
#include "cli/opts.h"
#include "cli/multi.h"
#include "cli/run.h"
#include "model/analysis.h"
#include "render/json.h"
#include "render/report.h"
#include "render/text.h"

/* Rows per section by default: a page, not a listing. */
#define REPORT_ROWS 5

static int report_opt(const char *cmd, int argc, char **argv, int *i, void *ctx)
{
	return args_at_end(cmd, argc, argv, i, ctx);
}

int cmd_report(int argc, char **argv)
{
	const char *path = NULL;
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_BY |
				OPT_FRAMES | OPT_FILTERS | OPT_LIMIT | OPT_MULTI;
	opts_t o;
	int rc = 1;
	opts_init(&o);
	o.by = BY_SITE;
	o.limit = REPORT_ROWS;
	int at_exit = 0; /* --at teardown (the default) or end */
	if (opts_args("report", accept, report_opt, &at_exit, argc, argv, &o, &path))
		return 2;
	if (o.ntraces) {
		/* Several traces of one run: the process tree. */
		rc = multi_report(&o);
		opts_free(&o);
		return rc;
	}

	overview_t *ov = overview_new((report_by_t)o.by);
	agg_t *aggs[OVERVIEW_MAX_AGGS];
	analysis_t *an = NULL;
	group_t *g = NULL;
	overview_result_t res = { 0 };
	char err[512];
	if (!ov)
		goto nomem;
	leaks_set_at_exit(overview_leaks(ov), at_exit);
	an = run_file(path, aggs, overview_aggs(ov, aggs));
	if (!an)
		goto done;
	frames_t *fs = analysis_frames(an, o.fmode, o.raw);
	g = opts_group(&o, fs);
	if (!g)
		goto nomem;
	int r = overview_result(ov, an, g, (size_t)o.limit, &res, err, sizeof err);
	if (r == -ENOMEM)
		goto nomem;
	if (r < 0) {
		fprintf(stderr, "heaptrail: %s\n", err);
		goto done;
	}
	opts_hint_unmatched(&o, res.calls.n);
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, analysis_summary(an));
		json_report(&j, &res, fs, (report_by_t)o.by);
		json_report_end(&j);
	} else {
		text_report(stdout, &res, fs, (report_by_t)o.by);
	}
	rc = run_finish(an);
	goto done;
nomem:
	rc = run_nomem();
done:
	overview_result_free(&res);
	group_free(g);
	analysis_free(an);
	overview_free(ov);
	return rc;
}
