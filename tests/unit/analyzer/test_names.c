/* names (common/names.c, in both binaries): signal names, %p expansion and
 * the default trace name, as the wrapper and the library both use them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>

#include "common/names.h"

Test(names, signal_names_in_any_case_with_or_without_sig)
{
	cr_assert_eq(names_parse_signal("usr2"), SIGUSR2);
	cr_assert_eq(names_parse_signal("SIGUSR2"), SIGUSR2);
	cr_assert_eq(names_parse_signal("sigHup"), SIGHUP);
	cr_assert_eq(names_parse_signal("KILL"), SIGKILL);
}

Test(names, realtime_signals_by_offset)
{
	cr_assert_eq(names_parse_signal("RTMIN"), SIGRTMIN);
	cr_assert_eq(names_parse_signal("sigrtmin+2"), SIGRTMIN + 2);
	cr_assert_eq(names_parse_signal("RTMAX-1"), SIGRTMAX - 1);
	cr_assert_eq(names_parse_signal("RTMIN-1"), -EINVAL);
	cr_assert_eq(names_parse_signal("RTMIN+99"), -EINVAL);
}

Test(names, snapshot_signals_exclude_what_cannot_be_caught)
{
	cr_assert_eq(names_snapshot_signal("USR1"), SIGUSR1);
	cr_assert_eq(names_snapshot_signal("KILL"), -EINVAL);
	cr_assert_eq(names_snapshot_signal("19"), -EINVAL);
	cr_assert_eq(names_snapshot_signal("64"), 64);
	cr_assert_eq(names_snapshot_signal("65"), -EINVAL);
}

Test(names, pattern_expands_pid_and_percent)
{
	char buf[64];
	cr_assert_eq(names_expand("a.%p.%%p.%x%", 42, buf, sizeof(buf)), 1);
	cr_assert_str_eq(buf, "a.42.%p.%x%");
	cr_assert_eq(names_expand("plain", 42, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "plain");
	cr_assert_eq(names_expand("%p%p", 7, buf, 2), -ENAMETOOLONG);
}

Test(names, default_name_is_after_the_last_part_of_argv0)
{
	char buf[64];
	cr_assert_eq(names_default_trace("/usr/bin/python3", 12, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "heaptrail.python3.12.htr");
	cr_assert_eq(names_default_trace("", 5, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "heaptrail.prog.5.htr");
	cr_assert_eq(names_default_trace("x", 5, buf, 8), -ENAMETOOLONG);
}
