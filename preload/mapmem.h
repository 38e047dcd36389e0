/* mapmem: every mapping the recorder makes for itself goes through here,
 * so its own memory is counted (bytes mapped now and at the peak, per
 * use) and a recorder that cannot start can tell how much it still holds.
 * Called from hooks, the writer and signal-free paths alike; thread-safe
 * (relaxed atomics), never allocates. */
#ifndef HT_MAPMEM_H
#define HT_MAPMEM_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/* What a mapping is for (the per-use counters; HEAPTRAIL_MEMSTATS=1
 * prints them at the end). */
enum mapmem_use {
	MAPMEM_RING, /* per-thread event rings */
	MAPMEM_STACKS, /* stack intern table, id index, entry arena */
	MAPMEM_UNWIND, /* unwind rule tables, per-thread chain caches */
	MAPMEM_MODULES, /* module map snapshots and scan buffers */
	MAPMEM_PYTHON, /* Python frame interning, pymemo, frame stacks */
	MAPMEM_WRITER, /* encoder buffer, lifo, written-id bitmap, addr maps */
	MAPMEM_NUSES
};

/* n bytes of zeroed private anonymous memory (rounded up to pages), or
 * NULL (errno ENOMEM from the kernel).  noreserve: MAP_NORESERVE. */
void *mapmem_map(size_t n, enum mapmem_use use, int noreserve);
/* Unmaps what mapmem_map(n, use) returned; NULL is a no-op. */
void mapmem_unmap(void *p, size_t n, enum mapmem_use use);

/* mremap(p, old_n, new_n, MREMAP_MAYMOVE), counted; NULL on failure (p
 * is then still mapped at old_n). */
void *mapmem_remap(void *p, size_t old_n, size_t new_n, enum mapmem_use use);

/* Start-up transaction: between mapmem_track_begin and mapmem_track_end
 * every mapping is also noted, and track_end(1) unmaps all those still
 * mapped (a recorder that could not start leaves nothing behind; the
 * modules that pointed there are never used again).  Single-threaded:
 * the constructor. */
void mapmem_track_begin(void);
void mapmem_track_end(int release);

/* Bytes the recorder has mapped now, and the most it ever had at once. */
uint64_t mapmem_now(void);
uint64_t mapmem_peak(void);
/* Per use: bytes now and at that use's own peak. */
void mapmem_use_stats(enum mapmem_use use, uint64_t *now, uint64_t *peak);
const char *mapmem_use_name(enum mapmem_use use);

#endif /* HT_MAPMEM_H */
