/* Growth aggregator: realloc chains (a block resized larger again and
 * again, e.g. a vector or a Python list's item array) followed across
 * moves, grouped by realloc call site.  Fed by analysis.c (agg.h);
 * cmd_growth.c takes its result (growth_result) to render/text.c or
 * json.c; checked through growth_sites().  Not thread-safe. */

/* Chain rules: a chain starts at the first realloc that grows a block and
 * gains one step per growing realloc of the same block (moved or in place);
 * a realloc to the same size is ignored; a shrink or a free ends it (the
 * shrink is not a step; the shrunk block may start a new chain later);
 * chains still live at the end of the trace end there.  A chain belongs to
 * the call site (stack) of its first step. */
#ifndef HEAPTRAIL_GROWTH_H
#define HEAPTRAIL_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"

/* Steps kept per chain: the first GROWTH_KEEP_HEAD and the last
 * GROWTH_KEEP_TAIL (the ones between are counted, not kept). */
#define GROWTH_KEEP_HEAD 16
#define GROWTH_KEEP_TAIL 16
/* A site is reported when its longest chain has at least this many steps
 * (one realloc that grows a block is not a pattern). */
#define GROWTH_MIN_STEPS 2

typedef struct growth growth_t;

typedef struct growth_step {
	uint64_t old_size; /* bytes */
	uint64_t new_size; /* bytes, > old_size */
	uint64_t time_us; /* of the realloc */
	bool moved; /* the block moved (its bytes were copied) */
} growth_step_t;

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
	/* Its longest chain (most steps, then largest final size): */
	sidx_t alloc_stack; /* where the block was first allocated */
	uint64_t alloc_time_us;
	uint64_t initial_size; /* before the first step */
	uint64_t final_size; /* after the last step */
	uint64_t nsteps; /* its growth steps */
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

/* Ends the chains still live (end of trace).  Idempotent. */
void growth_finish(growth_t *g);

/* Ranked sites whose longest chain has >= GROWTH_MIN_STEPS steps: by that
 * chain's steps, then the site's steps, then final size.  limit 0 = all.
 * *out is malloc'd (free it); its step pointers stay valid until the next
 * event or growth_free.  Returns the count or -ENOMEM.  *total (may be
 * NULL) = sites before the limit. */
long growth_sites(growth_t *g, size_t limit, growth_site_t **out,
		  size_t *total);

/* Totals: growing reallocs seen, and chains ended. */
void growth_totals(const growth_t *g, uint64_t *steps, uint64_t *chains);

/* What the growth report shows: the ranked sites (growth_sites) and the
 * totals (growth_totals). */
typedef struct growth_result {
	growth_site_t *sites; /* ranked, at most the limit (owned) */
	size_t n; /* sites */
	size_t total; /* sites before the limit */
	uint64_t steps; /* growing reallocs seen */
	uint64_t chains; /* chains ended */
} growth_result_t;

/* Fills *res (limit 0 = all).  Returns 0 or -ENOMEM.  The sites' step
 * pointers stay valid until the next event or growth_free. */
int growth_result(growth_t *g, size_t limit, growth_result_t *res);
void growth_result_free(growth_result_t *res);
/* "live", "freed", "shrunk". */
const char *growth_end_name(growth_end_t e);

#endif /* HEAPTRAIL_GROWTH_H */
