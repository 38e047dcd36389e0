/* The series aggregator: one point per trace time, and halving that keeps
 * the peak. */
#include <criterion/criterion.h>

#include "agg/series.h"

static void feed(agg_t *a, uint64_t t, uint64_t bytes)
{
	heap_event_t ev = { .kind = HEAP_EV_ALLOC, .time_us = t, .heap_bytes = bytes };
	cr_assert_eq(a->ops->add(a, &ev), 0);
}

Test(series, one_point_per_time_with_its_last_and_largest_value)
{
	series_t *s = series_new();
	agg_t *a = series_agg(s);
	feed(a, 0, 100);
	feed(a, 0, 300);
	feed(a, 0, 200);
	feed(a, 5, 50);
	cr_assert_eq(a->ops->rss(a, 5, 4096), 0);

	size_t n, nr;
	const series_point_t *p = series_heap(s, &n);
	const series_point_t *r = series_rss(s, &nr);

	cr_assert_eq(n, 2);
	cr_assert_eq(p[0].time_us, 0);
	cr_assert_eq(p[0].last, 200);
	cr_assert_eq(p[0].max, 300);
	cr_assert_eq(p[1].last, 50);
	cr_assert_eq(nr, 1);
	cr_assert_eq(r[0].last, 4096);
	series_free(s);
}

Test(series, halving_past_the_limit_keeps_the_peak)
{
	series_t *s = series_new();
	agg_t *a = series_agg(s);
	for (uint64_t t = 0; t < 3 * SERIES_MAX_POINTS; t++)
		feed(a, t, t == 12345 ? 1000000 : t % 7);

	size_t n;
	const series_point_t *p = series_heap(s, &n);

	cr_assert_leq(n, SERIES_MAX_POINTS);
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			cr_assert_gt(p[i].time_us, p[i - 1].time_us);
		if (p[i].max > max)
			max = p[i].max;
	}
	cr_assert_eq(max, 1000000);
	cr_assert_eq(p[n - 1].time_us, 3 * SERIES_MAX_POINTS - 1);
	series_free(s);
}
