/* Point set: many points run as one aggregator (more than analysis.c's 16
 * slots) capture what each point alone would: every snapshot point its
 * mark, every time point the state after the events up to its time,
 * whatever order the times are given in. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "agg/pointset.h"
#include "model/analysis.h"
#include "tbuild.h"

/* 20 allocations of 100 * (k + 1) bytes at 10 * (k + 1) us, each followed
 * by snapshot k ("s<k>"): mark k holds 50 * (k + 1) * (k + 2) bytes. */
static void script(tb_t *t)
{
	tb_init(t);
	for (int k = 0; k < 20; k++) {
		char label[16];
		snprintf(label, sizeof(label), "s%d", k);
		tb_time(t, 10);
		tb_malloc(t, 0x1000 * (uint64_t)(k + 1), 100 * (uint64_t)(k + 1), 1);
		tb_snapshot(t, (uint64_t)k, HT_SNAP_API, label);
	}
}

static uint64_t live_at(point_t *p, const analysis_t *an)
{
	point_from_t from = { .heap = analysis_heap(an), .sum = analysis_summary(an) };
	const uint64_t *bytes, *count;
	size_t n;
	char err[256];
	cr_assert_eq(point_result(p, &from, &bytes, &count, &n, err, sizeof(err)), 0, "%s", err);
	return point_heap_bytes(p);
}

Test(pointset, twenty_marks_and_unordered_times_capture_what_each_point_would)
{
	tb_t t;
	script(&t);
	point_t *pts[25];
	char idx[20][16];
	size_t np = 0;
	for (int k = 0; k < 20; k++) {
		snprintf(idx[k], sizeof(idx[k]), "%d", k);
		pts[np++] = point_new(&(point_spec_t){ .kind = POINT_SNAPSHOT, .snapshot = idx[k] });
	}
	const uint64_t times[] = { 105, 15, 195, 55 }; /* not in order */
	for (int i = 0; i < 4; i++)
		pts[np++] = point_new(&(point_spec_t){ .kind = POINT_TIME, .time_us = times[i] });
	pts[np++] = point_new(&(point_spec_t){ .kind = POINT_END });
	pointset_t *ps = pointset_new(pts, np);
	cr_assert_not_null(ps);

	analysis_t *an;
	char err[256];
	cr_assert_eq(analysis_open_mem(&an, t.buf, t.len, "t.htr", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_add_agg(an, pointset_agg(ps)), 0);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);

	for (int k = 0; k < 20; k++)
		cr_assert_eq(live_at(pts[k], an), 50 * (uint64_t)(k + 1) * (k + 2), "mark %d", k);
	/* time T: the allocations made at 10, 20, ... <= T */
	const uint64_t want[] = { 5500, 100, 19000, 1500 };
	for (int i = 0; i < 4; i++)
		cr_assert_eq(live_at(pts[20 + i], an), want[i], "time %lu",
			     (unsigned long)times[i]);
	cr_assert_eq(live_at(pts[24], an), 21000);

	analysis_free(an);
	pointset_free(ps);
	for (size_t i = 0; i < np; i++)
		point_free(pts[i]);
	tb_fini(&t);
}
