/* Command-line helpers: see args.h. */
#include "cli/args.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int args_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "heaptrail %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'heaptrail help %s'.\n", cmd);
	return 2;
}

int args_opt(const char *cmd, int argc, char **argv, int *i,
	       const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc) {
		args_usage_error(cmd, "option '%s' needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

long long args_parse_count(const char *s)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	long long v = strtoll(s, &end, 10);
	if (*end || v < 0)
		return -1;
	return v;
}

long long args_parse_time(const char *s)
{
	char *end;
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	double v = strtod(s, &end);
	double mul;
	if (end == s || v < 0 || !isfinite(v))
		return -1;
	if (!*end || strcmp(end, "s") == 0)
		mul = 1e6;
	else if (strcmp(end, "ms") == 0)
		mul = 1e3;
	else if (strcmp(end, "us") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60e6;
	else
		return -1;
	v *= mul;
	if (v > 9e18)
		return -1;
	return (long long)v;
}

long long args_parse_size(const char *s)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "kb", 1e3 }, { "mb", 1e6 }, { "gb", 1e9 }, { "tb", 1e12 },
		{ "kib", 1024.0 }, { "mib", 1048576.0 },
		{ "gib", 1073741824.0 }, { "tib", 1099511627776.0 },
	};
	char *end;
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	double v = strtod(s, &end);
	if (end == s || v < 0 || !isfinite(v))
		return -1;
	if (*end == ' ' && end[1])
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].unit) == 0) {
			v *= units[i].mul;
			/* 2^62: far beyond any heap, and no overflow anywhere. */
			if (v > 4611686018427387904.0)
				return -1;
			return (long long)v;
		}
	return -1;
}

void args_parse_point(const char *s, point_spec_t *spec)
{
	memset(spec, 0, sizeof(*spec));
	if (strcmp(s, "end") == 0) {
		spec->kind = POINT_END;
		return;
	}
	if (strcmp(s, "peak") == 0) {
		spec->kind = POINT_PEAK;
		return;
	}
	/* A time needs a unit, so a bare number stays a snapshot index. */
	size_t len = strlen(s);
	if (len > 1 && isalpha((unsigned char)s[len - 1]) &&
	    args_parse_time(s) >= 0) {
		spec->kind = POINT_TIME;
		spec->time_us = (uint64_t)args_parse_time(s);
		return;
	}
	spec->kind = POINT_SNAPSHOT;
	spec->snapshot = s;
}

int args_at_end(const char *cmd, int argc, char **argv, int *i, int *at_exit)
{
	const char *v = NULL;
	int r = args_opt(cmd, argc, argv, i, "--at", &v);
	if (r <= 0)
		return r;
	if (strcmp(v, "teardown") == 0)
		*at_exit = 0;
	else if (strcmp(v, "end") == 0)
		*at_exit = 1;
	else {
		args_usage_error(cmd, "--at takes teardown or end (the end of "
				      "a Python program: before or after its "
				      "finalization), not '%s'", v);
		return -1;
	}
	return 1;
}
