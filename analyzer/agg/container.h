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
 * Each stack remembers its CONTAINER_WAYS most recent threads: a stack
 * where more threads allocate at once can miss steps (never invent one). */
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
#define CONTAINER_WAYS 2

typedef struct container {
	container_slot_t *slot; /* by stack index (dense sidx) */
	size_t cap; /* entries of slot */
} container_t;

void container_init(container_t *c);
void container_free(container_t *c);
/* Forget everything (exec'd image). */
void container_reset(container_t *c);

/* Block b was allocated by thread.  Returns 0 or -ENOMEM. */
int container_on_alloc(container_t *c, const heap_block_t *b,
		       uint32_t thread);

/* Block b is being freed by thread.  Returns true, with its successor in
 * *succ, when the free is a growth step (see above).  heap (may be NULL)
 * confirms the successor is still live. */
bool container_on_free(container_t *c, const heap_block_t *b, uint32_t thread,
		       const heap_t *heap, heap_block_t *succ);

#endif /* HEAPTRAIL_CONTAINER_H */
