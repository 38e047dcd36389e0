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

int cmd_leaks(int argc, char **argv)
{
	const char *path = NULL;
	const unsigned accept = OPT_JSON | OPT_NO_SYMBOLS | OPT_BY |
				OPT_FRAMES | OPT_FILTERS | OPT_LIMIT;
	opts_t o;
	int rc = 1;
	opts_init(&o);
	o.by = BY_TRACEBACK;
	for (int i = 1; i < argc; i++) {
		int m;
		const char *a = argv[i];
		if ((m = opts_parse("leaks", accept, argc, argv, &i, &o))) {
			if (m < 0)
				return 2;
		} else if (opts_trace("leaks", a, &path)) {
			return 2;
		}
	}
	if (!path)
		return args_usage_error("leaks", "missing TRACE");

	leaks_t *l = leaks_new();
	group_t *g = NULL;
	analysis_t *an = NULL;
	if (!l)
		goto nomem;
	leaks_set_by(l, (report_by_t)o.by);
	agg_t *agg = leaks_agg(l);
	an = analysis_run_file(path, &agg, 1);
	if (!an)
		goto done;
	agg_report_t r = opts_report(&o, an);
	g = opts_group(&o, r.frames);
	if (!g)
		goto nomem;
	if (leaks_report(l, &r, g) < 0)
		goto nomem;
	fflush(stdout);
	analysis_print_warnings(an);
	rc = 0;
	goto done;
nomem:
	fprintf(stderr, "heaptrail: out of memory\n");
done:
	group_free(g);
	analysis_free(an);
	leaks_free(l);
	return rc;
}
