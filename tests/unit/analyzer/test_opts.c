/* Shared report options: one parser, each command's accepted subset. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "cli/opts.h"

#define ALL (OPT_JSON | OPT_NO_SYMBOLS | OPT_CUMULATIVE | OPT_BY | \
	     OPT_FRAMES | OPT_FILTERS | OPT_LIMIT)

/* Runs opts_parse over every argument; returns the first non-1 result. */
static int parse_all(unsigned accept, int argc, char **argv, opts_t *o)
{
	opts_init(o);
	for (int i = 0; i < argc; i++) {
		int m = opts_parse("top", accept, argc, argv, &i, o);
		if (m != 1)
			return m;
	}
	return 1;
}

Test(opts, accepted_options_set_their_fields)
{
	char *argv[] = { "--json", "--no-symbols", "--cumulative", "--by",
			 "function", "--frames=python", "--include", "*a*",
			 "--exclude=b", "--include=c", "-n", "3" };
	opts_t o;
	cr_assert_eq(parse_all(ALL, 12, argv, &o), 1);
	cr_assert(o.json && o.raw && o.cumulative);
	cr_assert_eq(o.by, BY_FUNCTION);
	cr_assert_eq(o.fmode, FRAMES_PYTHON);
	cr_assert_eq(o.limit, 3);
	cr_assert_eq(o.ninc, 2);
	cr_assert_str_eq(o.inc[1], "c");
	cr_assert_eq(o.nexc, 1);
	cr_assert_str_eq(o.exc[0], "b");
}

Test(opts, defaults_are_lineno_all_frames_and_ten_rows)
{
	opts_t o;
	opts_init(&o);
	cr_assert_eq(o.by, BY_LINENO);
	cr_assert_eq(o.fmode, FRAMES_ALL);
	cr_assert_eq(o.limit, 10);
	cr_assert(!o.json && !o.raw && !o.cumulative && !o.ninc && !o.nexc);
}

Test(opts, an_option_the_command_does_not_accept_is_left_alone)
{
	char *argv[] = { "--include", "x" };
	opts_t o;
	cr_assert_eq(parse_all(OPT_JSON | OPT_BY, 2, argv, &o), 0);
	cr_assert_eq(o.ninc, 0);
}

Test(opts, bad_by_value_is_a_usage_error_naming_the_command,
     .init = cr_redirect_stderr)
{
	char *argv[] = { "--by", "bogus" };
	opts_t o;
	cr_assert_eq(parse_all(ALL, 2, argv, &o), -1);
	fflush(stderr);
	cr_assert_stderr_eq_str(
		"heaptrail top: --by: unknown key 'bogus' (lineno, filename, function, traceback, module, site, type)\n"
		"Try 'heaptrail help top'.\n");
}

Test(opts, the_33rd_include_pattern_is_refused, .init = cr_redirect_stderr)
{
	char *argv[66];
	opts_t o;
	for (int k = 0; k < 33; k++) {
		argv[2 * k] = "--include";
		argv[2 * k + 1] = "p";
	}
	cr_assert_eq(parse_all(ALL, 66, argv, &o), -1);
	cr_assert_eq(o.ninc, OPTS_MAX_PATTERNS);
	fflush(stderr);
	cr_assert_stderr_eq_str(
		"heaptrail top: too many --include\nTry 'heaptrail help top'.\n");
}

Test(opts, cumulative_with_traceback_is_refused, .init = cr_redirect_stderr)
{
	opts_t o;
	opts_init(&o);
	o.cumulative = true;
	cr_assert_eq(opts_check_cumulative("diff", &o), 0);
	o.by = BY_TRACEBACK;
	cr_assert_eq(opts_check_cumulative("diff", &o), 2);
	fflush(stderr);
	cr_assert_stderr_eq_str(
		"heaptrail diff: --cumulative cannot be used with --by traceback\n"
		"Try 'heaptrail help diff'.\n");
}
