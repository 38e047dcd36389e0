/* Stack, PYCODE and module tables of one traced image: stack id -> dense
 * index -> return addresses + Python frames; every module map generation.
 * Filled by analysis.c from the records; read by the heap model, the
 * aggregators and frames.c.  Not thread-safe. */
#ifndef HEAPTRAIL_STACKS_H
#define HEAPTRAIL_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "read/reader.h"

/* Dense stack index: 0 .. stacks_count()-1.  Every stack id ever named by
 * an event gets one, even when its STACK record never came (then it has no
 * frames), so per-stack arrays can be indexed without checks. */
typedef uint32_t sidx_t;
/* The stack id of `<interpreter startup>`: everything a Python program
 * allocated before its main module started (heap_move_live).  Not a
 * recorder's id (those count up from 1); never defined by a STACK. */
#define STACKS_ID_STARTUP UINT64_MAX
#define SIDX_NONE UINT32_MAX

typedef struct stack_info {
	uint64_t id; /* id in the trace (>= 1) */
	uint64_t flags; /* HT_STACK_* */
	uint64_t generation; /* module map generation current at definition */
	const uint64_t *ips; /* return addresses, innermost first (nips) */
	uint32_t nips;
	uint32_t npy;
	const rd_pyref_t *py; /* Python frames, innermost first (npy) */
	bool defined; /* a STACK record was seen */
} stack_info_t;

typedef struct pycode_info {
	uint64_t id;
	const char *file;
	const char *function;
	uint64_t firstline;
} pycode_info_t;

typedef struct module_info {
	const char *path; /* "" = main executable (see stacks_exe()) */
	uint64_t bias;
	const uint8_t *build_id;
	size_t build_id_len;
	const rd_segment_t *segs;
	size_t nsegs;
	uint64_t lo, hi; /* runtime address range covered by the segments */
} module_info_t;

typedef struct stacks stacks_t;

stacks_t *stacks_new(void);
void stacks_free(stacks_t *s);
/* Forget everything (a new image began after exec). */
void stacks_reset(stacks_t *s);

/* Records from the reader.  Return 0 or -ENOMEM.  A STACK record for an id
 * already defined replaces its frames (keeps the index). */
int stacks_add_stack(stacks_t *s, const rd_event_t *ev);
int stacks_add_pycode(stacks_t *s, const rd_event_t *ev);
int stacks_add_modules(stacks_t *s, const rd_event_t *ev);
/* Executable path of the image (from PROCESS), used for module "". */
int stacks_set_exe(stacks_t *s, const char *exe);
const char *stacks_exe(const stacks_t *s);

/* Dense index of stack id, creating an empty entry if new.  Returns
 * SIDX_NONE only on allocation failure. */
sidx_t stacks_intern(stacks_t *s, uint64_t id);
/* Dense index of an existing id or SIDX_NONE. */
sidx_t stacks_find(const stacks_t *s, uint64_t id);
size_t stacks_count(const stacks_t *s);
const stack_info_t *stacks_get(const stacks_t *s, sidx_t i);

/* PYCODE by id, NULL when unknown. */
const pycode_info_t *stacks_pycode(const stacks_t *s, uint64_t id);

/* The module containing runtime address ip in module generation `gen` (the
 * newest map with generation <= gen; falls back to any map), or NULL. */
const module_info_t *stacks_module_at(const stacks_t *s, uint64_t gen,
				      uint64_t ip);
/* Module maps seen, in order (for feeding the symbolizer). */
size_t stacks_generations(const stacks_t *s);
uint64_t stacks_generation_id(const stacks_t *s, size_t i);
size_t stacks_generation_modules(const stacks_t *s, size_t i,
				 const module_info_t **mods);

#endif /* HEAPTRAIL_STACKS_H */
