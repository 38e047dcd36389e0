/* crash: completes the trace when the program dies of a crash.  Without
 * it, a SIGSEGV or an abort() loses every event still in the rings and the
 * writer's buffer (up to a ring per thread), and the trace ends torn.
 *
 * crash_install takes SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT, each
 * only while its action is the default one: a program's own handler, or an
 * ignored signal, is left alone, and a handler the program installs later
 * simply replaces ours.  On the first crash the handler calls the function
 * given to crash_install (the lifecycle's: the writer thread drains
 * everything and writes SIGNAL + END, writer_finish_fatal),
 * then lets the signal take its default action: a fault happens again when
 * the handler returns (same siginfo, same core), anything else (abort,
 * kill) is raised again.  The process dies of the same signal either way,
 * also when a program's handler chains to ours by calling it directly (the
 * handler puts SIG_DFL back itself, not only through SA_RESETHAND).
 * HEAPTRAIL_CRASH_FLUSH=0 installs nothing. */
#ifndef HT_CRASH_H
#define HT_CRASH_H

/* Installs the handler where the action is SIG_DFL (library constructor,
 * after the writer thread started); fn(sig) runs on the first crash, in the
 * crashing thread, and must be async-signal-safe (NULL: nothing runs
 * first).  Goes through sigproxy, so that the program does not see it;
 * `skip` (the snapshot signal, or 0) is left alone. */
void crash_install(void (*fn)(int sig), int skip);
/* Gives SIG_DFL back where our handler is still installed (a fork child
 * that does not record). */
void crash_uninstall(void);

#endif /* HT_CRASH_H */
