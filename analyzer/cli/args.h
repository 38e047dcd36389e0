/* Command-line helpers for the commands' hand-written argument loops:
 * usage errors (exit 2), `--name VALUE` matching, counts, times and
 * report points.  Called by cli/opts.c and cli/cmd_*.c.  No state:
 * thread-safe. */
#ifndef HEAPTRAIL_ARGS_H
#define HEAPTRAIL_ARGS_H

#include "agg/point.h"

/* Prints "heaptrail CMD: MSG" + "Try 'heaptrail help CMD'." to stderr and
 * returns 2 (the usage-error exit code). */
int args_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Option matching: when argv[*i] is `name VALUE` or `name=VALUE`, sets
 * *val, advances *i past the value and returns 1; returns 0 when argv[*i]
 * is another argument; returns -1 (after printing a usage error naming
 * the option) when the value is missing. */
int args_opt(const char *cmd, int argc, char **argv, int *i,
	     const char *name, const char **val);
/* Parses a non-negative integer option value; -1 when invalid. */
long long args_parse_count(const char *s);
/* Parses a time like "2.5s", "1500ms", "300us", "1m", bare seconds;
 * returns microseconds or -1 when invalid. */
long long args_parse_time(const char *s);
/* Parses a size in bytes: a decimal number (fractions allowed, rounded
 * down to whole bytes) with an optional unit, case-insensitive, optionally
 * after one space: B; kB/KB, MB, GB, TB (powers of 1000); KiB, MiB, GiB,
 * TiB (powers of 1024).  "24MB" = 24000000, "1MiB" = 1048576, "4096" =
 * 4096.  Returns the bytes, or -1 when invalid or above 2^62. */
long long args_parse_size(const char *s);
/* Parses a point of the trace (top --at, diff --from/--to): "end",
 * "peak", a time with a unit ("2.5s", "1500ms", "300us") or else a
 * snapshot label/index.  s must outlive the spec. */
void args_parse_point(const char *s, point_spec_t *spec);

/* `--at teardown|end` of leaks and report (a Python program's end: its
 * teardown mark, or the end of the trace after finalization): returns 1
 * and sets *at_exit (0 teardown, 1 end) when argv[*i] is it, 0 when it is
 * another argument, -1 after printing a usage error. */
int args_at_end(const char *cmd, int argc, char **argv, int *i, int *at_exit);

#endif /* HEAPTRAIL_ARGS_H */
