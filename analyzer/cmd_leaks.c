/* `heaptrail leaks`: see cmd_leaks.h.  One leaks aggregator (leaks.c)
 * over the whole trace; group.c turns stacks into call-site keys. */
#include "cmd_leaks.h"

#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "leaks.h"
#include "report.h"

#define MAX_PATTERNS 32

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

int cmd_leaks(int argc, char **argv)
{
	const char *path = NULL, *val;
	const char *inc[MAX_PATTERNS], *exc[MAX_PATTERNS];
	int ninc = 0, nexc = 0, by = BY_TRACEBACK, fmode = FRAMES_ALL, rc = 1;
	bool json = false, raw = false;
	long long limit = 10;
	for (int i = 1; i < argc; i++) {
		int m;
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--no-symbols") == 0) {
			raw = true;
		} else if ((m = report_opt("leaks", argc, argv, &i, "--by",
					   &val))) {
			if (m < 0)
				return 2;
			if ((by = report_by_parse(val)) < 0)
				return report_usage_error(
					"leaks",
					"--by: unknown key '%s' (lineno, "
					"filename, function, traceback, "
					"module)",
					val);
		} else if ((m = report_opt("leaks", argc, argv, &i, "--frames",
					   &val))) {
			if (m < 0)
				return 2;
			if ((fmode = parse_frames(val)) < 0)
				return report_usage_error(
					"leaks",
					"--frames: expected all, python or "
					"native, not '%s'",
					val);
		} else if ((m = report_opt("leaks", argc, argv, &i,
					   "--include", &val))) {
			if (m < 0)
				return 2;
			if (ninc == MAX_PATTERNS)
				return report_usage_error("leaks",
							  "too many --include");
			inc[ninc++] = val;
		} else if ((m = report_opt("leaks", argc, argv, &i,
					   "--exclude", &val))) {
			if (m < 0)
				return 2;
			if (nexc == MAX_PATTERNS)
				return report_usage_error("leaks",
							  "too many --exclude");
			exc[nexc++] = val;
		} else if ((m = report_opt("leaks", argc, argv, &i, "-n",
					   &val)) ||
			   (m = report_opt("leaks", argc, argv, &i, "--limit",
					   &val))) {
			if (m < 0)
				return 2;
			if ((limit = report_parse_count(val)) < 0)
				return report_usage_error(
					"leaks", "-n: expected a count, not '%s'",
					val);
		} else if (a[0] == '-' && a[1]) {
			return report_usage_error("leaks", "unknown option '%s'",
						  a);
		} else if (!path) {
			path = a;
		} else {
			return report_usage_error("leaks",
						  "unexpected argument '%s'", a);
		}
	}
	if (!path)
		return report_usage_error("leaks", "missing TRACE");

	leaks_t *l = leaks_new();
	group_t *g = NULL;
	analysis_t *an = NULL;
	if (!l)
		goto nomem;
	leaks_set_by(l, (report_by_t)by);
	agg_t *agg = leaks_agg(l);
	an = analysis_run_file(path, &agg, 1);
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
	for (int i = 0; i < ninc; i++)
		group_add_filter(g, inc[i], true);
	for (int i = 0; i < nexc; i++)
		group_add_filter(g, exc[i], false);
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
