/* Container growth without realloc: pairs the free of a block with the
 * larger block its thread allocated just before from the same call site
 * (allocate new, copy, free old: std::vector, std::string, hand-written
 * arrays).  Called by growth.c for every ALLOC and FREE; O(1) each.  Not
 * thread-safe. */

/* Pairing rule: per allocating stack and thread, the last two blocks that
 * thread allocated there, `prev` then `last`.  The free of a block B is a
 * growth step B -> A when, on the freeing thread at B's stack, B is `prev`
 * and A is `last` (so A is the only allocation made there since B; other
 * stacks' allocations in between, such as a copy loop's, and other
 * threads' events do not matter), A is still live, and A's size is a
 * growth policy's: between CONTAINER_MIN_RATIO and CONTAINER_MAX_RATIO
 * times B's.  A pair is used once.  Two unrelated blocks from one site that
 * happen to fit make a one-step chain, which the growth report leaves out
 * (GROWTH_MIN_STEPS); a chain needs the pattern to repeat.
 *
 * Each stack remembers CONTAINER_WAYS threads (a thread new to it replaces
 * them in turn): a stack where more threads allocate at once can miss
 * steps (never invent one). */
#ifndef HEAPTRAIL_CONTAINER_H
#define HEAPTRAIL_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/heap.h"

/* new/old size bounds, as num/den: 1.25x (std::vector's 1.5x in MSVC,
 * CPython-style 1.125x is realloc) .. 4x. */
#define CONTAINER_MIN_RATIO_NUM 5
#define CONTAINER_MIN_RATIO_DEN 4
#define CONTAINER_MAX_RATIO 4

typedef struct container_slot container_slot_t;

/* Threads remembered per stack. */
#define CONTAINER_WAYS 4

typedef struct container_mark {
	uint64_t addr; /* 0 = none */
	uint64_t size; /* bytes */
} container_mark_t;

/* One stack's marks.  The thread ids come first, so that finding a thread
 * reads one cache line. */
typedef struct container_slot {
	uint32_t thread[CONTAINER_WAYS]; /* thread index + 1; 0 = unused */
	uint32_t next; /* way to replace next (round robin) */
	container_mark_t prev[CONTAINER_WAYS]; /* per way: the thread's last */
	container_mark_t last[CONTAINER_WAYS]; /* two blocks here */
} container_slot_t;

typedef struct container {
	container_slot_t *slot; /* by stack index (dense sidx) */
	size_t cap; /* entries of slot */
} container_t;

void container_init(container_t *c);
void container_free(container_t *c);
/* Forget everything (exec'd image). */
void container_reset(container_t *c);

/* The slow paths of the two calls below (container.c). */
int container_alloc_slow(container_t *c, const heap_block_t *b,
			 uint32_t thread);
bool container_free_slow(container_t *c, const heap_block_t *b, size_t way,
			 const heap_t *heap, heap_block_t *succ);

/* Block b was allocated by thread.  Returns 0 or -ENOMEM.  Inline: called
 * for every allocation, and mostly one compare and two stores. */
static inline int container_on_alloc(container_t *c, const heap_block_t *b,
				     uint32_t thread)
{
	if (__builtin_expect(b->stack < c->cap, 1)) {
		container_slot_t *s = &c->slot[b->stack];
		for (size_t k = 0; k < CONTAINER_WAYS; k++)
			if (s->thread[k] == thread + 1) {
				s->prev[k] = s->last[k];
				s->last[k] = (container_mark_t){ b->addr,
								 b->size };
				return 0;
			}
	}
	return container_alloc_slow(c, b, thread);
}

/* Block b is being freed by thread: the way of the thread's marks at b's
 * stack when b is one of them (then call container_on_free), else -1.
 * Inline: most frees are neither of the thread's last two blocks there. */
static inline int container_free_way(const container_t *c,
				     const heap_block_t *b, uint32_t thread)
{
	if (b->stack >= c->cap)
		return -1;
	const container_slot_t *s = &c->slot[b->stack];
	for (int k = 0; k < CONTAINER_WAYS; k++)
		if (s->thread[k] == thread + 1)
			return s->prev[k].addr == b->addr ||
					       s->last[k].addr == b->addr
				       ? k
				       : -1;
	return -1;
}

/* The free of b, one of way's marks (container_free_way), is a growth
 * step (see above): returns true with its successor in *succ.  heap (may
 * be NULL) confirms the successor is still live. */
static inline bool container_on_free(container_t *c, const heap_block_t *b,
				     int way, const heap_t *heap,
				     heap_block_t *succ)
{
	return container_free_slow(c, b, (size_t)way, heap, succ);
}

#endif /* HEAPTRAIL_CONTAINER_H */
