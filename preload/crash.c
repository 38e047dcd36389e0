/* Crash handler: see crash.h. */
#include "crash.h"

#include "util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

/* 1 once a crash was handled: a second one (another thread, or a fault
 * while ending the trace) goes straight to the default action. */
static int fired;
/* What a crash runs first (crash_install's argument). */
static void (*on_first_crash)(int sig);

/* A fault the kernel raised for the instruction itself: returning re-runs
 * the instruction, which faults again under the default action. */
static int refaults(int sig, const siginfo_t *si)
{
	if (!si || si->si_code <= 0 || sig == SIGABRT)
		return 0;
	/* An asynchronous machine-check report is not tied to an instruction. */
	return !(sig == SIGBUS && si->si_code == BUS_MCEERR_AO);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	/* The default action back.  SA_RESETHAND did that when the kernel
	 * called us; a program's own handler that chains to the one it found
	 * installed (ours) calls us directly, and its handler stays installed:
	 * without this, the fault would come back to it, then to us, forever,
	 * where before it chained to SIG_DFL and died. */
	util_signal_default(sig);
	if (!__atomic_exchange_n(&fired, 1, __ATOMIC_SEQ_CST) && on_first_crash)
		on_first_crash(sig);
	if (!refaults(sig, si))
		raise(sig); /* blocked in here: delivered when we return */
	errno = saved;
}

void crash_install(void (*fn)(int sig))
{
	on_first_crash = fn;
	for (unsigned i = 0; i < NFATAL; i++) {
		struct sigaction cur;
		if (sigaction(fatal_signals[i], NULL, &cur) != 0 ||
		    (cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_crash;
		/* SA_ONSTACK: a thread with an alternate stack (a stack
		 * overflow) runs us there. */
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

void crash_uninstall(void)
{
	for (unsigned i = 0; i < NFATAL; i++) {
		struct sigaction cur;
		if (sigaction(fatal_signals[i], NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO) ||
		    cur.sa_sigaction != on_crash)
			continue;
		util_signal_default(fatal_signals[i]);
	}
}
