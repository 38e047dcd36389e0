/* Crash handler: taken only for signals whose action is the default one,
 * given back only where it is still ours, and invisible to the program
 * (sigproxy: this binary links the proxy's sigaction and signal). */
#include "crash.h"
#include "sigproxy.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

static void custom(int sig)
{
	(void)sig;
}

/* What the kernel really has, past the proxy. */
static struct sigaction real_action_of(int sig)
{
	struct sigaction cur;
	memset(&cur, 0, sizeof(cur));
	cr_assert_eq(sigproxy_real(sig, NULL, &cur), 0);
	return cur;
}

/* What the program sees. */
static struct sigaction action_of(int sig)
{
	struct sigaction cur;
	memset(&cur, 0, sizeof(cur));
	cr_assert_eq(sigaction(sig, NULL, &cur), 0);
	return cur;
}

static int is_ours(int sig)
{
	struct sigaction cur = real_action_of(sig);
	return (cur.sa_flags & SA_SIGINFO) && (cur.sa_flags & SA_RESETHAND) &&
	       cur.sa_handler != SIG_DFL;
}

Test(crash, takes_only_signals_whose_action_is_the_default)
{
	signal(SIGFPE, custom);
	signal(SIGBUS, SIG_IGN);
	crash_install(NULL, SIGUSR2);
	cr_assert(is_ours(SIGSEGV));
	cr_assert(is_ours(SIGABRT));
	cr_assert(is_ours(SIGILL));
	cr_assert(is_ours(SIGTERM), "SIGTERM ends the process: taken too");
	cr_assert(!is_ours(SIGUSR2), "the skipped (snapshot) signal was taken");
	cr_assert_eq(real_action_of(SIGFPE).sa_handler, custom, "the program's handler was replaced");
	cr_assert_eq(real_action_of(SIGBUS).sa_handler, SIG_IGN, "an ignored signal was taken");
}

/* Issue 14, defect 2: Rust and Python looked at SIGSEGV / SIGINT, saw our
 * handler and skipped installing theirs. */
Test(crash, the_program_sees_the_default_action)
{
	crash_install(NULL, 0);
	struct sigaction seen = action_of(SIGSEGV);
	cr_assert_eq(seen.sa_handler, SIG_DFL);
	cr_assert_eq(seen.sa_flags & (SA_SIGINFO | SA_RESETHAND), 0);
	cr_assert_eq(signal(SIGINT, custom), SIG_DFL);
	cr_assert_eq(real_action_of(SIGINT).sa_handler, custom, "its handler replaces ours");
	cr_assert_eq(signal(SIGINT, SIG_DFL), custom);
	cr_assert(is_ours(SIGINT), "SIG_DFL back: ours again");
	cr_assert_eq(action_of(SIGINT).sa_handler, SIG_DFL);
}

Test(crash, gives_back_the_default_only_where_it_is_still_ours)
{
	crash_install(NULL, 0);
	signal(SIGABRT, custom); /* the program installs its own later */
	crash_uninstall();
	cr_assert_eq(real_action_of(SIGSEGV).sa_handler, SIG_DFL);
	cr_assert_eq(real_action_of(SIGILL).sa_handler, SIG_DFL);
	cr_assert_eq(real_action_of(SIGABRT).sa_handler, custom);
}
