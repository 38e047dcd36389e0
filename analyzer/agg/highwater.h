/* High-water aggregator: the steps by which the heap reached its peak and
 * the call sites that contributed to each.  Fed by analysis.c (agg.h);
 * cmd_growth.c takes its result (highwater_result) to render/text.c or
 * json.c; checked through highwater_steps().  Not thread-safe. */

/* Steps: the high-water mark starts at 0.  A step closes as soon as the
 * live heap exceeds the previous mark by at least `percent` % of it AND by
 * at least `min_bytes` (defaults 10 % and 64 KiB); the new mark is the heap
 * at that moment.  After the last event a final step runs from the last
 * mark to the true peak (if higher).  A step's contribution per call site
 * is its live bytes at the new mark minus at the previous mark (they sum to
 * the step).  A heap growing to 1 GiB gives ~75 steps; a heap oscillating
 * below its mark gives none. */
#ifndef HEAPTRAIL_HIGHWATER_H
#define HEAPTRAIL_HIGHWATER_H

#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"
#include "agg/group.h"
#include "render/report.h"

#define HIGHWATER_PERCENT 10
#define HIGHWATER_MIN_BYTES (64 * 1024)
/* Contributing sites kept per step (the rest are summed as "others"). */
#define HIGHWATER_TOP 5

typedef struct highwater highwater_t;

typedef struct highwater_contrib {
	sidx_t stack;
	int64_t bytes; /* live bytes at the new mark - at the previous one */
} highwater_contrib_t;

typedef struct highwater_step {
	uint64_t from_bytes; /* previous mark (0 for the first step) */
	uint64_t to_bytes; /* new mark */
	uint64_t from_time_us;
	uint64_t to_time_us; /* when the heap reached to_bytes */
	int is_peak; /* the final step, ending at the trace's peak */
	size_t ncontrib; /* <= HIGHWATER_TOP, largest growth first */
	highwater_contrib_t contrib[HIGHWATER_TOP];
	int64_t others; /* sum of every other site's change */
	size_t others_sites; /* how many other sites changed */
	/* Every stack whose live bytes changed over the step (sparse), for
	 * grouping by call-site key in reports: */
	size_t ndelta;
	sidx_t *delta_stack;
	int64_t *delta_bytes;
} highwater_step_t;

highwater_t *highwater_new(void);
void highwater_free(highwater_t *h);
agg_t *highwater_agg(highwater_t *h);
/* Step threshold (before the first event). */
void highwater_set_threshold(highwater_t *h, unsigned percent,
			     uint64_t min_bytes);

/* The steps, oldest first, the final one to the peak included (computed
 * on first call after the last event).  Returns the count (valid until
 * the next event / highwater_free) or -ENOMEM. */
long highwater_steps(highwater_t *h, const highwater_step_t **steps);
uint64_t highwater_peak(const highwater_t *h, uint64_t *time_us);

/* Call-site grouping of the contributions in reports (default: none,
 * i.e. by stack; cmd_growth passes a group made for --by, `by` being its
 * key type).  Not owned. */
void highwater_set_group(highwater_t *h, group_t *g, report_by_t by);

/* One contributing call site of a step under the grouping. */
typedef struct highwater_site {
	uint32_t id; /* group id, or the stack without a group */
	sidx_t stack; /* representative stack (largest growth) */
	int64_t bytes; /* the group's change over the step */
} highwater_site_t;

/* A step with its contributions grouped (highwater_set_group). */
typedef struct highwater_grouped {
	const highwater_step_t *step;
	highwater_site_t sites[HIGHWATER_TOP]; /* largest growth first */
	size_t nsites;
	int64_t others; /* sum of every other group's change */
	size_t nothers; /* how many other groups changed */
} highwater_grouped_t;

/* What the high-water report shows. */
typedef struct highwater_result {
	uint64_t peak; /* bytes */
	uint64_t peak_time_us;
	unsigned percent; /* step threshold */
	uint64_t min_bytes; /* step threshold */
	const group_t *group; /* highwater_set_group's, or NULL: by stack */
	report_by_t by; /* its key type */
	size_t first; /* steps left out before steps[0] (see `last`) */
	highwater_grouped_t *steps; /* oldest first (owned) */
	size_t nsteps;
} highwater_result_t;

/* Fills *res after the last event (valid until the next event or
 * highwater_free) with the last `last` steps (0 = all): the ones that
 * built the peak.  Returns 0 or -ENOMEM. */
int highwater_result(highwater_t *h, size_t last, highwater_result_t *res);
void highwater_result_free(highwater_result_t *res);

#endif /* HEAPTRAIL_HIGHWATER_H */
