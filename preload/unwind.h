/* unwind: captures the native call stack of the calling thread for
 * stackid.c (frames only; stack ids are stackid's).  Fast path: a walk
 * driven by per-return-address CFA rules that libunwind itself supplied
 * (learned once per address), behind a per-thread cache of whole verified
 * walks; anything unknown or unusual falls back to libunwind's
 * unw_backtrace.
 * Each mode is its own function in unwind.c; verify mode wraps the other
 * two (records libunwind's stack, compares the fast walk's with it).
 * The recorder's own leading frames are dropped.  Each cached chain has a
 * note the caller may fill (unwind_note_t).  Thread-safe after
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

/* The caller's room in each cached chain (a chain is one native stack as
 * the fast walk took it, frames and flags): stackid.c keeps that stack's
 * id there.  The unwinder sets serial and zeroes data's first 8 bytes when
 * it builds a chain, and otherwise never reads or writes them. */
#define UNWIND_NOTE_SIZE 136
typedef struct unwind_note {
	uint64_t serial; /* names this native stack on this thread (>= 1, never reused) */
	_Alignas(8) unsigned char data[UNWIND_NOTE_SIZE]; /* the caller's */
} unwind_note_t;

/* Asked by unwind_capture (fast mode) when the chain cache holds the whole
 * stack in one piece: nonzero ends the capture early (the caller knows
 * what it needs from the note alone). */
typedef int unwind_enough_fn(const unwind_note_t *note, const void *arg);

/* unwind_capture's result when enough() ended it early. */
#define UNWIND_ENOUGH 0xffffffffu

/* Stores at most max (<= STACKS_MAX_FRAMES) return addresses, innermost
 * first starting at the caller of the hooked function, into ips (room for
 * max + UNWIND_EXTRA).  Returns the count and sets *flags
 * (HT_STACK_TRUNCATED when frames were cut).  When note is not NULL it
 * receives NULL or the note of the cached chain that is exactly this
 * native stack (frames and flags; in verify mode only when the fast walk
 * agreed with libunwind).  It stays valid until this thread's next
 * capture; unwind_forget_ids() invalidates them all.  With enough (and
 * note) given, fast mode asks enough(note, arg) when the chain cache holds
 * the whole stack: nonzero gives UNWIND_ENOUGH with *note set, and ips and
 * *flags are not filled.
 *
 * entry, when not NULL, is the frame record of the hooked function (a
 * caller of this one: {its caller's RBP, the return address into its
 * caller}); the fast walk then starts at that caller instead of walking
 * the recorder's own frames.  The result is the same either way. */
unsigned unwind_capture(uint64_t *ips, unsigned max, unsigned *flags, unwind_note_t **note,
			unwind_enough_fn *enough, const void *arg, const uintptr_t *entry);

/* The chain cache alone, for the hot path in front of unwind_capture: the
 * note of the chain holding the whole native stack from entry (as
 * unwind_capture would take it with max) in one piece; NULL when the cache
 * cannot tell at once.  Fast mode only (NULL otherwise). */
unwind_note_t *unwind_cached(const uintptr_t *entry, unsigned max);
/* The same lookup in verify mode too (NULL in libunwind mode). */
unwind_note_t *unwind_cached_any(const uintptr_t *entry, unsigned max);

/* unwind_capture's result (without note) for a hook called by a signal
 * handler that interrupted a hook on this thread: libunwind only, touching
 * none of the state the interrupted capture may be using (the capture
 * holds signals while it is in libunwind).  Async-signal-safe. */
unsigned unwind_capture_nested(uint64_t *ips, unsigned max, unsigned *flags);

/* For a hook entered while its thread was already in a hook, over an
 * allocator that calls back into the malloc family itself (jemalloc,
 * tcmalloc: not glibc's): 1 when a signal handler called it (walking out,
 * the sigreturn trampoline comes before any frame of the recorder's: the
 * handler interrupted a hook or the allocator a hook called), 0 when a
 * frame of ours comes first (the allocator calling back, part of the
 * interrupted call), -1 when it cannot tell (unwinding off, no handler
 * installed through libc, the walk ended first).  libunwind, with signals
 * held; async-signal-safe. */
int unwind_nested_from_handler(void);

/* 1 while this thread is inside libunwind.  After `heaptrail attach`
 * libunwind was dlopened: in a thread older than that, its first access
 * to libunwind's thread-local variables makes the loader malloc their
 * block (__tls_get_addr), inside our hook.  That allocation is the
 * recorder's, not the program's (hooks.c forwards it unrecorded). */
extern __thread int unwind_in_lib __attribute__((tls_model("initial-exec")));

/* A signal handler of the program's is installed: from now on the
 * capture holds signals while it is in libunwind (see
 * unwind_capture_nested).  Called by sigproxy.c. */
void unwind_signals_may_allocate(void);

/* Learns the sigreturn trampoline's address (from any handler installed
 * through libc), so that stacks taken in signal handlers leave it out and
 * go on at the interrupted code.  Call after installing handlers; cheap
 * once known. */
void unwind_find_sigreturn(void);

/* A followed fork child, alone: drops every cached chain (and so their
 * notes) and frees the learning lock. */
void unwind_forget_ids(void);

/* The calling thread is exiting: releases its chain cache (a later
 * capture on this thread maps a new one). */
void unwind_thread_exit(void);

/* Forgets the learned rules (the module map changed: code may have moved). */
void unwind_flush(void);

/* Counters since init: stacks checked in verify mode and how many of them
 * differed; stacks the fast path handed to libunwind.  (Stack ids that
 * disagreed are stackid's count.) */
typedef struct unwind_stats {
	uint64_t checked; /* verify mode: stacks compared */
	uint64_t mismatches; /* verify mode: fast != libunwind */
	uint64_t fallback; /* stacks that needed unw_backtrace */
} unwind_stats_t;
void unwind_get_stats(unwind_stats_t *out);

#endif /* HT_UNWIND_H */
