/* unwind: captures the native call stack of the calling thread for the
 * hooks (stackid.c's stackid_capture).  Fast path: a walk driven by
 * per-return-address CFA rules that libunwind itself supplied (learned
 * once per address), behind a per-thread cache of whole verified walks;
 * anything unknown or unusual falls back to libunwind's unw_backtrace.
 * Each mode is its own function in unwind.c; verify mode wraps the other
 * two (records libunwind's stack, compares the fast walk's with it).
 * The recorder's own leading frames are dropped.  Thread-safe after
 * unwind_init(); never calls malloc (tables and caches are mmap'd). */
#ifndef HT_UNWIND_H
#define HT_UNWIND_H

#include <stdint.h>

/* HEAPTRAIL_UNWIND (parsed by config.c): fast (default), libunwind (always
 * unw_backtrace), or verify (both for every stack; the libunwind one is
 * recorded and differences are counted). */
enum unwind_mode {
	UNWIND_FAST = 0,
	UNWIND_LIBUNWIND = 1,
	UNWIND_VERIFY = 2,
};

/* Sets up the backend in mode (UNWIND_*); self_lo/self_hi bound the
 * recorder's own text (frames inside it are dropped).  Descriptors the
 * backend keeps open are placed at high_fd or above.  Call once, before
 * other threads unwind.  0 or negative errno (the fast path is then off). */
int unwind_init(uintptr_t self_lo, uintptr_t self_hi, int high_fd, int mode);

/* The mode in use (UNWIND_*; libunwind when the fast tables are missing).
 * Tests change it through seam.h. */
int unwind_mode(void);

/* Extra slots ips must have beyond max (the recorder's own frames are
 * captured too, then dropped). */
#define UNWIND_EXTRA 13

/* The recorder's note about one native stack (see unwind_capture). */
#define UNWIND_MEMO_PY 16 /* Python frames a memo can hold */
typedef struct unwind_memo {
	uint32_t id; /* interned stack id, 0 = none */
	uint32_t m; /* Python frames of that stack (<= UNWIND_MEMO_PY) */
	uint64_t serial; /* names this native stack on this thread (>= 1, never reused) */
	uint32_t py[2 * UNWIND_MEMO_PY]; /* their code ids, then their lines */
} unwind_memo_t;

/* The Python frames that go with a native stack (code ids, lines). */
typedef struct unwind_py {
	const uint32_t *code, *line;
	unsigned m;
} unwind_py_t;

/* 1 when memo holds an id noted with exactly these Python frames. */
int unwind_memo_same(const unwind_memo_t *memo, const unwind_py_t *py);

/* unwind_capture's result when the whole stack is already known. */
#define UNWIND_KNOWN 0xffffffffu

/* Stores at most max (<= STACKS_MAX_FRAMES) return addresses, innermost
 * first starting at the caller of the hooked function, into ips (room for
 * max + UNWIND_EXTRA).  Returns the count and sets *flags
 * (HT_STACK_TRUNCATED when frames were cut).  When memo is not NULL it
 * receives NULL or a per-thread memo tied to exactly this native stack
 * (frames and flags): the caller may note there the id it interned with
 * some Python frames and reuse it while the same stack comes back.  The
 * memo stays valid until this thread's next capture; unwind_forget_ids()
 * invalidates them all.  A new memo has id 0.  With py (and memo) given,
 * a memo noted with exactly those Python frames ends the capture early:
 * the result is UNWIND_KNOWN, *memo is that memo, and ips and *flags are
 * not filled (never in verify mode).
 *
 * entry, when not NULL, is the frame record of the hooked function (a
 * caller of this one: {its caller's RBP, the return address into its
 * caller}); the fast walk then starts at that caller instead of walking
 * the recorder's own frames.  The result is the same either way. */
unsigned unwind_capture(uint64_t *ips, unsigned max, unsigned *flags, unwind_memo_t **memo,
			const unwind_py_t *py, const uintptr_t *entry);

/* The hot path in front of unwind_capture: when the chain cache holds the
 * whole native stack from entry (as unwind_capture would take it with max)
 * in one piece, that stack's memo, whatever Python frames it was noted
 * with; NULL when the chain cache cannot tell at once.  A memo whose id is
 * set and whose Python frames equal the caller's is what unwind_capture
 * would return as UNWIND_KNOWN.  Fast mode only (NULL otherwise). */
unwind_memo_t *unwind_known(const uintptr_t *entry, unsigned max);
/* The same lookup in verify mode too (NULL in libunwind mode), for the
 * recorder to check its answer against interning. */
unwind_memo_t *unwind_lookup(const uintptr_t *entry, unsigned max);
/* Verify mode: the recorder found a memo whose id differs from the one
 * interning gave (counted as a mismatch). */
void unwind_memo_mismatch(void);

/* Stack ids were reset (followed fork child, only thread): drops the
 * remembered ones and frees the learning lock. */
void unwind_forget_ids(void);

/* The calling thread is exiting: releases its chain cache (a later
 * capture on this thread maps a new one). */
void unwind_thread_exit(void);

/* Forgets the learned rules (the module map changed: code may have moved). */
void unwind_flush(void);

/* Counters since init: stacks checked in verify mode and how many of them
 * differed; stacks the fast path handed to libunwind. */
typedef struct unwind_stats {
	uint64_t checked; /* verify mode: stacks compared */
	uint64_t mismatches; /* verify mode: fast != libunwind */
	uint64_t fallback; /* stacks that needed unw_backtrace */
} unwind_stats_t;
void unwind_get_stats(unwind_stats_t *out);

#endif /* HT_UNWIND_H */
