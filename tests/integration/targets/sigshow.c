/* Prints the dispositions it finds, as runtimes (Rust, Python) inspect
 * them before installing their own handlers, then installs and replaces
 * handlers through sigaction, signal, sigset, bsd_signal and sysv_signal
 * and prints what each call returned.  The output must be the same with
 * and without the recorder.  Issue 14, defect 2: the recorder's crash
 * handler was visible here. */
#include <signal.h>
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* sigset, on purpose */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern __sighandler_t bsd_signal(int, __sighandler_t);

static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT,
			    SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU };
static volatile sig_atomic_t got;

static void on_sig(int sig)
{
	got = sig;
}

static const char *name(void (*h)(int))
{
	if (h == SIG_DFL)
		return "SIG_DFL";
	if (h == SIG_IGN)
		return "SIG_IGN";
	if (h == on_sig)
		return "on_sig";
	if (h == SIG_HOLD)
		return "SIG_HOLD";
	return "other";
}

static void show(const char *when)
{
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;
		if (sigaction(sigs[i], NULL, &sa) != 0) {
			printf("%s %s: error\n", when, strsignal(sigs[i]));
			continue;
		}
		printf("%s %d: %s flags %#x\n", when, sigs[i], name(sa.sa_handler),
		       (unsigned)sa.sa_flags & ~0x04000000u /* SA_RESTORER */);
	}
}

int main(void)
{
	show("start");
	printf("signal TERM was %s\n", name(signal(SIGTERM, on_sig)));
	printf("signal TERM now %s\n", name(signal(SIGTERM, SIG_DFL)));
	printf("sigset INT was %s\n", name(sigset(SIGINT, on_sig)));
	printf("sigset INT now %s\n", name(sigset(SIGINT, SIG_DFL)));
	printf("bsd_signal HUP was %s\n", name(bsd_signal(SIGHUP, SIG_IGN)));
	printf("sysv_signal USR1 was %s\n", name(sysv_signal(SIGUSR1, on_sig)));
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	printf("sigaction SEGV was %s\n", name(old.sa_handler));
	show("after");
	raise(SIGUSR1);
	printf("handled %d\n", (int)got);
	/* SIGTERM is SIG_DFL again: it must still kill us. */
	fflush(stdout);
	raise(SIGTERM);
	return 0;
}
