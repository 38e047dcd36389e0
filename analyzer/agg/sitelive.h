/* Per-stack live bytes/blocks kept by an aggregator from heap events
 * (alloc +, free -, realloc moves the block from the old block's stack to
 * the realloc's).  Lets leaks/high-water work on event sequences alone.
 * Used by leaks.c and highwater.c; not thread-safe. */
#ifndef HEAPTRAIL_SITELIVE_H
#define HEAPTRAIL_SITELIVE_H

#include <stddef.h>
#include <stdint.h>

#include "model/heap.h"

typedef struct sitelive {
	uint64_t *bytes; /* live bytes per stack index; [0, n) valid */
	uint64_t *count; /* live blocks per stack index */
	size_t n, cap; /* entries valid / allocated */
	uint64_t total_bytes; /* sum of bytes[] */
	uint64_t total_count; /* sum of count[] */
} sitelive_t;

/* Applies one heap event.  Returns 0 or -ENOMEM. */
int sitelive_apply(sitelive_t *s, const heap_event_t *ev);
/* Live bytes of stack i (0 beyond n). */
static inline uint64_t sitelive_bytes(const sitelive_t *s, sidx_t i)
{
	return i < s->n ? s->bytes[i] : 0;
}
void sitelive_reset(sitelive_t *s);
void sitelive_free(sitelive_t *s);

#endif /* HEAPTRAIL_SITELIVE_H */
