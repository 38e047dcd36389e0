/* writer: the consumer.  Drains the per-thread rings (registry.h) in
 * global sequence order, encodes events and records (encoder.h), and
 * writes the trace with write(2).  Driven by lifecycle.c; runs in its own
 * thread (all signals blocked, allocations never recorded) and, at exit or
 * exec, in the thread that ends the image.  Everything here runs under the
 * writer lock, except writer_warn and writer_signal_snapshot (any thread)
 * and writer_finish_fatal (a crashing thread).  Never calls the producer:
 * it ends a broken recording through session_stop. */
#ifndef HT_WRITER_H
#define HT_WRITER_H

#include <stdint.h>

/* Prepares buffers for a new image (or a followed fork child) and writes
 * the header (if fresh) and the PROCESS record.  0 or negative errno. */
int writer_begin(int fresh);
/* Starts the writer thread.  0 or negative errno. */
int writer_start_thread(void);
/* Final drain + exit snapshot + END.  Takes the lock. */
void writer_finish(void);
/* CPU time of the writer thread so far (ns), 0 when it is not running
 * (HEAPTRAIL_WRITERSTATS=1, for the bench). */
uint64_t writer_cpu_ns(void);
/* The same at a detach: DETACH and a "detach" snapshot instead of the exit
 * one; the process runs on. */
void writer_finish_detach(void);
/* After the trace ended: waits for the writer thread to exit (an attach's,
 * which is not detached).  0, or -1 when there is no such thread. */
int writer_join_thread(void);
/* Called by a thread dying of signal sig (async-signal-safe: no lock taken
 * here): the writer thread does writer_finish's work, with a SIGNAL record
 * before END, while this thread waits (at most 3 s).  0 once the trace is
 * ended; -1 when there is no writer thread to ask (or this is it), or it
 * did not answer in time. */
int writer_finish_fatal(int sig);
/* Drains and writes EXEC (and END when untraced_next: the next image will
 * not record), leaving the lock HELD; writer_unpause (exec failed) removes
 * that END again and releases the lock. */
int writer_pause_for_exec(const char *path, int untraced_next);
void writer_unpause(void);
/* Fork support. */
void writer_lock(void);
void writer_unlock(void);
/* In a followed fork child: forget the parent's buffered bytes and state. */
void writer_reset_child(void);
/* Async-signal-safe: asks for a SIGNAL snapshot. */
void writer_signal_snapshot(void);
/* Queues a WARNING record + a message line (util_say; any thread). */
void writer_warn(const char *text);
/* Queues a WARNING record only, for what is normal but worth a note in
 * `heaptrail info` (any thread). */
void writer_note(const char *text);

#endif /* HT_WRITER_H */
