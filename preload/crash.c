/* Crash handler: see crash.h. */
#include "crash.h"

#include "sigproxy.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* Every signal whose default action ends the process, except SIGKILL
 * and SIGSTOP (no handler) and SIGTRAP (debuggers).  The snapshot signal
 * (HEAPTRAIL_SNAPSHOT_SIGNAL) is skipped: it has its own handler. */
static const int fatal_signals[] = { SIGSEGV, SIGBUS,  SIGILL,  SIGFPE,    SIGABRT, SIGTERM,
				     SIGINT,  SIGHUP,  SIGQUIT, SIGPIPE,   SIGUSR1, SIGUSR2,
				     SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS };
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
	if (!si || si->si_code <= 0)
		return 0;
	/* SIGALRM, SIGXCPU... from the kernel have si_code SI_KERNEL (> 0)
	 * too, and a seccomp SIGSYS does not re-run its syscall. */
	if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE)
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

void crash_install(void (*fn)(int sig), int skip)
{
	on_first_crash = fn;
	for (unsigned i = 0; i < NFATAL; i++)
		if (fatal_signals[i] != skip)
			sigproxy_take(fatal_signals[i], on_crash);
}

void crash_uninstall(void)
{
	for (unsigned i = 0; i < NFATAL; i++)
		sigproxy_forget(fatal_signals[i]);
}
