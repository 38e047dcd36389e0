/* pprof export: a gzipped profile.proto (github.com/google/pprof) with the
 * sample types alloc_objects, alloc_space, inuse_objects, inuse_space (the
 * Go heap profile's), and locations with function, file and line.  This is
 * what continuous profilers (Grafana Pyroscope, Parca) ingest.  Called by
 * cmd_export.c.  Not thread-safe (frames_t). */
#ifndef HEAPTRAIL_EXPORT_PPROF_H
#define HEAPTRAIL_EXPORT_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/heap.h"
#include "render/frames.h"

typedef struct pprof_input {
	frames_t *frames;
	const heap_stack_stat_t *st; /* whole-run allocation totals, nst */
	size_t nst;
	const uint64_t *inuse_bytes; /* live at the chosen point, ninuse */
	const uint64_t *inuse_count;
	size_t ninuse;
	uint64_t time_unix_ns; /* start of the run (0 = unknown) */
	uint64_t duration_ns;
} pprof_input_t;

/* Writes the gzipped profile to out: one sample per stack with a nonzero
 * value.  Returns 0 or a negative errno. */
int pprof_write(FILE *out, const pprof_input_t *in);

#endif /* HEAPTRAIL_EXPORT_PPROF_H */
