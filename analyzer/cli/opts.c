/* Shared report options: see opts.h. */
#include "cli/opts.h"
#include "cli/args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/sysframes.h"

void opts_init(opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->by = BY_LINENO;
	o->fmode = FRAMES_ALL;
	o->limit = 10;
}

static int frames_mode_parse(const char *s)
{
	if (strcmp(s, "all") == 0)
		return FRAMES_ALL;
	if (strcmp(s, "python") == 0)
		return FRAMES_PYTHON;
	if (strcmp(s, "native") == 0)
		return FRAMES_NATIVE;
	return -1;
}

/* Adds one --include/--exclude pattern; -1 (usage error) when full. */
static int add_pattern(const char *cmd, const char *opt, const char **list,
		       int *n, const char *val)
{
	if (*n == OPTS_MAX_PATTERNS) {
		args_usage_error(cmd, "too many %s", opt);
		return -1;
	}
	list[(*n)++] = val;
	return 1;
}

/* args_opt for an accepted option only. */
static int value_opt(const char *cmd, unsigned accept, unsigned bit, int argc,
		     char **argv, int *i, const char *name, const char **val)
{
	return (accept & bit) ? args_opt(cmd, argc, argv, i, name, val) : 0;
}

int opts_parse(const char *cmd, unsigned accept, int argc, char **argv,
	       int *i, opts_t *o)
{
	const char *a = argv[*i], *val;
	int m;
	if ((accept & OPT_JSON) && strcmp(a, "--json") == 0) {
		o->json = true;
	} else if ((accept & OPT_NO_SYMBOLS) && strcmp(a, "--no-symbols") == 0) {
		o->raw = true;
	} else if ((accept & OPT_CUMULATIVE) && strcmp(a, "--cumulative") == 0) {
		o->cumulative = true;
	} else if ((m = value_opt(cmd, accept, OPT_BY, argc, argv, i, "--by",
				  &val))) {
		if (m < 0)
			return -1;
		if ((accept & OPT_MULTI) && strcmp(val, "process") == 0) {
			o->by_process = true;
			return 1;
		}
		o->by_process = false;
		if ((o->by = report_by_parse(val)) < 0) {
			args_usage_error(cmd, "--by: unknown key '%s' (lineno, filename, function, traceback, module, site, type)", val);
			return -1;
		}
	} else if ((m = value_opt(cmd, accept, OPT_FRAMES, argc, argv, i,
				  "--frames", &val))) {
		if (m < 0)
			return -1;
		if ((o->fmode = frames_mode_parse(val)) < 0) {
			args_usage_error(cmd, "--frames: expected all, python or native, not '%s'", val);
			return -1;
		}
	} else if ((accept & OPT_FRAMES) && strcmp(a, "--full-names") == 0) {
		o->full_names = true;
	} else if ((accept & OPT_FRAMES) && strcmp(a, "--startup") == 0) {
		/* Python: the start-up's own call sites, not one row. */
		analysis_group_startup(false);
	} else if ((m = value_opt(cmd, accept, OPT_FRAMES, argc, argv, i,
				  "--depth", &val))) {
		long long d = m < 0 ? -1 : args_parse_count(val);
		if (m < 0)
			return -1;
		if (d < 1 || d > 100000) {
			args_usage_error(cmd, "--depth: expected a number of frames (1 or more), not '%s'", val);
			return -1;
		}
		o->depth = (int)d;
	} else if ((m = value_opt(cmd, accept, OPT_FRAMES, argc, argv, i,
				  "--system", &val))) {
		if (m < 0)
			return -1;
		if (!*val) {
			args_usage_error(cmd, "--system: expected a glob (module, file or function), not ''");
			return -1;
		}
		if (sysframes_add(sysframes_default(), val) < 0) {
			args_usage_error(cmd, "--system: out of memory");
			return -1;
		}
	} else if ((m = value_opt(cmd, accept, OPT_FILTERS, argc, argv, i,
				  "--include", &val))) {
		return m < 0 ? -1 :
			       add_pattern(cmd, "--include", o->inc, &o->ninc, val);
	} else if ((m = value_opt(cmd, accept, OPT_FILTERS, argc, argv, i,
				  "--exclude", &val))) {
		return m < 0 ? -1 :
			       add_pattern(cmd, "--exclude", o->exc, &o->nexc, val);
	} else if ((m = value_opt(cmd, accept, OPT_LIMIT, argc, argv, i, "-n",
				  &val)) ||
		   (m = value_opt(cmd, accept, OPT_LIMIT, argc, argv, i,
				  "--limit", &val))) {
		if (m < 0)
			return -1;
		if ((o->limit = args_parse_count(val)) < 0) {
			args_usage_error(cmd, "-n: expected a count, not '%s'", val);
			return -1;
		}
	} else {
		return 0;
	}
	return 1;
}

int opts_trace(const char *cmd, const char *arg, const char **path)
{
	if (arg[0] == '-' && arg[1])
		return args_usage_error(cmd, "unknown option '%s'", arg);
	if (*path)
		return args_usage_error(cmd, "unexpected argument '%s'", arg);
	*path = arg;
	return 0;
}

int opts_args(const char *cmd, unsigned accept, opts_extra_t extra,
	      void *ctx, int argc, char **argv, opts_t *o, const char **path)
{
	for (int i = 1; i < argc; i++) {
		int m = opts_parse(cmd, accept, argc, argv, &i, o);
		if (!m && extra)
			m = extra(cmd, argc, argv, &i, ctx);
		if (m > 0)
			continue;
		if (m < 0)
			return 2;
		if (!path)
			return args_usage_error(cmd, "unknown option '%s'", argv[i]);
		if ((accept & OPT_MULTI) && *path && !(argv[i][0] == '-' && argv[i][1])) {
			/* Another trace of the run. */
			if (!o->traces) {
				o->traces = calloc((size_t)argc, sizeof(*o->traces));
				if (!o->traces) {
					fprintf(stderr, "heaptrail: out of memory\n");
					return 2;
				}
				o->traces[o->ntraces++] = *path;
			}
			o->traces[o->ntraces++] = argv[i];
			continue;
		}
		if (opts_trace(cmd, argv[i], path))
			return 2;
	}
	if (o->by_process && o->ntraces < 2 && path && *path) {
		/* One trace is a tree of one process. */
		o->traces = calloc(1, sizeof(*o->traces));
		if (!o->traces) {
			fprintf(stderr, "heaptrail: out of memory\n");
			return 2;
		}
		o->traces[0] = *path;
		o->ntraces = 1;
	}
	if (path && !*path)
		return args_usage_error(cmd, "missing TRACE");
	/* --by type reads the native frames under the Python ones. */
	if (o->by == BY_TYPE && o->fmode == FRAMES_PYTHON)
		o->fmode = FRAMES_ALL;
	return 0;
}

void opts_free(opts_t *o)
{
	free(o->traces);
	o->traces = NULL;
	o->ntraces = 0;
}

int opts_check_cumulative(const char *cmd, const opts_t *o)
{
	if (o->cumulative && o->by == BY_TRACEBACK)
		return args_usage_error(cmd, "--cumulative cannot be used with --by traceback");
	if (o->cumulative && o->by == BY_TYPE)
		return args_usage_error(cmd, "--cumulative cannot be used with --by type");
	return 0;
}

void opts_display(const opts_t *o, frames_t *frames)
{
	if (frames)
		frames_set_display(frames, !o->json && !o->full_names, o->depth);
}

group_t *opts_group(const opts_t *o, frames_t *frames)
{
	opts_display(o, frames);
	group_t *g = frames ? group_new(frames, (report_by_t)o->by) : NULL;
	if (!g)
		return NULL;
	for (int i = 0; i < o->ninc; i++)
		group_add_filter(g, o->inc[i], true);
	for (int i = 0; i < o->nexc; i++)
		group_add_filter(g, o->exc[i], false);
	return g;
}

void opts_hint_unmatched(const opts_t *o, size_t matched)
{
	if (matched || !o->ninc)
		return;
	for (int i = 0; i < o->ninc; i++) {
		const char *pat = o->inc[i];
		if (pat[0] != '*' && !strchr(pat, '/'))
			fprintf(stderr, "heaptrail: note: --include '%s' matched nothing; patterns match the whole path (try '*/%s')\n",
				pat, pat);
		else
			fprintf(stderr, "heaptrail: note: --include '%s' matched nothing; patterns match the whole path\n",
				pat);
	}
}
