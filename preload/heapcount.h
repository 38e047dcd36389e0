/* heapcount: the process's live heap as the recorder sees it, and its
 * peak with reset (heaptrail_heap_bytes / _peak / _peak_reset, api.c).
 * Per-thread counters in the registry slots: the hot path (recorder.c)
 * adds to its own slot without a locked instruction; readers sum the
 * slots.  Bytes are malloc_usable_size's (what free can know), so a block
 * counts at least its requested size (glibc: a multiple of 16 minus 8, at
 * least 24; more for mmap'd blocks).
 *
 * The peak is exact while one thread at a time changes the heap; with
 * several it is an upper bound (the sum of each slot's highest rise over
 * the heap at the reset).  Thread-safe. */
#ifndef HT_HEAPCOUNT_H
#define HT_HEAPCOUNT_H

#include "registry.h"
#include "util.h"

#include <stddef.h>
#include <stdint.h>

typedef struct heapcount {
	size_t (*usable)(void *); /* the allocator's malloc_usable_size, set by
				   * hooks.c once resolved; NULL: nothing counted */
	int glibc; /* malloc, free and malloc_usable_size are glibc's: read
		    * the chunk header instead of calling (set with usable) */
	uint32_t gen; /* peak generation, bumped by each reset (written rarely) */
	int64_t base; /* live heap at the last reset, bytes */
} heapcount_t;

extern heapcount_t ht_heapcount HT_HIDDEN;

/* Usable size of a live block; 0 before the allocator is resolved.  With
 * glibc's allocator, its malloc_usable_size without the call: a chunk's
 * size word sits just below the block (low 3 bits are flags; 2 =
 * mmapped), and the header was just written (allocation) or prefetched
 * (free).  glibc's own function also reads the next chunk's header (an
 * in-use check a live block passes), a second cache miss per event that
 * made bench/churn 15% slower. */
static inline int64_t heapcount_usable(void *p)
{
	if (HT_LIKELY(ht_heapcount.glibc)) {
		size_t sz = ((const size_t *)p)[-1];
		return (int64_t)((sz & ~(size_t)7) - ((sz & 2) ? 2 * sizeof(size_t) : sizeof(size_t)));
	}
	size_t (*f)(void *) = ht_heapcount.usable;
	return f != NULL ? (int64_t)f(p) : 0;
}

/* Owner thread of th: the heap changed by d bytes through it. */
static inline void heapcount_add(rec_thread_t *th, int64_t d)
{
	int64_t live = th->heap_live;
	uint32_t gen = __atomic_load_n(&ht_heapcount.gen, __ATOMIC_RELAXED);
	if (HT_UNLIKELY(th->heap_gen != gen)) {
		/* First change since a reset: live is still what it was then. */
		__atomic_store_n(&th->heap_base, live, __ATOMIC_RELAXED);
		__atomic_store_n(&th->heap_rise, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&th->heap_gen, gen, __ATOMIC_RELEASE);
	}
	live += d;
	__atomic_store_n(&th->heap_live, live, __ATOMIC_RELAXED);
	if (live - th->heap_base > th->heap_rise)
		__atomic_store_n(&th->heap_rise, live - th->heap_base, __ATOMIC_RELAXED);
}

/* The live heap: the sum over the slots. */
int64_t heapcount_live(void);
/* The peak since the last reset (or the start), >= heapcount_live(). */
int64_t heapcount_peak(void);
/* Starts a new peak from the live heap now. */
void heapcount_reset(void);

#endif /* HT_HEAPCOUNT_H */
