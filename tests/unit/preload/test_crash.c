/* Crash handler: taken only for signals whose action is the default one,
 * given back only where it is still ours. */
#include "crash.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

static void custom(int sig)
{
	(void)sig;
}

static struct sigaction action_of(int sig)
{
	struct sigaction cur;
	memset(&cur, 0, sizeof(cur));
	cr_assert_eq(sigaction(sig, NULL, &cur), 0);
	return cur;
}

static int is_ours(int sig)
{
	struct sigaction cur = action_of(sig);
	return (cur.sa_flags & SA_SIGINFO) && (cur.sa_flags & SA_RESETHAND) &&
	       cur.sa_handler != SIG_DFL;
}

Test(crash, takes_only_signals_whose_action_is_the_default)
{
	signal(SIGFPE, custom);
	signal(SIGBUS, SIG_IGN);
	crash_install(NULL);
	cr_assert(is_ours(SIGSEGV));
	cr_assert(is_ours(SIGABRT));
	cr_assert(is_ours(SIGILL));
	cr_assert_eq(action_of(SIGFPE).sa_handler, custom, "the program's handler was replaced");
	cr_assert_eq(action_of(SIGBUS).sa_handler, SIG_IGN, "an ignored signal was taken");
	cr_assert_eq(action_of(SIGTERM).sa_handler, SIG_DFL, "SIGTERM is not a crash");
}

Test(crash, gives_back_the_default_only_where_it_is_still_ours)
{
	crash_install(NULL);
	signal(SIGABRT, custom); /* the program installs its own later */
	crash_uninstall();
	cr_assert_eq(action_of(SIGSEGV).sa_handler, SIG_DFL);
	cr_assert_eq(action_of(SIGILL).sa_handler, SIG_DFL);
	cr_assert_eq(action_of(SIGABRT).sa_handler, custom);
}
