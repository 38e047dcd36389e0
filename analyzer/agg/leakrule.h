/* The leak-candidate rule: judges one call site's live bytes across the
 * snapshot series (leaks.c feeds it the points where the site changed).
 * Pure functions on a small per-site state; the unit tests drive them on
 * synthetic series.  Thread-safe per state. */

/* Rule (README, "leak candidates", has the reasoning).  Points are the
 * snapshots plus the end; an interval is two neighbouring points.
 * - The window starts at the last point of the leading stretch where the
 *   site still had its first value (before it started: timer snapshots in
 *   start-up, phases before the leaking code ran).  A site that never
 *   changed is not judged.
 * - Never falls: no point of the window lies more than LEAKRULE_FALL_PCT
 *   percent below the highest value before it.
 * - Grew: an interval grew when it set a new high.  It must grow in at
 *   least LEAKRULE_MIN_GREW intervals, and in at least half of the window's
 *   intervals, where a run of exactly flat intervals followed by a change
 *   counts as one (a leak in bursts between timer snapshots, a table that
 *   doubles now and then), and the flat intervals at the end count one per
 *   (longest such run + 1): an end as long as the site's own pauses is a
 *   pause, a longer one a plateau (a cache that filled and stays full);
 *   a site that grew at every change counts each flat interval at the end.
 * - Meaningful: the retained growth (last - first) is at least
 *   leakrule_min_growth() of the largest heap in the series.
 * - Still live at the end: the last value is above the first.
 * Candidates rank by retained growth. */
#ifndef HEAPTRAIL_LEAKRULE_H
#define HEAPTRAIL_LEAKRULE_H

#include <stdbool.h>
#include <stdint.h>

/* A fall of more than this percentage of the highest value so far
 * disqualifies (a trim, an eviction sweep); less is allocator noise or a
 * temporary at one snapshot. */
#define LEAKRULE_FALL_PCT 5
/* Fewest intervals that must set a new high: one step up is a one-time
 * allocation (a buffer made at start-up), not a trend. */
#define LEAKRULE_MIN_GREW 2
/* Meaningful growth: at least LEAKRULE_MIN_GROWTH_BYTES, or at least
 * LEAKRULE_MIN_GROWTH_PERMILLE of the largest heap in the series when that
 * is less (a small program's leak is still a leak). */
#define LEAKRULE_MIN_GROWTH_BYTES (64u << 10)
#define LEAKRULE_MIN_GROWTH_PERMILLE 10

/* One site's state along the series. */
typedef struct leakrule_site {
	uint64_t first; /* bytes at point 0 (and through the leading stretch) */
	uint64_t value; /* bytes at point `last` */
	uint64_t high; /* highest bytes seen so far */
	uint32_t start; /* window start: last point still at `first` */
	uint32_t last; /* last point where the bytes changed */
	uint32_t grew; /* intervals that set a new high */
	uint32_t other; /* intervals that changed without a new high */
	uint32_t runs; /* flat runs followed by a change (one interval each) */
	uint32_t longest; /* intervals in the longest of those runs */
	bool started; /* the bytes changed at least once */
	bool fell; /* fell by more than LEAKRULE_FALL_PCT */
} leakrule_site_t;

typedef struct leakrule_verdict {
	bool candidate;
	uint64_t growth; /* retained growth: bytes at the end - first */
	uint32_t start; /* window start point */
	uint32_t grew; /* intervals that set a new high */
	uint32_t intervals; /* intervals counted (runs of flat ones as one,
			     * except at the end) */
} leakrule_verdict_t;

/* The site's bytes at point 0. */
void leakrule_init(leakrule_site_t *s, uint64_t bytes);
/* The site's bytes at point p (> the previous call's p); a call may be
 * skipped for points where the bytes did not change. */
void leakrule_point(leakrule_site_t *s, uint32_t p, uint64_t bytes);
/* The smallest meaningful growth for a series whose largest heap is
 * max_heap bytes. */
uint64_t leakrule_min_growth(uint64_t max_heap);
/* Judges the site over npoints points (>= 3 for a candidate). */
leakrule_verdict_t leakrule_judge(const leakrule_site_t *s, uint32_t npoints,
				  uint64_t min_growth);

#endif /* HEAPTRAIL_LEAKRULE_H */
