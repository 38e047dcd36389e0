/* recorder: the producer.  The hooks call recorder_alloc/free/realloc on
 * their hot path (any thread): it finds the caller's stack id
 * (stackid.h), takes the event's sequence number and puts the
 * event into the thread's ring (registry.h).  It reads the session and
 * never calls the writer, which drains the rings on its own (the two meet
 * only in ring.h, registry.h and session.h).  Errno is preserved. */
#ifndef HT_RECORDER_H
#define HT_RECORDER_H

#include "registry.h"
#include "session.h"

#include <stdint.h>

/* Hot path (caller set ht_tls.in_hook and checked session_on()). */
void recorder_alloc(unsigned kind, void *p, uint64_t size, uint64_t align);
void recorder_free(void *p);
/* old_usable: heapcount_usable(old) taken before the real realloc. */
void recorder_realloc(void *old, void *p, uint64_t size, int64_t old_usable);
/* A live block reused without malloc (a Python object taken from one of
 * CPython's free lists, pyframes/reftrace.c): recorded as its free and a
 * new allocation of `size` bytes at the caller's stack, which moves it to
 * the reusing line as tracemalloc does.  Same preconditions as the hot
 * path. */
void recorder_reuse(void *p, uint64_t size);
/* API snapshot from any thread; 0 or -1 when not recording. */
int recorder_snapshot(const char *label);

#endif /* HT_RECORDER_H */
