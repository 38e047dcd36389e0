/* leaks: synthetic heap-event sequences with exact expected leaks by stack
 * and leak candidates (steady growth vs a cache that is trimmed). */
#include <criterion/criterion.h>
#include <string.h>

#include "heaptrail_format.h"
#include "agg/leakrule.h"
#include "agg/leaks.h"

static uint64_t now_us;

static heap_block_t blk(uint64_t addr, uint64_t size, sidx_t stack)
{
	return (heap_block_t){ .addr = addr, .size = size, .stack = stack,
			       .time_us = now_us };
}

static void feed(leaks_t *l, heap_event_t ev)
{
	agg_t *a = leaks_agg(l);
	ev.time_us = now_us++;
	cr_assert_eq(a->ops->add(a, &ev), 0);
}

static heap_block_t alloc(leaks_t *l, uint64_t addr, uint64_t size,
			  sidx_t stack)
{
	heap_block_t b = blk(addr, size, stack);
	feed(l, (heap_event_t){ .kind = HEAP_EV_ALLOC, .block = b });
	return b;
}

static void release(leaks_t *l, heap_block_t b)
{
	feed(l, (heap_event_t){ .kind = HEAP_EV_FREE, .block = b });
}

static heap_block_t resize(leaks_t *l, heap_block_t old, uint64_t addr,
			   uint64_t size, sidx_t stack)
{
	heap_block_t b = blk(addr, size, stack);
	feed(l, (heap_event_t){ .kind = HEAP_EV_REALLOC, .block = b,
				.old = old, .old_known = true });
	return b;
}

static void snap(leaks_t *l, const char *label, uint64_t origin)
{
	agg_t *a = leaks_agg(l);
	agg_snapshot_t s = { .label = label, .origin = origin,
			     .time_us = now_us };
	cr_assert_eq(a->ops->snapshot(a, &s), 0);
}

Test(leaks, live_blocks_at_the_end_are_grouped_by_stack_and_ranked_by_bytes)
{
	leaks_t *l = leaks_new();
	heap_block_t a1 = alloc(l, 0x1000, 100, 0);
	alloc(l, 0x2000, 100, 0);
	alloc(l, 0x3000, 100, 0);
	release(l, a1);
	alloc(l, 0x4000, 1000, 1);
	heap_block_t t = alloc(l, 0x5000, 50, 2);
	release(l, t);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.nsites, 2);
	cr_assert_eq(r.nstats, 2);
	cr_assert_eq(r.total_bytes, 1200);
	cr_assert_eq(r.total_count, 3);
	cr_assert_eq(r.stats[0].stack, 1);
	cr_assert_eq(r.stats[0].bytes, 1000);
	cr_assert_eq(r.stats[0].count, 1);
	cr_assert_eq(r.stats[1].stack, 0);
	cr_assert_eq(r.stats[1].bytes, 200);
	cr_assert_eq(r.stats[1].count, 2);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, limit_keeps_the_biggest_sites_and_counts_all)
{
	leaks_t *l = leaks_new();
	alloc(l, 0x1000, 10, 0);
	alloc(l, 0x2000, 30, 1);
	alloc(l, 0x3000, 20, 2);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 2, &r), 0);
	cr_assert_eq(r.nsites, 3);
	cr_assert_eq(r.nstats, 2);
	cr_assert_eq(r.stats[0].stack, 1);
	cr_assert_eq(r.stats[1].stack, 2);
	cr_assert_eq(r.total_bytes, 60);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, a_reallocated_block_belongs_to_the_realloc_call_site)
{
	leaks_t *l = leaks_new();
	heap_block_t b = alloc(l, 0x1000, 100, 0);
	resize(l, b, 0x9000, 300, 1);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.nstats, 1);
	cr_assert_eq(r.stats[0].stack, 1);
	cr_assert_eq(r.stats[0].bytes, 300);
	cr_assert_eq(r.stats[0].count, 1);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, steady_growth_is_a_candidate_and_a_trimmed_cache_is_not)
{
	leaks_t *l = leaks_new();
	heap_block_t cache[8];
	int nc = 0;
	/* stack 0 leaks 100 B per interval; stack 1 is a cache that grows,
	 * is trimmed, grows again; stack 2 is constant. */
	alloc(l, 0x100, 100, 0);
	cache[nc++] = alloc(l, 0x200, 100, 1);
	alloc(l, 0x300, 500, 2);
	snap(l, "s0", HT_SNAP_API); /* 0:100 1:100 2:500 */
	alloc(l, 0x110, 100, 0);
	cache[nc++] = alloc(l, 0x210, 100, 1);
	snap(l, "s1", HT_SNAP_TIMER); /* 0:200 1:200 */
	alloc(l, 0x120, 100, 0);
	release(l, cache[--nc]);
	release(l, cache[--nc]);
	cache[nc++] = alloc(l, 0x220, 50, 1);
	snap(l, "s2", HT_SNAP_TIMER); /* 0:300 1:50 */
	alloc(l, 0x130, 100, 0);
	cache[nc++] = alloc(l, 0x230, 250, 1);
	snap(l, "exit", HT_SNAP_EXIT); /* 0:400 1:300 */
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.npoints, 4, "the exit snapshot closes the series");
	cr_assert_eq(r.ncands_total, 1);
	cr_assert_eq(r.ncands, 1);
	cr_assert_eq(r.cands[0].stack, 0);
	cr_assert_eq(r.cands[0].growth, 300);
	uint64_t want[] = { 100, 200, 300, 400 };
	cr_assert_arr_eq(r.cands[0].series, want, sizeof want);
	leaks_result_free(&r);
	const leaks_point_t *pts;
	cr_assert_eq(leaks_points(l, &pts), 4);
	cr_assert_str_eq(pts[1].label, "s1");
	cr_assert_eq(pts[3].heap_bytes, 400 + 300 + 500);
	leaks_free(l);
}

/* Changed for issue 12's rule: a flat interval between two growths is not
 * growth, but it no longer disqualifies (stepwise growth is a leak). */
Test(leaks, a_flat_interval_between_growths_does_not_disqualify)
{
	leaks_t *l = leaks_new();
	alloc(l, 0x100, 100, 0);
	snap(l, NULL, HT_SNAP_API);
	alloc(l, 0x110, 100, 0);
	snap(l, NULL, HT_SNAP_API);
	snap(l, NULL, HT_SNAP_API);
	alloc(l, 0x120, 100, 0);
	snap(l, NULL, HT_SNAP_EXIT);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.npoints, 4);
	cr_assert_eq(r.ncands_total, 1);
	cr_assert_eq(r.cands[0].grew, 2);
	cr_assert_eq(r.cands[0].intervals, 3, "the flat run counts once");
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, fewer_than_three_points_give_no_candidates)
{
	leaks_t *l = leaks_new();
	alloc(l, 0x100, 100, 0);
	snap(l, "only", HT_SNAP_API);
	alloc(l, 0x110, 100, 0);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.npoints, 2, "one snapshot + the end point");
	cr_assert_eq(r.ncands, 0);
	cr_assert_eq(r.nstats, 1);
	cr_assert_eq(r.stats[0].bytes, 200);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, the_end_of_the_trace_is_a_point_when_no_exit_snapshot_came)
{
	leaks_t *l = leaks_new();
	alloc(l, 0x100, 10, 3);
	snap(l, "a", HT_SNAP_SIGNAL);
	alloc(l, 0x110, 10, 3);
	snap(l, "b", HT_SNAP_SIGNAL);
	alloc(l, 0x120, 10, 3);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.npoints, 3);
	cr_assert_eq(r.ncands, 1);
	cr_assert_eq(r.cands[0].stack, 3);
	uint64_t want[] = { 10, 20, 30 };
	cr_assert_arr_eq(r.cands[0].series, want, sizeof want);
	leaks_result_free(&r);
	const leaks_point_t *pts;
	cr_assert_eq(leaks_points(l, &pts), 3);
	cr_assert_eq(pts[2].origin, LEAKS_POINT_END);
	leaks_free(l);
}

Test(leaks, grouped_stacks_are_judged_on_their_sum)
{
	leaks_t *l = leaks_new();
	/* Stacks 0 and 1 are the same call site (e.g. same file:line);
	 * stack 1 shrinks while the sum still grows. */
	heap_block_t s1a = alloc(l, 0x200, 100, 1);
	heap_block_t s1b = alloc(l, 0x210, 200, 1);
	alloc(l, 0x100, 100, 0);
	snap(l, NULL, HT_SNAP_API); /* 100 + 300 = 400 */
	alloc(l, 0x110, 100, 0);
	release(l, s1a);
	snap(l, NULL, HT_SNAP_API); /* 200 + 200 = 400: flat -> no */
	alloc(l, 0x120, 100, 0);
	snap(l, NULL, HT_SNAP_EXIT); /* 300 + 200 = 500 */
	(void)s1b;
	uint32_t g[] = { 0, 0 };
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, g, 2, 0, &r), 0);
	cr_assert_eq(r.ncands_total, 0, "400, 400, 500 is not growth");
	cr_assert_eq(r.nsites, 1);
	cr_assert_eq(r.stats[0].bytes, 500);
	cr_assert_eq(r.stats[0].count, 4);
	cr_assert_eq(r.stats[0].stack, 0, "the bigger stack represents");
	leaks_result_free(&r);
	/* Ungrouped, stack 0 alone grows 100 -> 200 -> 300. */
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.ncands_total, 1);
	cr_assert_eq(r.cands[0].stack, 0);
	cr_assert_eq(r.cands[0].growth, 200);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, candidates_rank_by_growth)
{
	leaks_t *l = leaks_new();
	for (int p = 0; p < 3; p++) {
		alloc(l, 0x1000 + 16 * p, 10, 0);
		alloc(l, 0x2000 + 16 * p, 30, 1);
		alloc(l, 0x3000 + 16 * p, 20, 2);
		snap(l, NULL, p == 2 ? HT_SNAP_EXIT : HT_SNAP_TIMER);
	}
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 2, &r), 0);
	cr_assert_eq(r.ncands_total, 3);
	cr_assert_eq(r.ncands, 2);
	cr_assert_eq(r.cands[0].stack, 1);
	cr_assert_eq(r.cands[0].growth, 60);
	cr_assert_eq(r.cands[1].stack, 2);
	cr_assert_eq(r.cands[1].growth, 40);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, an_exec_forgets_the_previous_image)
{
	leaks_t *l = leaks_new();
	alloc(l, 0x100, 100, 0);
	snap(l, NULL, HT_SNAP_API);
	agg_t *a = leaks_agg(l);
	a->ops->reset(a);
	alloc(l, 0x100, 7, 0);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.total_bytes, 7);
	cr_assert_eq(r.npoints, 1);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, an_exit_snapshot_after_teardown_is_left_out_of_the_series)
{
	leaks_t *l = leaks_new();
	heap_block_t b[4];
	for (int p = 0; p < 4; p++) {
		b[p] = alloc(l, 0x1000 + 16 * (uint64_t)p, 100, 0);
		snap(l, NULL, HT_SNAP_TIMER);
	}
	/* An interpreter's finalization frees everything, then exit. */
	for (int p = 0; p < 4; p++)
		release(l, b[p]);
	snap(l, "exit", HT_SNAP_EXIT);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.teardown, 1);
	cr_assert_eq(r.npoints, 4);
	cr_assert_eq(r.ncands, 1);
	uint64_t want[] = { 100, 200, 300, 400 };
	cr_assert_arr_eq(r.cands[0].series, want, sizeof want);
	cr_assert_eq(r.nstats, 0, "nothing is live at the end");
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, an_exit_snapshot_that_kept_most_of_the_heap_stays_in)
{
	leaks_t *l = leaks_new();
	for (int p = 0; p < 3; p++) {
		alloc(l, 0x1000 + 16 * (uint64_t)p, 100, 0);
		snap(l, NULL, HT_SNAP_TIMER);
	}
	heap_block_t t = alloc(l, 0x2000, 50, 1);
	snap(l, NULL, HT_SNAP_TIMER); /* 350 */
	release(l, t);
	snap(l, "exit", HT_SNAP_EXIT); /* 300: not a teardown */
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.teardown, 0);
	cr_assert_eq(r.npoints, 5);
	/* Changed for issue 12's rule: stack 0 (100, 200, 300, 300, 300)
	 * stopped growing, but grew in 2 of 4 intervals: still a leak. */
	cr_assert_eq(r.ncands_total, 1, "a flat end does not disqualify");
	cr_assert_eq(r.cands[0].stack, 0);
	cr_assert_eq(r.cands[0].growth, 200);
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, a_site_that_churns_back_to_the_same_bytes_is_flat)
{
	leaks_t *l = leaks_new();
	alloc(l, 0x100, 100, 0);
	snap(l, NULL, HT_SNAP_TIMER);
	alloc(l, 0x110, 100, 0);
	snap(l, NULL, HT_SNAP_TIMER);
	/* Changed during the interval, same bytes at its end. */
	heap_block_t t = alloc(l, 0x120, 100, 0);
	release(l, t);
	snap(l, NULL, HT_SNAP_TIMER);
	alloc(l, 0x130, 100, 0);
	/* stack 1 grows in every interval without stack 0 */
	snap(l, NULL, HT_SNAP_EXIT);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.npoints, 4);
	/* Changed for issue 12's rule (a flat interval no longer
	 * disqualifies): the churned interval still counts as flat, not as
	 * growth. */
	cr_assert_eq(r.ncands_total, 1);
	cr_assert_eq(r.cands[0].grew, 2, "the churned interval is flat");
	cr_assert_eq(r.cands[0].intervals, 3);
	leaks_result_free(&r);
	/* Grouped with a stack that grows in the flat interval: grows. */
	leaks_t *m = leaks_new();
	alloc(m, 0x100, 100, 0);
	snap(m, NULL, HT_SNAP_TIMER);
	alloc(m, 0x110, 100, 0);
	snap(m, NULL, HT_SNAP_TIMER);
	alloc(m, 0x900, 1, 1);
	snap(m, NULL, HT_SNAP_TIMER);
	alloc(m, 0x120, 100, 0);
	snap(m, NULL, HT_SNAP_EXIT);
	uint32_t g[] = { 0, 0 };
	cr_assert_eq(leaks_compute(m, g, 2, 0, &r), 0);
	cr_assert_eq(r.ncands_total, 1);
	uint64_t want[] = { 100, 200, 201, 301 };
	cr_assert_arr_eq(r.cands[0].series, want, sizeof want);
	cr_assert_eq(r.cands[0].stack, 0);
	leaks_result_free(&r);
	leaks_free(m);
	leaks_free(l);
}

/* --- issue 12's rule on synthetic series -------------------------------- */

/* A trace whose stack 0 holds series[i] live bytes at snapshot i (one
 * block, replaced at each point), beside a constant `other` bytes at stack
 * 1; the last snapshot is the exit one.  Returns the computed result. */
static leaks_t *series_trace(const uint64_t *series, size_t n, uint64_t other)
{
	leaks_t *l = leaks_new();
	if (other)
		alloc(l, 0x10, other, 1);
	heap_block_t b = { 0 };
	bool have = false;
	for (size_t i = 0; i < n; i++) {
		if (have)
			release(l, b);
		have = series[i] > 0;
		if (have)
			b = alloc(l, 0x1000 + 16 * (uint64_t)i, series[i], 0);
		snap(l, NULL, i + 1 == n ? HT_SNAP_EXIT : HT_SNAP_TIMER);
	}
	return l;
}

/* 1 when stack 0 of the series is a candidate (its growth in *growth). */
static int judged(const uint64_t *series, size_t n, uint64_t other,
		  uint64_t *growth)
{
	leaks_t *l = series_trace(series, n, other);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.npoints, n);
	int found = 0;
	for (size_t i = 0; i < r.ncands; i++)
		if (r.cands[i].stack == 0) {
			found = 1;
			if (growth)
				*growth = r.cands[i].growth;
		}
	leaks_result_free(&r);
	leaks_free(l);
	return found;
}

#define K 1024ull
#define N(a) (sizeof(a) / sizeof *(a))

Test(leaks, a_leak_that_stops_before_exit_is_a_candidate)
{
	/* Issue 12: six phases of 100 KiB, a snapshot after each, then exit
	 * with nothing more allocated: the last interval is flat. */
	uint64_t s[] = { 100 * K, 200 * K, 300 * K, 400 * K,
			 500 * K, 600 * K, 600 * K };
	uint64_t growth = 0;
	cr_assert(judged(s, N(s), 0, &growth));
	cr_assert_eq(growth, 500 * K, "retained growth from the first point");
}

Test(leaks, a_bounded_cache_that_filled_is_a_plateau)
{
	/* A ring that fills in two intervals, then replaces entries of the
	 * same size: flat for the rest. */
	uint64_t s[] = { 0, 256 * K, 512 * K, 512 * K, 512 * K,
			 512 * K, 512 * K, 512 * K };
	cr_assert(!judged(s, N(s), 0, NULL));
}

Test(leaks, an_lru_at_capacity_that_jitters_is_a_plateau)
{
	/* Entries of varying size: small rises and falls at the cap, and a
	 * new high now and then. */
	uint64_t s[] = { 0, 300 * K, 500 * K, 498 * K, 501 * K, 497 * K,
			 499 * K, 502 * K, 496 * K, 500 * K, 499 * K };
	cr_assert(!judged(s, N(s), 0, NULL));
}

Test(leaks, growth_trimmed_again_is_not_a_candidate)
{
	uint64_t s[] = { 100 * K, 200 * K, 300 * K, 400 * K, 120 * K,
			 120 * K };
	cr_assert(!judged(s, N(s), 0, NULL));
	/* ... even when it grows again after the trim. */
	uint64_t t[] = { 100 * K, 200 * K, 300 * K, 100 * K, 400 * K, 500 * K };
	cr_assert(!judged(t, N(t), 0, NULL));
}

Test(leaks, stepwise_doubling_is_a_candidate)
{
	/* A table that doubles now and then, the gaps widening: each flat
	 * run between two steps counts as one interval. */
	uint64_t s[] = { 64 * K, 128 * K, 128 * K, 256 * K, 256 * K,
			 256 * K, 256 * K, 512 * K, 512 * K };
	uint64_t growth = 0;
	cr_assert(judged(s, N(s), 0, &growth));
	cr_assert_eq(growth, 448 * K);
}

Test(leaks, snapshots_before_the_site_started_are_left_out)
{
	/* Timer snapshots during start-up: the site is 0 for five points
	 * (more than half the series), then leaks. */
	uint64_t s[] = { 0, 0, 0, 0, 0, 0, 100 * K, 200 * K, 300 * K, 300 * K };
	uint64_t growth = 0;
	cr_assert(judged(s, N(s), 0, &growth));
	cr_assert_eq(growth, 300 * K);
}

Test(leaks, one_step_up_is_an_allocation_not_a_trend)
{
	uint64_t s[] = { 0, 1024 * K, 1024 * K, 1024 * K };
	cr_assert(!judged(s, N(s), 0, NULL));
	uint64_t t[] = { 0, 0, 0, 1024 * K };
	cr_assert(!judged(t, N(t), 0, NULL));
}

Test(leaks, a_fall_within_the_tolerance_is_noise)
{
	uint64_t s[] = { 100 * K, 200 * K, 195 * K, 300 * K, 400 * K };
	cr_assert(judged(s, N(s), 0, NULL), "2.5%% below the high");
	uint64_t t[] = { 100 * K, 200 * K, 180 * K, 300 * K, 400 * K };
	cr_assert(!judged(t, N(t), 0, NULL), "10%% below the high");
}

Test(leaks, growth_must_be_meaningful_for_the_heap)
{
	/* 10 MiB elsewhere: 300 B of growth is noise, 64 KiB is not. */
	uint64_t s[] = { 100, 200, 300, 400 };
	cr_assert(!judged(s, N(s), 10 * 1024 * K, NULL));
	uint64_t t[] = { 1 * K, 33 * K, 65 * K };
	cr_assert(judged(t, N(t), 10 * 1024 * K, NULL));
	/* A small program: 1% of its heap is enough. */
	cr_assert(judged(s, N(s), 0, NULL));
	cr_assert_eq(leakrule_min_growth(10 * 1024 * K), 64 * K);
	cr_assert_eq(leakrule_min_growth(20 * K), 204);
}

Test(leaks, a_plateau_needs_as_many_flat_intervals_as_growth_to_count)
{
	/* Three growths then three flat intervals: half, still a leak that
	 * stopped; a fourth flat interval makes it a plateau. */
	uint64_t s[] = { 100 * K, 200 * K, 300 * K, 400 * K,
			 400 * K, 400 * K, 400 * K };
	cr_assert(judged(s, N(s), 0, NULL));
	uint64_t t[] = { 100 * K, 200 * K, 300 * K, 400 * K,
			 400 * K, 400 * K, 400 * K, 400 * K };
	cr_assert(!judged(t, N(t), 0, NULL));
}

Test(leaks, candidates_report_their_window_and_counts)
{
	uint64_t s[] = { 0, 0, 100 * K, 200 * K, 200 * K, 300 * K };
	leaks_t *l = series_trace(s, N(s), 0);
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.ncands, 1);
	cr_assert_eq(r.cands[0].start, 1);
	cr_assert_eq(r.cands[0].grew, 3);
	cr_assert_eq(r.cands[0].intervals, 4);
	cr_assert_eq(r.cands[0].growth, 300 * K);
	cr_assert_eq(r.min_growth, leakrule_min_growth(300 * K));
	leaks_result_free(&r);
	leaks_free(l);
}

Test(leaks, a_flat_end_is_measured_in_the_sites_own_rhythm)
{
	/* A leak in bursts, with four flat timer snapshots between bursts:
	 * an end of five flat intervals is one more pause ... */
	uint64_t s[48];
	size_t n = 0;
	for (int b = 1; b <= 6; b++) {
		s[n++] = (uint64_t)b * 100 * K;
		for (int k = 0; k < 4 && b < 6; k++, n++)
			s[n] = s[n - 1];
	}
	for (int k = 0; k < 5; k++, n++)
		s[n] = s[n - 1];
	cr_assert(judged(s, n, 0, NULL));
	/* ... fifteen are a plateau. */
	for (int k = 0; k < 10; k++, n++)
		s[n] = s[n - 1];
	cr_assert(!judged(s, n, 0, NULL));
}

Test(leaks, python_teardown_mark_is_the_end_unless_at_exit)
{
	/* A leak that finalization frees after the teardown mark: the live
	 * set is the one at the mark; --at end (at_exit) sees the free. */
	for (int at_exit = 0; at_exit < 2; at_exit++) {
		leaks_t *l = leaks_new();
		leaks_set_at_exit(l, at_exit);
		snap(l, "<main module starts>", HT_SNAP_PY_MAIN);
		heap_block_t b = alloc(l, 0x1000, 4096, 0);
		snap(l, "<teardown starts>", HT_SNAP_PY_TEARDOWN);
		release(l, b);
		snap(l, "exit", HT_SNAP_EXIT);
		leaks_result_t r;
		cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
		cr_assert_eq(r.at_teardown, !at_exit);
		cr_assert_eq(r.has_teardown, 1);
		cr_assert_eq(r.python, 1);
		cr_assert_eq(r.total_bytes, at_exit ? 0 : 4096);
		cr_assert_eq(r.npoints_all, at_exit ? 3 : 2);
		cr_assert_str_eq(r.points[r.npoints_all - 1].label,
				 at_exit ? "exit" : "<teardown starts>");
		leaks_result_free(&r);
		leaks_free(l);
	}
}

Test(leaks, the_startup_stack_is_never_a_candidate)
{
	/* Stack 0 receives start-up's blocks by MOVE and keeps growing after
	 * (as a lazily filled interpreter cache would); stack 1 is a leak. */
	leaks_t *l = leaks_new();
	heap_block_t old = blk(0x100, 1 << 20, 5);
	heap_block_t moved = old;
	moved.stack = 0;
	feed(l, (heap_event_t){ .kind = HEAP_EV_MOVE, .block = moved, .old = old,
				.old_known = true });
	snap(l, "<main module starts>", HT_SNAP_PY_MAIN);
	for (int i = 0; i < 4; i++) {
		alloc(l, 0x10000 + 0x1000 * (uint64_t)i, 1 << 20, 0);
		alloc(l, 0x90000 + 0x1000 * (uint64_t)i, 1 << 20, 1);
		snap(l, "step", HT_SNAP_API);
	}
	leaks_result_t r;
	cr_assert_eq(leaks_compute(l, NULL, 0, 0, &r), 0);
	cr_assert_eq(r.ncands, 1);
	cr_assert_eq(r.cands[0].stack, 1);
	leaks_result_free(&r);
	leaks_free(l);
}
