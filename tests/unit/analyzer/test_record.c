/* `heaptrail record` pieces that need no child process: signal parsing.
 * (The wrapper itself is exercised end to end by tests/integration.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>

#include "launcher/record.h"

Test(record, signal_names_parse_with_or_without_sig_prefix_in_any_case)
{
	cr_assert_eq(record_parse_signal("USR2"), SIGUSR2);
	cr_assert_eq(record_parse_signal("SIGUSR2"), SIGUSR2);
	cr_assert_eq(record_parse_signal("usr1"), SIGUSR1);
	cr_assert_eq(record_parse_signal("SigHup"), SIGHUP);
}

Test(record, signal_numbers_parse_within_range)
{
	cr_assert_eq(record_parse_signal("12"), 12);
	cr_assert_eq(record_parse_signal("1"), 1);
	cr_assert_eq(record_parse_signal("0"), -EINVAL);
	cr_assert_eq(record_parse_signal("65"), -EINVAL);
	cr_assert_eq(record_parse_signal("12x"), -EINVAL);
}

Test(record, unknown_or_empty_signal_names_are_rejected)
{
	cr_assert_eq(record_parse_signal(""), -EINVAL);
	cr_assert_eq(record_parse_signal(NULL), -EINVAL);
	cr_assert_eq(record_parse_signal("SIG"), -EINVAL);
	cr_assert_eq(record_parse_signal("NOSUCH"), -EINVAL);
	cr_assert_eq(record_parse_signal("-12"), -EINVAL);
}
