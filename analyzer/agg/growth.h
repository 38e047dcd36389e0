/* Growth aggregator: growth chains (a block made larger again and again,
 * e.g. a vector or a Python list's item array) followed across moves,
 * grouped by the call site of their first step.  Fed by analysis.c
 * (agg.h); cmd_growth.c takes its result (growth_result) to render/text.c
 * or json.c; checked through growth_sites().  Not thread-safe. */

/* Chain rules: a chain starts at the first step that grows a block and
 * gains one step per growth of the same block.  A step is a growing
 * realloc (moved or in place), or a copy: the block freed right after a
 * larger one was allocated from the same call site by the same thread, the
 * size ratio of a growth policy (container.h has the exact rule: how
 * std::vector, std::string and hand-written arrays grow); the chain then
 * follows the new block.  A realloc to the same size is ignored; a shrink
 * or a free ends the chain (the shrink is not a step; the shrunk block may
 * start a new chain later); chains still live at the end of the trace end
 * there.  A chain belongs to the call site (stack) of its first step. */
#ifndef HEAPTRAIL_GROWTH_H
#define HEAPTRAIL_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"

/* Steps kept per chain: the first GROWTH_KEEP_HEAD and the last
 * GROWTH_KEEP_TAIL (the ones between are counted, not kept).  Geometric
 * growth needs a few dozen; the bound is for a block grown by a constant
 * amount millions of times. */
#define GROWTH_KEEP_HEAD 32768
#define GROWTH_KEEP_TAIL 32768
/* Steps shown in text by default (half at each end of a chain). */
#define GROWTH_TEXT_STEPS 8
/* A site is reported when its longest chain has at least this many steps
 * (one realloc that grows a block is not a pattern). */
#define GROWTH_MIN_STEPS 2

typedef struct growth growth_t;

typedef struct growth_step {
	uint64_t old_size; /* bytes */
	uint64_t new_size; /* bytes, > old_size */
	uint64_t time_us; /* of the realloc */
	bool moved; /* the block moved (its bytes were copied) */
	bool copy; /* a copy step (new block, copy, free the old one), not a
		    * realloc; moved is true */
	sidx_t stack; /* the realloc's, or the new block's, stack */
} growth_step_t;

/* How sites and each site's chain are ranked. */
typedef enum growth_sort {
	/* The chain's weight: final size x (steps that moved it + 1), the
	 * bytes of every block it went through counted at the final size
	 * (saturating); then steps. */
	GROWTH_SORT_BYTES = 0,
	GROWTH_SORT_STEPS, /* the chain's steps, then final size */
} growth_sort_t;

typedef enum growth_end {
	GROWTH_END_LIVE = 0, /* still live at the end of the trace */
	GROWTH_END_FREED, /* the block was freed */
	GROWTH_END_SHRUNK, /* a realloc made it smaller */
} growth_end_t;

typedef struct growth_site {
	sidx_t stack; /* realloc call site (first step's stack) */
	uint64_t chains; /* chains at this site (any number of steps) */
	uint64_t steps; /* growth steps of all its chains */
	uint64_t moved; /* of which moved */
	uint64_t copied_bytes; /* sum of old sizes of moved steps */
	/* Its chain (heaviest or longest, per the sort): */
	sidx_t alloc_stack; /* where the block was first allocated */
	uint64_t alloc_time_us;
	uint64_t initial_size; /* before the first step */
	uint64_t final_size; /* after the last step */
	uint64_t nsteps; /* its growth steps */
	uint64_t copies; /* of which copy steps (the rest are reallocs) */
	uint64_t weight; /* final_size * (moved steps + 1), saturating */
	sidx_t last_stack; /* its last step's stack (first: `stack`) */
	growth_end_t end;
	const growth_step_t *shown; /* kept steps, in order (nshown) */
	size_t nshown;
	size_t omitted_after; /* steps omitted after shown[omitted_after-1]
			       * (0 = none omitted) */
	uint64_t omitted; /* how many */
} growth_site_t;

growth_t *growth_new(void);
void growth_free(growth_t *g);
agg_t *growth_agg(growth_t *g);
/* Ranking (default GROWTH_SORT_BYTES).  Set before the events: it also
 * picks the chain each site keeps. */
void growth_set_sort(growth_t *g, growth_sort_t sort);
/* Steps printed per chain in text (0 = all; default GROWTH_TEXT_STEPS). */
void growth_set_text_steps(growth_t *g, uint64_t n);
/* Only chains whose site passes keep(arg, stack) are reported (NULL: all;
 * totals still count every chain). */
void growth_set_filter(growth_t *g, bool (*keep)(void *arg, sidx_t stack),
		       void *arg);

/* Ends the chains still live (end of trace).  Idempotent. */
void growth_finish(growth_t *g);

/* Ranked sites whose chain has >= GROWTH_MIN_STEPS steps: by that chain's
 * weight (GROWTH_SORT_BYTES) or steps, then the site's steps, then final
 * size.  Each site's chain is its heaviest (or longest).  limit 0 = all.
 * *out is malloc'd (free it); its step pointers stay valid until the next
 * event or growth_free.  Returns the count or -ENOMEM.  *total (may be
 * NULL) = sites before the limit. */
long growth_sites(growth_t *g, size_t limit, growth_site_t **out,
		  size_t *total);

/* Totals: growth steps seen (reallocs and copies), and chains ended. */
void growth_totals(const growth_t *g, uint64_t *steps, uint64_t *chains);
/* Of the steps, copy steps. */
uint64_t growth_copy_steps(const growth_t *g);

/* What the growth report shows: the ranked sites (growth_sites) and the
 * totals (growth_totals). */
typedef struct growth_result {
	growth_site_t *sites; /* ranked, at most the limit (owned) */
	size_t n; /* sites */
	size_t total; /* sites before the limit */
	uint64_t steps; /* growth steps seen: reallocs and copies */
	uint64_t copy_steps; /* of which copies */
	uint64_t chains; /* chains ended */
	growth_sort_t sort; /* the ranking (growth_set_sort) */
	uint64_t text_steps; /* steps text shows per chain, 0 = all */
} growth_result_t;

/* Fills *res (limit 0 = all).  Returns 0 or -ENOMEM.  The sites' step
 * pointers stay valid until the next event or growth_free. */
int growth_result(growth_t *g, size_t limit, growth_result_t *res);
void growth_result_free(growth_result_t *res);
/* "live", "freed", "shrunk". */
const char *growth_end_name(growth_end_t e);

#endif /* HEAPTRAIL_GROWTH_H */
