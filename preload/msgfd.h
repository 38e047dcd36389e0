/* msgfd: where the recorder's one-line messages go, never onto the
 * program's own descriptors (issue 20.1).  Under `heaptrail record` that is
 * the wrapper's message file (HEAPTRAIL_MSG_FD, checked against
 * HEAPTRAIL_MSG_FD_ID), which the wrapper prints once, after the program;
 * with the bare LD_PRELOAD way a private dup of fd 2, taken at start and
 * only when fd 2 was a terminal, that gets one line at most; else nowhere.
 * Set up by config_load (single-threaded start, fork child); msgfd_write
 * is async-signal-safe and thread-safe. */
#ifndef HT_MSGFD_H
#define HT_MSGFD_H

#include <stddef.h>

#include "util.h"

/* Chooses the descriptor from the environment and fd 2.  keep_on_exec:
 * the wrapper's descriptor stays open across exec (followed children
 * write to it too). */
void msgfd_setup(int keep_on_exec);
/* An attach's message file (attach.c): fd, opened by the caller, takes
 * every line from now on (-1: none; the previous one is closed). */
void msgfd_use(int fd);
/* Writes one whole line (no SIGPIPE escapes).  Lines beyond the budget of
 * the chosen way are dropped. */
void msgfd_write(const char *buf, size_t len);
/* Under `heaptrail record` only (the wrapper's file, never the bare
 * LD_PRELOAD way's terminal): tells the wrapper that this process writes
 * the trace `path` (made absolute against the working directory), as the
 * line HT_MSG_TRACE_PREFIX "<pid> <path>", which the wrapper lists in its
 * summary instead of printing.  Async-signal-safe, no allocation. */
void msgfd_announce_trace(int pid, const char *path);
/* Around an exec whose new image is traced (it gets the trace too): on =
 * 1 lets the wrapper's descriptor through the exec, on = 0 makes it
 * close-on-exec again (a failed exec).  Without it the new image (a
 * shell's exec, pyenv's shims) could say nothing, trace names included. */
void msgfd_hand_over(int on);
/* The descriptor fdguard protects, -1 = none. */
extern int msgfd_fd HT_HIDDEN;
/* Moves our descriptor away from number fd (the program dup2s onto it).
 * 0, or -1 when it cannot move (we then stop writing to it). */
int msgfd_make_room(int fd);

#endif /* HT_MSGFD_H */
