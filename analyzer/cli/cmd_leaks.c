/* `heaptrail leaks`: see cmd_leaks.h.  One leaks aggregator (leaks.c)
 * over the whole trace; group.c turns stacks into call-site keys. */
#include "cli/cmd_leaks.h"

#include <stdio.h>
#include <string.h>

#include "model/analysis.h"
#include "agg/leaks.h"
#include "cli/opts.h"
#include "render/report.h"
#include "cli/args.h"
#include "render/json.h"
#include "render/text.h"
#include "cli/multi.h"
#include "cli/run.h"

static int leaks_opt(const char *cmd, int argc, char **argv, int *i, void *ctx)
{
	return args_at_end(cmd, argc, argv, i, ctx);
}

int cmd_leaks(int argc, char **argv)
{
	const char *path = NULL;
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_BY |
				OPT_FRAMES | OPT_FILTERS | OPT_LIMIT | OPT_MULTI;
	opts_t o;
	int rc = 1;
	opts_init(&o);
	o.by = BY_TRACEBACK;
	int at_exit = 0; /* --at teardown (the default) or end */
	if (opts_args("leaks", accept, leaks_opt, &at_exit, argc, argv, &o, &path))
		return 2;
	if (o.ntraces) {
		/* Several traces of one run: each process's end. */
		rc = multi_leaks(&o);
		opts_free(&o);
		return rc;
	}

	leaks_t *l = leaks_new();
	group_t *g = NULL;
	analysis_t *an = NULL;
	leaks_result_t res = { 0 };
	if (!l)
		goto nomem;
	leaks_set_by(l, (report_by_t)o.by);
	leaks_set_at_exit(l, at_exit);
	agg_t *agg = leaks_agg(l);
	an = run_file(path, &agg, 1);
	if (!an)
		goto done;
	frames_t *fs = analysis_frames(an, o.fmode, o.raw);
	g = opts_group(&o, fs);
	if (!g || leaks_grouped(l, g, (size_t)o.limit, &res) < 0)
		goto nomem;
	opts_hint_unmatched(&o, res.nsites + res.ncands_total);
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, analysis_summary(an));
		json_leaks(&j, &res, fs);
		json_report_end(&j);
	} else {
		text_notes(stdout, analysis_summary(an));
		text_leaks(stdout, &res, fs);
	}
	rc = run_finish(an);
	goto done;
nomem:
	rc = run_nomem();
done:
	leaks_result_free(&res);
	group_free(g);
	analysis_free(an);
	leaks_free(l);
	return rc;
}
