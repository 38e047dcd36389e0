/* Command-line options shared by the report commands (info, snapshots,
 * top, diff, leaks, growth): --json, --no-symbols, --cumulative, --by,
 * --frames, --include/--exclude and -n/--limit, with the same values and
 * usage errors everywhere, what they make (a filtered group) and the
 * argument loop around them.  Called by cmd_*.c, which name the options
 * they accept and parse their own through a callback.  No state:
 * thread-safe per opts_t. */
#ifndef HEAPTRAIL_OPTS_H
#define HEAPTRAIL_OPTS_H

#include <stdbool.h>

#include "agg/agg.h"
#include "model/analysis.h"
#include "render/frames.h"
#include "agg/group.h"
#include "render/report.h"

#define OPTS_MAX_PATTERNS 32 /* per --include / --exclude list */

/* Which shared options a command accepts (bit set). */
enum {
	OPT_JSON = 1 << 0, /* --json */
	OPT_NO_SYMBOLS = 1 << 1, /* --no-symbols */
	OPT_CUMULATIVE = 1 << 2, /* --cumulative */
	OPT_BY = 1 << 3, /* --by KEY */
	OPT_FRAMES = 1 << 4, /* --frames all|python|native, and how frames
			      * are shown: --full-names, --depth N,
			      * --system GLOB, --startup (Python: start-up's
			      * call sites instead of `<interpreter startup>`) */
	OPT_FILTERS = 1 << 5, /* --include PAT, --exclude PAT */
	OPT_LIMIT = 1 << 6, /* -n N, --limit N */
	OPT_MULTI = 1 << 7, /* several TRACE operands (the traces of one run,
			     * cli/multi.h) and --by process */
};

typedef struct opts {
	bool json; /* --json */
	bool raw; /* --no-symbols: addresses, no DWARF lookup */
	bool cumulative; /* --cumulative */
	int by; /* report_by_t; BY_LINENO unless the command sets another
		 * (leaks: BY_TRACEBACK; a command that leads with the
		 * user's code sets BY_SITE) */
	int fmode; /* frames mode (FRAMES_*), FRAMES_ALL by default */
	long long limit; /* rows to show, >= 0; 10 by default */
	const char *inc[OPTS_MAX_PATTERNS]; /* --include globs (argv strings) */
	const char *exc[OPTS_MAX_PATTERNS]; /* --exclude globs (argv strings) */
	int ninc, nexc; /* used entries of inc / exc */
	bool full_names; /* --full-names: C++ names whole in text (JSON
			  * always has them whole) */
	int depth; /* --depth: frames per stack shown, 0 = all */
	/* OPT_MULTI: every TRACE operand in order (traces[0] is *path),
	 * malloc'd: opts_free. */
	const char **traces;
	size_t ntraces;
	bool by_process; /* --by process (OPT_MULTI): one row per process */
} opts_t;

/* Defaults: no flags, BY_LINENO, FRAMES_ALL, limit 10, no patterns. */
void opts_init(opts_t *o);

/* Frees what opts_args allocated (the traces list). */
void opts_free(opts_t *o);

/* Parses argv[*i] when it is one of the `accept` options (advancing *i
 * past a separate value).  --system adds its pattern to the process-wide
 * sysframes_default().  Returns 1 when consumed, 0 when argv[*i] is not
 * one of them, -1 after printing a usage error for command `cmd` (exit 2). */
int opts_parse(const char *cmd, unsigned accept, int argc, char **argv,
	       int *i, opts_t *o);

/* The operand branch of the argument loop of a command taking one TRACE
 * (info, snapshots, top, leaks, growth): an unknown option or a second
 * operand is a usage error (printed; returns 2), else sets *path (0). */
int opts_trace(const char *cmd, const char *arg, const char **path);

/* A command's own options, tried after the shared ones: returns 1 when
 * argv[*i] is one (advancing *i past a separate value), 0 when it is not,
 * -1 after printing a usage error. */
typedef int (*opts_extra_t)(const char *cmd, int argc, char **argv, int *i,
			    void *ctx);

/* The argument loop every command shares: each argument is one of the
 * `accept` options, else one of extra's (may be NULL), else the TRACE
 * operand (opts_trace), and a missing TRACE is a usage error.  With path
 * NULL, extra must take the operands itself (what it leaves is an unknown
 * option).  Returns 0, or 2 after printing a usage error. */
int opts_args(const char *cmd, unsigned accept, opts_extra_t extra,
	      void *ctx, int argc, char **argv, opts_t *o, const char **path);

/* The usage error shared by top and diff: 2 when --cumulative is combined
 * with --by traceback (message printed), else 0. */
int opts_check_cumulative(const char *cmd, const opts_t *o);

/* Applies o's --full-names/--json and --depth to frames (before their
 * first use; frames may be NULL). */
void opts_display(const opts_t *o, frames_t *frames);

/* A group over `frames` by o->by with o's include/exclude filters (and
 * opts_display); NULL when frames is NULL or memory runs out. */
group_t *opts_group(const opts_t *o, frames_t *frames);

/* When --include was given and nothing matched (matched == 0): a note on
 * stderr that patterns match the whole path, suggesting '*' + '/PAT' for
 * a pattern without a slash or a leading '*'. */
void opts_hint_unmatched(const opts_t *o, size_t matched);

#endif /* HEAPTRAIL_OPTS_H */
