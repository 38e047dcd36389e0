/* stackid: the stack id of a hook's caller.  The one place that decides
 * when a cached id may be used and what gets noted where: the chain
 * cache's memo (unwind.h: one per native stack, with the Python frames it
 * was noted with), pymemo (the ids of the same native stack under other
 * Python frames), interning (stacks.h) when neither knows, the verify-mode
 * cross-check of the caches against interning, and the module-map refresh
 * a new stack needs.  Called by the recorder on its hot path (any thread;
 * no malloc, no lock but stacks_intern's insert of a new stack). */
#ifndef HT_STACKID_H
#define HT_STACKID_H

#include "pyframes.h"
#include "session.h"
#include "unwind.h"
#include "util.h"

#include <stdint.h>

/* The id of the stack from the hook's frame record entry (rec_tls_t.entry)
 * when the chain cache knows it whole and this thread runs no Python: the
 * common case, inline.  0 otherwise (then stackid_capture). */
static inline uint32_t stackid_known(const uintptr_t *entry)
{
	unwind_memo_t *memo;
	if (HT_LIKELY(entry != NULL) && ht_session.unwind && pyframes_idle() &&
	    (memo = unwind_known(entry, ht_session.depth)) != NULL && memo->id && !memo->m)
		return memo->id;
	return 0;
}

/* Every other case: Python frames, a stack the caches do not know (it is
 * unwound and interned, and noted for next time), verify mode.  entry may
 * be NULL.  Returns the id, 0 only when memory ran out.  Errno may change. */
uint32_t stackid_capture(const uintptr_t *entry);

/* The calling thread is exiting: releases its caches (chain cache,
 * pymemo).  The registry's thread-exit callback. */
void stackid_thread_exit(void);

/* A followed fork child, alone: a fresh interning table; every cached id
 * is forgotten. */
void stackid_reset_child(void);

#endif /* HT_STACKID_H */
