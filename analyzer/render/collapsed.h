/* Brendan Gregg's folded stacks ("outer;...;inner BYTES", one line per
 * stack) for flamegraph.pl, inferno and speedscope.  Called by
 * cmd_export.c.  Not thread-safe (frames_t). */
#ifndef HEAPTRAIL_COLLAPSED_H
#define HEAPTRAIL_COLLAPSED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "render/frames.h"

/* One line per stack i < n with bytes[i] > 0: its display frames from the
 * outermost to the innermost, each its function name (else module+offset,
 * address or "<unknown>"; ';' replaced by ':'), then the weight bytes[i];
 * stacks that display the same are one line (summed), lines sorted.
 * Returns 0 or a negative errno. */
int collapsed_write(FILE *out, frames_t *f, const uint64_t *bytes, size_t n);

#endif /* HEAPTRAIL_COLLAPSED_H */
