/* addrmap: the writer's table of the blocks it may still name by age in the
 * trace's address model (heaptrail_format.h, version 2): address ->
 * (ordinal, size class).  Used by the encoder only, on the writer thread
 * (not thread-safe); memory comes from mmap, never malloc. */
#ifndef HT_ADDRMAP_H
#define HT_ADDRMAP_H

#include <stdint.h>

typedef struct addrmap {
	uint64_t *slot; /* 2 words per slot: address (0 = empty), ord << 8 | class */
	uint32_t bits; /* 2^bits slots; 0 = no table (then every lookup misses) */
	uint64_t used; /* filled slots */
} addrmap_t;

/* Slots at most: 2^18 x 16 bytes = 4 MiB (6 MiB while it doubles); more
 * makes the recorder's memory grow with the live heap for little gain.  A full table is emptied (its
 * blocks are then freed as addresses, not ages): the trace stays exact,
 * only a little larger. */
#define ADDRMAP_MAX_BITS 18

/* 0 or -ENOMEM (then the map stays empty and the trace just uses addresses). */
int addrmap_init(addrmap_t *m);
void addrmap_fini(addrmap_t *m);
/* Forgets every block (a new image starts). */
void addrmap_clear(addrmap_t *m);
/* Notes a block (replacing what the address held). */
void addrmap_put(addrmap_t *m, uint64_t addr, uint64_t ord, unsigned cls);
/* Asks for the cache line where a lookup of addr starts (the table is
 * larger than the caches and addresses are random): call it a few events
 * ahead of the lookup. */
static inline void addrmap_prefetch(const addrmap_t *m, uint64_t addr)
{
	if (m->bits)
		__builtin_prefetch(&m->slot[2 * ((addr * 0x9e3779b97f4a7c15ull) >> (64 - m->bits))]);
}

/* Removes addr; 1 with its ordinal and class, or 0 when unknown. */
int addrmap_take(addrmap_t *m, uint64_t addr, uint64_t *ord, unsigned *cls);

#endif /* HT_ADDRMAP_H */
