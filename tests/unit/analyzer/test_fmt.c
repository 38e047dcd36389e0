/* Printed times: the digits a trace's clock resolution supports, rounded
 * (not cut), one helper for text, the HTML page and the exports (issue
 * 12: the page printed three decimals whatever the clock, massif cut to
 * the millisecond below, pprof claimed nanoseconds). */
#include <criterion/criterion.h>

#include "render/fmt.h"

static void at_resolution(uint64_t us)
{
	fmt_set_resolution(us);
}

static void back_to_one_us(void)
{
	fmt_set_resolution(1);
}

Test(fmt, decimals_follow_the_resolution, .fini = back_to_one_us)
{
	static const struct { uint64_t res; int decimals; } cases[] = {
		{ 1, 6 }, { 10, 5 }, { 26, 4 }, { 100, 4 }, { 101, 3 }, { 2000, 2 },
		{ 10000, 2 }, { 10001, 1 }, { 1000000, 0 }, { 5000000, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		at_resolution(cases[i].res);
		cr_assert_eq(fmt_time_decimals(), cases[i].decimals, "at %llu us",
			     (unsigned long long)cases[i].res);
	}
}

Test(fmt, times_round_to_the_unit_not_down, .fini = back_to_one_us)
{
	at_resolution(26); /* units of 100 us */
	cr_assert_eq(fmt_round_us(12649, 1), 12600);
	cr_assert_eq(fmt_round_us(12650, 1), 12700);
	/* massif's whole milliseconds: the coarser of the two units. */
	cr_assert_eq(fmt_round_us(21986, 1000), 22000);
	cr_assert_eq(fmt_round_us(589, 1000), 1000);
	cr_assert_eq(fmt_round_us(499, 1000), 0);
	at_resolution(10000); /* an old trace: 10 ms */
	cr_assert_eq(fmt_round_us(21986, 1000), 20000);
	cr_assert_eq(fmt_round_us(25000, 1), 30000);
}

Test(fmt, seconds_print_the_rounded_digits, .fini = back_to_one_us)
{
	char b[32];
	at_resolution(1);
	cr_assert_str_eq(fmt_seconds(b, sizeof b, 1250000), "1.250000s");
	at_resolution(26);
	cr_assert_str_eq(fmt_seconds(b, sizeof b, 12649), "0.0126s");
	cr_assert_str_eq(fmt_seconds(b, sizeof b, 1999960), "2.0000s");
	at_resolution(10000);
	cr_assert_str_eq(fmt_seconds(b, sizeof b, 12649), "0.01s");
	at_resolution(2000000);
	cr_assert_str_eq(fmt_seconds(b, sizeof b, 2600000), "3s");
}
