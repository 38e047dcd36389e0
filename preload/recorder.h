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
/* site_ip: the return address into free()'s caller (0 = unknown). */
void recorder_free(void *p, uintptr_t site_ip);
/* old_usable: heapcount_usable(old) taken before the real realloc. */
void recorder_realloc(void *old, void *p, uint64_t size, int64_t old_usable);
/* A live block reused without malloc (a Python object taken from one of
 * CPython's free lists, pyframes/reftrace.c): recorded as its free and a
 * new allocation of `size` bytes at the caller's stack, which moves it to
 * the reusing line as tracemalloc does.  Same preconditions as the hot
 * path. */
void recorder_reuse(void *p, uint64_t size);
/* API snapshot from any thread; 0 or -1 when not recording (or when
 * called by a signal handler that interrupted a hook: counted lost). */
int recorder_snapshot(const char *label);
/* The same with another origin (HT_SNAP_*): the Python module's marks. */
int recorder_snapshot_as(const char *label, unsigned origin);

/* ---- signal handlers that interrupt a hook (session.h, hook_state) ----- */

/* The real free, for the frees a nested hook leaves to the drain (set by
 * hooks.c when it resolves libc; NULL in unit tests). */
extern void (*recorder_real_free)(void *) HT_HIDDEN;

/* From a nested hook (caller set HOOK_NESTED): takes the stack (not for
 * frees) and appends the event to the thread's pending list.  defer: addr
 * is freed by the drain, after its record.  0, or -1 when it could not
 * (full list, no stack: counted lost; a deferred free must then be done
 * by the caller).  Async-signal-safe; errno preserved. */
int recorder_pend(unsigned type, unsigned kind, void *addr, uint64_t aux, uint64_t size,
		  int defer);
/* Counts one event of a signal handler's as lost. */
void recorder_lose_nested(void);
/* Records the pending events into the ring (in order, each deferred free
 * after its record), with in_hook HOOK_REC meanwhile, and leaves in_hook
 * HOOK_NONE with the list empty.  Errno preserved. */
void recorder_drain(rec_tls_t *t);

/* A hook entered in HOOK_WAIT (a handler interrupted a hook that waits
 * for ring space): records what is pending and leaves in_hook HOOK_NONE,
 * so that the hook goes on as a hook of its own; the caller then puts
 * HOOK_WAIT back. */
static inline void recorder_wait_enter(rec_tls_t *t)
{
	if (__atomic_load_n(&t->pend_head, __ATOMIC_RELAXED) != t->pend_tail)
		recorder_drain(t);
	/* Atomic: the hook is called again by name next, and the compiler
	 * takes malloc and free for calls that read no memory of ours, so
	 * a plain store would be dropped as overwritten afterwards. */
	__atomic_store_n(&t->in_hook, HOOK_NONE, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* How every hook and mark ends: in_hook back to HOOK_NONE, then what
 * signal handlers left meanwhile is recorded.  (Two signals within the
 * few instructions between the store and the check could see the second
 * recorded before the first; the first's block freed by the second is
 * then a free of an unknown address.) */
static inline void recorder_hook_out(rec_tls_t *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->in_hook = HOOK_NONE;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (HT_UNLIKELY(__atomic_load_n(&t->pend_head, __ATOMIC_RELAXED) != t->pend_tail))
		recorder_drain(t);
}

#endif /* HT_RECORDER_H */
