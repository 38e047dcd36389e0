/* massif.out writer: the file valgrind's massif writes, for ms_print and
 * massif-visualizer.  One snapshot per point given (the trace's snapshot
 * marks and the peak), each with its heap tree.  Called by cmd_export.c.
 * Not thread-safe (frames_t). */
#ifndef HEAPTRAIL_MASSIF_H
#define HEAPTRAIL_MASSIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "render/frames.h"

typedef struct massif_snap {
	uint64_t time_us;
	uint64_t heap_bytes; /* live bytes at the point */
	bool peak; /* heap_tree=peak (else detailed) */
	const uint64_t *bytes; /* per-stack live bytes, n entries */
	size_t n;
} massif_snap_t;

/* Writes the header (cmd) and the snapshots, which must be in time
 * order.  Their time= is in whole milliseconds (massif's time_unit: ms),
 * rounded to the nearest, or to the trace's resolution when that is
 * coarser (fmt_round_us).  Tree nodes under 1% of the snapshot's heap are merged as massif
 * does ("in N places, below massif's threshold").  Returns 0 or a
 * negative errno. */
int massif_write(FILE *out, frames_t *f, const char *cmd,
		 const massif_snap_t *snaps, size_t nsnaps);

#endif /* HEAPTRAIL_MASSIF_H */
