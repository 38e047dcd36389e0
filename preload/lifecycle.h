/* lifecycle: the top of the library below the hooks: drives the session
 * through start, finish, exec, fork and crash, and sets up every module
 * for it (stack table, unwinder, module map, Python frames, writer thread,
 * crash handler, snapshot signal).  Called by hooks.c: the library
 * constructor and destructor, exit and exec hooks, pthread_atfork.  Runs
 * in single-threaded moments or under the writer lock; the crash entry is
 * async-signal-safe. */
#ifndef HT_LIFECYCLE_H
#define HT_LIFECYCLE_H

#include "config.h"

/* Starts recording into fd (-1 = null sink) with cfg: registry, stack
 * table, unwinder, writer thread, PROCESS record.  0, or negative errno
 * with why (cap bytes) saying what failed in words; a start that failed
 * has unmapped everything it mapped and the hooks just forward. */
int lifecycle_start(const config_t *cfg, int fd, int fresh, char *why, size_t cap);
/* Final flush at exit: exit snapshot, END.  Idempotent. */
void lifecycle_finish(void);
/* The end of an attach (attach.c): DETACH, the "detach" snapshot and END,
 * then the writer thread is joined, the snapshot signal's previous action
 * put back and the trace closed.  The process runs on; the hooks forward. */
void lifecycle_detach(void);
/* Exec in the recording process: flush and write EXEC (and END when the
 * new image will not record: untraced_next), keeping the writer paused;
 * lifecycle_exec_failed() resumes it.  0, or -1 when not recording here. */
int lifecycle_before_exec(const char *path, int untraced_next);
void lifecycle_exec_failed(void);
/* pthread_atfork handlers. */
void lifecycle_fork_prepare(void);
void lifecycle_fork_parent(void);
void lifecycle_fork_child(void);

#endif /* HT_LIFECYCLE_H */
