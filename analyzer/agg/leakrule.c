/* The leak-candidate rule; see leakrule.h.  O(1) per change, so leaks.c
 * can feed it only the points where a site changed. */
#include "agg/leakrule.h"

#include <string.h>

void leakrule_init(leakrule_site_t *s, uint64_t bytes)
{
	memset(s, 0, sizeof *s);
	s->first = s->value = s->high = bytes;
}

void leakrule_point(leakrule_site_t *s, uint32_t p, uint64_t bytes)
{
	if (bytes == s->value)
		return; /* flat: counted lazily from `last` */
	if (!s->started) {
		/* Points 0..p-1 all held `first`: the window opens at p-1. */
		s->started = true;
		s->start = p - 1;
	} else if (p - 1 > s->last) {
		/* flat intervals last+1..p-1, then this change */
		s->runs++;
		if (p - 1 - s->last > s->longest)
			s->longest = p - 1 - s->last;
	}
	if (bytes > s->high) {
		s->grew++;
		s->high = bytes;
	} else {
		s->other++;
		if (s->high - bytes > s->high / 100 * LEAKRULE_FALL_PCT +
					      s->high % 100 *
						      LEAKRULE_FALL_PCT / 100)
			s->fell = true;
	}
	s->value = bytes;
	s->last = p;
}

uint64_t leakrule_min_growth(uint64_t max_heap)
{
	uint64_t rel = max_heap / 1000 * LEAKRULE_MIN_GROWTH_PERMILLE +
		       max_heap % 1000 * LEAKRULE_MIN_GROWTH_PERMILLE / 1000;
	if (!rel)
		rel = 1;
	return rel < LEAKRULE_MIN_GROWTH_BYTES ? rel
					       : LEAKRULE_MIN_GROWTH_BYTES;
}

leakrule_verdict_t leakrule_judge(const leakrule_site_t *s, uint32_t npoints,
				  uint64_t min_growth)
{
	leakrule_verdict_t v = { 0 };
	if (!s->started || npoints < 3 || s->last >= npoints)
		return v;
	uint32_t unit = s->longest + 1;
	uint32_t trailing = (npoints - 1 - s->last + unit - 1) / unit;
	v.start = s->start;
	v.grew = s->grew;
	v.intervals = s->grew + s->other + s->runs + trailing;
	v.growth = s->value > s->first ? s->value - s->first : 0;
	v.candidate = !s->fell && s->grew >= LEAKRULE_MIN_GREW &&
		      2 * (uint64_t)s->grew >= v.intervals &&
		      v.growth >= min_growth && v.growth > 0;
	return v;
}
