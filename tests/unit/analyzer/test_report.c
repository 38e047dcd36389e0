/* Report helpers: tracemalloc's size format, option values, JSON output. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>

#include "render/report.h"
#include "cli/args.h"
#include "render/fmt.h"
#include "render/json.h"

typedef struct size_case {
	double size;
	bool sign;
	char want[24];
} size_case_t;

/* Expected strings printed by CPython 3.11's tracemalloc._format_size. */
ParameterizedTestParameters(report, size_matches_tracemalloc)
{
	static size_case_t cases[] = {
		{ 0, false, "0 B" },	     { 1, true, "+1 B" },
		{ 9999, false, "9999 B" },   { 10240, false, "10.0 KiB" },
		{ 100000, false, "97.7 KiB" }, { 102400, true, "+100 KiB" },
		{ 1258291.2, false, "1229 KiB" }, { -12, true, "-12 B" },
		{ 5368709120.0, false, "5120 MiB" },
	};
	return cr_make_param_array(size_case_t, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(size_case_t *c, report, size_matches_tracemalloc)
{
	char buf[32];
	cr_assert_str_eq(fmt_size(buf, sizeof(buf), c->size, c->sign), c->want);
}

Test(report, time_values_take_units)
{
	cr_assert_eq(args_parse_time("2.5s"), 2500000);
	cr_assert_eq(args_parse_time("1500ms"), 1500000);
	cr_assert_eq(args_parse_time("300us"), 300);
	cr_assert_eq(args_parse_time("1m"), 60000000);
	cr_assert_eq(args_parse_time("3"), 3000000);
	cr_assert_eq(args_parse_time("soon"), -1);
	cr_assert_eq(args_parse_time("5h"), -1);
	cr_assert_eq(args_parse_count("12"), 12);
	cr_assert_eq(args_parse_count("-1"), -1);
	cr_assert_eq(args_parse_count("1x"), -1);
}

Test(report, size_values_take_decimal_and_binary_units)
{
	cr_assert_eq(args_parse_size("4096"), 4096);
	cr_assert_eq(args_parse_size("10B"), 10);
	cr_assert_eq(args_parse_size("24MB"), 24000000);
	cr_assert_eq(args_parse_size("24 MB"), 24000000);
	cr_assert_eq(args_parse_size("1kb"), 1000);
	cr_assert_eq(args_parse_size("1MiB"), 1048576);
	cr_assert_eq(args_parse_size("1.5KiB"), 1536);
	cr_assert_eq(args_parse_size("2GiB"), 2147483648LL);
	cr_assert_eq(args_parse_size("0.5B"), 0);
	cr_assert_eq(args_parse_size("1 "), -1);
	cr_assert_eq(args_parse_size("-1MB"), -1);
	cr_assert_eq(args_parse_size("12XB"), -1);
	cr_assert_eq(args_parse_size("MB"), -1);
	cr_assert_eq(args_parse_size("9000000TiB"), -1);
}

static void quiet(void)
{
	cr_redirect_stderr();
}

Test(report, option_values_inline_or_next, .init = quiet)
{
	char *argv[] = { "top", "--by=filename", "--at", "peak", "--at" };
	const char *v = NULL;
	int i = 1;
	cr_assert_eq(args_opt("top", 5, argv, &i, "--by", &v), 1);
	cr_assert_str_eq(v, "filename");
	i = 2;
	cr_assert_eq(args_opt("top", 5, argv, &i, "--by", &v), 0);
	cr_assert_eq(args_opt("top", 5, argv, &i, "--at", &v), 1);
	cr_assert_str_eq(v, "peak");
	cr_assert_eq(i, 3);
	i = 4;
	cr_assert_eq(args_opt("top", 5, argv, &i, "--at", &v), -1, "missing value");
	fflush(stderr);
	cr_assert_stderr_eq_str("heaptrail top: option '--at' needs a value\nTry 'heaptrail help top'.\n");
}

Test(report, json_escapes_and_separates)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t j;
	json_init(&j, f);
	json_obj_begin(&j);
	json_key(&j, "a");
	json_str(&j, "q\"b\\\n\x01\xff");
	json_key(&j, "n");
	json_arr_begin(&j);
	json_u64(&j, 1);
	json_i64(&j, -2);
	json_null(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_end(&j);
	json_key(&j, "t");
	json_bool(&j, true);
	json_obj_end(&j);
	fclose(f);
	cr_assert_str_eq(buf, "{\"a\":\"q\\\"b\\\\\\u000a\\u0001\\u00ff\",\"n\":[1,-2,null,{}],\"t\":true}");
	free(buf);
}
