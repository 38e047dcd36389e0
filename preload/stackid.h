/* stackid: the stack id of a hook's caller, and everything about caching
 * it: the memo kept in the chain cache's note (unwind.h: one per native
 * stack, with the Python frames it was noted with), pymemo (stackid's
 * private table of the same native stack's ids under other Python frames),
 * the known-id early exit, interning (stacks.h) when no cache knows, the
 * verify-mode cross-check of the caches against interning, and the
 * module-map refresh a new stack needs.  Called by the recorder on its hot
 * path (any thread; no malloc, no lock but stacks_intern's insert of a new
 * stack). */
#ifndef HT_STACKID_H
#define HT_STACKID_H

#include "pyframes.h"
#include "session.h"
#include "stacks.h"
#include "unwind.h"
#include "util.h"

#include <stdint.h>

/* The id noted for one native stack, kept in its chain's note. */
#define STACKID_MEMO_PY 16 /* Python frames a memo can hold */
typedef struct __attribute__((may_alias)) stackid_memo {
	uint32_t id; /* interned stack id, 0 = none (the unwinder zeroes it) */
	uint32_t m; /* Python frames of that stack (<= STACKID_MEMO_PY) */
	uint32_t py[2 * STACKID_MEMO_PY]; /* their code ids, then their lines */
} stackid_memo_t;
_Static_assert(sizeof(stackid_memo_t) <= UNWIND_NOTE_SIZE, "the memo fits the note");

static inline stackid_memo_t *stackid_memo(unwind_note_t *note)
{
	return (stackid_memo_t *)(void *)note->data;
}

/* The id of the stack from the hook's frame record entry (rec_tls_t.entry)
 * when the chain cache knows it whole and this thread runs no Python: the
 * common case, inline.  0 otherwise (then stackid_capture). */
static inline uint32_t stackid_known(const uintptr_t *entry)
{
	unwind_note_t *note;
	const stackid_memo_t *memo;
	if (HT_LIKELY(entry != NULL) && ht_session.unwind && pyframes_idle() &&
	    (note = unwind_cached(entry, ht_session.depth)) != NULL &&
	    (memo = stackid_memo(note))->id && !memo->m)
		return memo->id;
	return 0;
}

/* Every other case: Python frames, a stack the caches do not know (it is
 * unwound and interned, and noted for next time), verify mode.  entry may
 * be NULL.  Returns the id, 0 only when memory ran out.  Errno may change. */
uint32_t stackid_capture(const uintptr_t *entry);

/* The id of a free's site (HT_STACK_FREESITE): one native frame, the
 * return address ip into free()'s caller, and the innermost Python frame
 * when Python frames are captured.  No unwind: a free must stay cheap.
 * The thread's last few sites are reused, and a thread's Python sites
 * are kept in a per-thread table (stackid.c).  Returns 0 (an unknown site) when memory ran out or there is
 * nothing to name (no native stacks, no Python frame).  Errno is kept. */
uint32_t stackid_free_site_slow(uintptr_t ip);
static inline uint32_t stackid_free_site(uintptr_t ip)
{
	const struct rec_free_site *f = &ht_tls.free_sites[0];
	if (HT_LIKELY(f->id && f->ip == ip && !f->code) && pyframes_idle())
		return f->id;
	return stackid_free_site_slow(ip);
}
/* The id of the native stack of a hook called by a signal handler that
 * interrupted a hook on this thread (unwind_capture_nested; no Python
 * frames, no caches).  0 when it cannot be had there.  *is_new: the caller
 * must call stackid_refresh_modules() before the event is committed.
 * STACKID_LATER when the interrupted code holds the stack table's insert
 * lock: the frames wait in this thread's slot `slot` (the pending entry's
 * index) until stackid_nested_later interns them, once that code went on;
 * the slot must not be reused before. */
#define STACKID_LATER STACKS_HELD
uint32_t stackid_nested(unsigned slot, int *is_new);
uint32_t stackid_nested_later(unsigned slot, int *is_new);
/* What stackid_capture does after interning a new stack: the module map
 * may have to be refreshed (and the learned rules dropped). */
void stackid_refresh_modules(void);

/* Verify mode: cached ids that differed from interning's since init
 * (added to the unwinder's mismatches in the verify report). */
uint64_t stackid_mismatches(void);

/* The calling thread is exiting: releases its caches (chain cache,
 * pymemo).  The registry's thread-exit callback. */
void stackid_thread_exit(void);

/* A followed fork child, alone: a fresh interning table; every cached id
 * is forgotten. */
void stackid_reset_child(void);

#endif /* HT_STACKID_H */
