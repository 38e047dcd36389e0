/* sigproxy: see sigproxy.h.
 *
 * Why: a runtime decides from the disposition it finds.  Rust installs its
 * stack-overflow handler only where SIGSEGV/SIGBUS are SIG_DFL; Python
 * installs KeyboardInterrupt only where SIGINT is SIG_DFL.  A visible
 * recorder handler changed both programs. */
#include "sigproxy.h"

#include "unwind.h"

#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#ifndef _NSIG
#define _NSIG 65
#endif

typedef struct taken {
	int owned; /* 1 while our handler is installed for this signal */
	sigproxy_handler_t handler; /* ours, to take the signal back */
	struct sigaction view; /* what the program last set (SIG_DFL at first) */
} taken_t;

static taken_t tab[_NSIG];
static int lock_word; /* spinlock over tab (never taken in a signal handler) */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static void lock(void)
{
	while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
}

int sigproxy_real(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (HT_UNLIKELY(!real_sigaction)) {
		real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(
			RTLD_NEXT, "sigaction");
		if (!real_sigaction) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_sigaction(sig, act, old);
}

void sigproxy_forget(int sig)
{
	if (sig <= 0 || sig >= _NSIG)
		return;
	__atomic_store_n(&tab[sig].handler, NULL, __ATOMIC_RELEASE);
	if (__atomic_load_n(&tab[sig].owned, __ATOMIC_ACQUIRE))
		sigproxy_release(sig);
}

static int is_default(const struct sigaction *a)
{
	return a->sa_handler == SIG_DFL; /* sa_sigaction shares the slot */
}

static void install(int sig, sigproxy_handler_t h)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h;
	/* SA_ONSTACK: a thread with an alternate stack (a stack overflow)
	 * runs us there. */
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigproxy_real(sig, &sa, NULL);
}

int sigproxy_take(int sig, sigproxy_handler_t h)
{
	if (sig <= 0 || sig >= _NSIG)
		return -1;
	struct sigaction cur;
	lock();
	int ok = sigproxy_real(sig, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
		 cur.sa_handler == SIG_DFL;
	if (ok) {
		tab[sig].handler = h;
		if (!tab[sig].owned)
			tab[sig].view = cur;
		install(sig, h);
		__atomic_store_n(&tab[sig].owned, 1, __ATOMIC_RELEASE);
	}
	unlock();
	return ok ? 0 : -1;
}

void sigproxy_release(int sig)
{
	/* No lock: called from our signal handler too. */
	if (sig <= 0 || sig >= _NSIG)
		return;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	__atomic_store_n(&tab[sig].owned, 0, __ATOMIC_RELEASE);
	sigproxy_real(sig, &dfl, NULL);
}


HT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	/* A handler may allocate while this thread is in libunwind. */
	if (act && ((act->sa_flags & SA_SIGINFO) ||
		    (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN)))
		unwind_signals_may_allocate();
	if (sig <= 0 || sig >= _NSIG)
		return sigproxy_real(sig, act, old);
	if (!__atomic_load_n(&tab[sig].owned, __ATOMIC_ACQUIRE)) {
		int r = sigproxy_real(sig, act, old);
		/* SIG_DFL back on a signal we take: ours again, invisibly. */
		sigproxy_handler_t h = __atomic_load_n(&tab[sig].handler, __ATOMIC_ACQUIRE);
		if (r == 0 && act && is_default(act) && h) {
			sigproxy_take(sig, h);
			tab[sig].view = *act;
		}
		return r;
	}
	lock();
	if (!tab[sig].owned) {
		unlock();
		return sigproxy_real(sig, act, old);
	}
	struct sigaction was = tab[sig].view;
	int r = 0;
	if (act && is_default(act)) {
		/* Still the default action to the program: ours stays. */
		tab[sig].view = *act;
	} else if (act) {
		r = sigproxy_real(sig, act, NULL);
		if (r == 0)
			__atomic_store_n(&tab[sig].owned, 0, __ATOMIC_RELEASE);
	}
	unlock();
	if (r == 0 && old)
		*old = was;
	return r;
}

/* glibc's signal() is BSD semantics: SA_RESTART, the signal blocked in its
 * handler. */
static sighandler_t set_handler(int sig, sighandler_t h, int flags, int mask_self)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (mask_self && sig > 0 && sig < _NSIG)
		sigaddset(&sa.sa_mask, sig);
	if (h == SIG_ERR || sigaction(sig, &sa, &old) < 0) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return old.sa_handler;
}

HT_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART, 1);
}

HT_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h);
HT_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART, 1);
}

HT_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

HT_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h);
HT_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

HT_EXPORT int sigignore(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

HT_EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) < 0)
		return -1;
	if (flag)
		sa.sa_flags &= ~SA_RESTART;
	else
		sa.sa_flags |= SA_RESTART;
	return sigaction(sig, &sa, NULL);
}

/* As glibc's: SIG_HOLD blocks the signal; anything else sets the handler
 * (empty mask, no flags) and unblocks it.  Returns SIG_HOLD when the
 * signal was blocked before. */
HT_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	sigset_t one, was;
	struct sigaction old;
	if (sig <= 0 || sig >= _NSIG || disp == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &one, &was) < 0 || sigaction(sig, NULL, &old) < 0)
			return SIG_ERR;
		return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = disp;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) < 0 || sigprocmask(SIG_UNBLOCK, &one, &was) < 0)
		return SIG_ERR;
	return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
}
