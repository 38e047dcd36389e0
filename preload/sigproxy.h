/* sigproxy: keeps the recorder's own signal handlers invisible.  The
 * recorder takes fatal and terminating signals left at their default
 * action (crash.c); the program's sigaction, signal, bsd_signal,
 * sysv_signal, sigset, sigignore and siginterrupt calls go through here and
 * see, for those signals, the disposition they would see without us (the
 * last one they set, SIG_DFL at first).  A program that installs a handler
 * or SIG_IGN replaces ours as if ours had never been there; one that puts
 * SIG_DFL back gives the signal to the recorder again.  Thread-safe; the
 * _real and _release calls are async-signal-safe. */
#ifndef HT_SIGPROXY_H
#define HT_SIGPROXY_H

#include <signal.h>

/* The handler the recorder installs on every signal it takes. */
typedef void (*sigproxy_handler_t)(int, siginfo_t *, void *);

/* From crash_install: takes sig with handler h (SA_SIGINFO | SA_RESETHAND |
 * SA_ONSTACK) when its action is SIG_DFL.  0, or -1 when the action is not
 * the default one. */
int sigproxy_take(int sig, sigproxy_handler_t h);
/* Gives sig back to SIG_DFL and forgets that we took it (the crash
 * handler itself, a fork child that does not record). */
void sigproxy_release(int sig);
/* sigproxy_release, and stops taking sig back when the program sets
 * SIG_DFL again (a fork child that does not record). */
void sigproxy_forget(int sig);
/* libc's sigaction, bypassing the proxy. */
int sigproxy_real(int sig, const struct sigaction *act, struct sigaction *old);

#endif /* HT_SIGPROXY_H */
