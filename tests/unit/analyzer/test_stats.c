/* top/diff statistics: the point aggregator (end, peak, snapshot, time),
 * grouping by lineno/traceback/module, cumulative keys, filters and
 * compare_to, on raw (unsymbolized) frames: module+offset keys. */
#include <criterion/criterion.h>
#include <errno.h>

#include "model/analysis.h"
#include "agg/point.h"
#include "agg/stats.h"
#include "tbuild.h"
#include "cli/args.h"
#include "cli/run.h"
#include "render/fmt.h"

/* ips in the main executable (bias 0x400000): key "prog+0x<ip-1-bias>" */
#define IP_A 0x401001 /* prog+0x1000 */
#define IP_B 0x402001 /* prog+0x2000 */
#define IP_C 0x403001 /* prog+0x3000 */

static void preamble(tb_t *t)
{
	tb_init(t);
	tb_process(t, 99, "/usr/bin/prog");
	tb_modules1(t, 1, "", 0x400000, 0, 0x100000);
}

typedef struct fixture {
	analysis_t *an;
	point_t *pt[2];
	group_t *g;
	stat_set_t set;
} fixture_t;

static void run_points(fixture_t *f, tb_t *t, const char *at0, const char *at1)
{
	char err[256];
	point_spec_t ps;
	memset(f, 0, sizeof(*f));
	cr_assert_eq(analysis_open_mem(&f->an, t->buf, t->len, "t.htr", err, sizeof(err)), 0, "%s", err);
	const char *at[2] = { at0, at1 };
	for (int i = 0; i < 2 && at[i]; i++) {
		args_parse_point(at[i], &ps);
		f->pt[i] = point_new(&ps);
		cr_assert_eq(analysis_add_agg(f->an, point_agg(f->pt[i])), 0);
	}
	cr_assert_eq(analysis_run(f->an, err, sizeof(err)), 0, "%s", err);
}

/* Stats of point i grouped by `by`. */
static void stats_at(fixture_t *f, int i, report_by_t by, bool cumulative,
		     stat_set_t *out)
{
	const uint64_t *b, *c;
	size_t n;
	char err[256];
	cr_assert_eq(run_point_result(f->pt[i], f->an, &b, &c, &n, err, sizeof(err)), 0, "%s", err);
	if (!f->g)
		f->g = group_new(analysis_frames(f->an, FRAMES_ALL, true), by);
	cr_assert_eq(stats_compute(f->g, b, c, n, cumulative, out), 0);
	stats_rank(out, false, 0);
}

static void fixture_free(fixture_t *f)
{
	stats_free(&f->set);
	group_free(f->g);
	analysis_free(f->an);
	point_free(f->pt[0]);
	point_free(f->pt[1]);
}

static void assert_row(const stat_set_t *s, size_t i, const char *key,
		       uint64_t bytes, uint64_t count)
{
	cr_assert_lt(i, s->n, "row %zu missing (%zu rows)", i, s->n);
	cr_assert_str_eq(s->rows[i].key, key);
	cr_assert_eq(s->rows[i].bytes, bytes, "%s: %lu bytes, expected %lu", key,
		     (unsigned long)s->rows[i].bytes, (unsigned long)bytes);
	cr_assert_eq(s->rows[i].count, count, "%s: count %lu, expected %lu", key,
		     (unsigned long)s->rows[i].count, (unsigned long)count);
}

Test(stats, top_by_lineno_at_end_sorted_by_size_then_count)
{
	tb_t t;
	fixture_t f;
	uint64_t s2[2] = { IP_B, IP_C };
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_stack(&t, 2, 2, s2, 0, NULL);
	tb_stack1(&t, 3, IP_C);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 100, 1);
	tb_malloc(&t, 0x3000, 150, 2);
	tb_malloc(&t, 0x4000, 30, 2);
	tb_malloc(&t, 0x4800, 20, 2);
	tb_malloc(&t, 0x5000, 10, 3);
	tb_free(&t, 0x5000);
	tb_end(&t, 7, 0, 1000);
	run_points(&f, &t, "end", NULL);
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	cr_assert_eq(f.set.n, 2, "a freed site has no row");
	/* Same size: more blocks first. */
	assert_row(&f.set, 0, "prog+0x2000", 200, 3);
	assert_row(&f.set, 1, "prog+0x1000", 200, 2);
	cr_assert_eq(f.set.total_bytes, 400);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, traceback_grouping_separates_callers)
{
	tb_t t;
	fixture_t f;
	uint64_t s1[2] = { IP_A, IP_B }, s2[2] = { IP_A, IP_C };
	preamble(&t);
	tb_stack(&t, 1, 2, s1, 0, NULL);
	tb_stack(&t, 2, 2, s2, 0, NULL);
	tb_malloc(&t, 0x1000, 30, 1);
	tb_malloc(&t, 0x2000, 20, 2);
	run_points(&f, &t, "end", NULL);
	stats_at(&f, 0, BY_TRACEBACK, false, &f.set);
	cr_assert_eq(f.set.n, 2);
	assert_row(&f.set, 0, "prog+0x1000\nprog+0x2000", 30, 1);
	assert_row(&f.set, 1, "prog+0x1000\nprog+0x3000", 20, 1);
	cr_assert_eq(f.set.rows[0].nframes, 2);
	stats_free(&f.set);
	/* By lineno they share the innermost frame. */
	group_free(f.g);
	f.g = NULL;
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	cr_assert_eq(f.set.n, 1);
	assert_row(&f.set, 0, "prog+0x1000", 50, 2);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, cumulative_counts_each_block_once_per_key_per_stack)
{
	tb_t t;
	fixture_t f;
	/* Stack 1 recurses through A twice: A is counted once for it. */
	uint64_t s1[3] = { IP_A, IP_A, IP_B }, s2[2] = { IP_C, IP_B };
	preamble(&t);
	tb_stack(&t, 1, 3, s1, 0, NULL);
	tb_stack(&t, 2, 2, s2, 0, NULL);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 10, 2);
	run_points(&f, &t, "end", NULL);
	stats_at(&f, 0, BY_LINENO, true, &f.set);
	cr_assert_eq(f.set.n, 3);
	assert_row(&f.set, 0, "prog+0x2000", 110, 2);
	assert_row(&f.set, 1, "prog+0x1000", 100, 1);
	assert_row(&f.set, 2, "prog+0x3000", 10, 1);
	cr_assert_eq(f.set.total_bytes, 110, "totals count each block once");
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, peak_point_uses_the_split_at_the_peak)
{
	tb_t t;
	fixture_t f;
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_stack1(&t, 2, IP_B);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_time(&t, 2000);
	tb_malloc(&t, 0x2000, 50, 2); /* peak 150 at 2 ms */
	tb_free(&t, 0x1000);
	tb_malloc(&t, 0x3000, 60, 2);
	run_points(&f, &t, "peak", "end");
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	assert_row(&f.set, 0, "prog+0x1000", 100, 1);
	assert_row(&f.set, 1, "prog+0x2000", 50, 1);
	cr_assert_eq(point_heap_bytes(f.pt[0]), 150);
	cr_assert_eq(point_time_us(f.pt[0]), 2000);
	stat_set_t end;
	stats_at(&f, 1, BY_LINENO, false, &end);
	cr_assert_eq(end.n, 1);
	assert_row(&end, 0, "prog+0x2000", 110, 2);
	stats_free(&end);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, snapshot_by_label_or_index_and_time)
{
	tb_t t;
	fixture_t f;
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_snapshot(&t, 0, HT_SNAP_API, "first");
	tb_time(&t, 1000);
	tb_malloc(&t, 0x2000, 100, 1);
	tb_time(&t, 1000);
	tb_malloc(&t, 0x3000, 100, 1); /* at 2 ms */
	tb_snapshot(&t, 1, HT_SNAP_TIMER, "");
	tb_free(&t, 0x1000);
	run_points(&f, &t, "first", "1");
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	assert_row(&f.set, 0, "prog+0x1000", 100, 1);
	stat_set_t s1;
	stats_at(&f, 1, BY_LINENO, false, &s1);
	assert_row(&s1, 0, "prog+0x1000", 300, 3);
	cr_assert_eq(point_time_us(f.pt[1]), 2000);
	stats_free(&s1);
	fixture_free(&f);

	/* 1.5 ms: after the second allocation, before the third. */
	run_points(&f, &t, "1500us", "1.5ms");
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	assert_row(&f.set, 0, "prog+0x1000", 200, 2);
	cr_assert_eq(point_heap_bytes(f.pt[0]), 200);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, unknown_snapshot_lists_the_existing_ones)
{
	tb_t t;
	fixture_t f;
	const uint64_t *b, *c;
	size_t n;
	char err[512];
	preamble(&t);
	tb_snapshot(&t, 0, HT_SNAP_API, "warm");
	run_points(&f, &t, "cold", NULL);
	cr_assert_eq(run_point_result(f.pt[0], f.an, &b, &c, &n, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no snapshot 'cold' (snapshots: #0 'warm')"), "%s", err);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, diff_between_snapshots_sorted_by_absolute_change)
{
	tb_t t;
	fixture_t f;
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_stack1(&t, 2, IP_B);
	tb_stack1(&t, 3, IP_C);
	tb_malloc(&t, 0x1000, 1000, 1);
	tb_malloc(&t, 0x2000, 10, 2);
	tb_snapshot(&t, 0, HT_SNAP_API, "a");
	tb_free(&t, 0x1000); /* A: -1000 */
	tb_malloc(&t, 0x3000, 20, 2); /* B: +20 */
	tb_malloc(&t, 0x4000, 500, 3); /* C: new +500 */
	tb_snapshot(&t, 1, HT_SNAP_API, "b");
	run_points(&f, &t, "a", "b");
	stat_set_t old, now, d;
	stats_at(&f, 0, BY_LINENO, false, &old);
	stats_at(&f, 1, BY_LINENO, false, &now);
	cr_assert_eq(stats_diff(&old, &now, &d), 0);
	cr_assert_eq(stats_rank(&d, true, 0), 3);
	assert_row(&d, 0, "prog+0x1000", 0, 0);
	cr_assert_eq(d.rows[0].bytes_diff, -1000);
	cr_assert_eq(d.rows[0].count_diff, -1);
	assert_row(&d, 1, "prog+0x3000", 500, 1);
	cr_assert_eq(d.rows[1].bytes_diff, 500);
	assert_row(&d, 2, "prog+0x2000", 30, 2);
	cr_assert_eq(d.rows[2].bytes_diff, 20);
	cr_assert_eq(d.rows[2].count_diff, 1);
	cr_assert_eq(d.total_bytes_diff, -480);
	stats_free(&old);
	stats_free(&now);
	stats_free(&d);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, filters_match_the_innermost_file_like_tracemalloc)
{
	tb_t t;
	fixture_t f;
	const uint64_t *b, *c;
	size_t n;
	char err[256];
	/* Python frames give file names; native frames only module names. */
	uint64_t py1[2] = { 1, 10 }, py2[2] = { 2, 20 };
	uint64_t ip = IP_A;
	preamble(&t);
	tb_pycode(&t, 1, "/app/main.py", "main", 1);
	tb_pycode(&t, 2, "/usr/lib/python3/json/decoder.py", "decode", 1);
	tb_stack(&t, 1, 1, &ip, 1, py1);
	tb_stack(&t, 2, 1, &ip, 1, py2);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 200, 2);
	run_points(&f, &t, "end", NULL);
	cr_assert_eq(run_point_result(f.pt[0], f.an, &b, &c, &n, err, sizeof(err)), 0);
	f.g = group_new(analysis_frames(f.an, FRAMES_PYTHON, true), BY_LINENO);
	group_add_filter(f.g, "*/json/*", false);
	cr_assert_eq(stats_compute(f.g, b, c, n, false, &f.set), 0);
	cr_assert_eq(f.set.n, 1);
	assert_row(&f.set, 0, "/app/main.py:10", 100, 1);
	stats_free(&f.set);
	group_free(f.g);
	f.g = group_new(analysis_frames(f.an, FRAMES_PYTHON, true), BY_FILENAME);
	group_add_filter(f.g, "*.py", true);
	group_add_filter(f.g, "/app/*", false);
	cr_assert_eq(stats_compute(f.g, b, c, n, false, &f.set), 0);
	cr_assert_eq(f.set.n, 1);
	assert_row(&f.set, 0, "/usr/lib/python3/json/decoder.py", 200, 1);
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, module_grouping_and_address_outside_modules)
{
	tb_t t;
	fixture_t f;
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_stack1(&t, 2, 0x7fff12345679);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 300, 2);
	run_points(&f, &t, "end", NULL);
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	assert_row(&f.set, 0, "0x7fff12345679", 300, 1);
	stats_free(&f.set);
	group_free(f.g);
	f.g = NULL;
	stats_at(&f, 0, BY_MODULE, false, &f.set);
	assert_row(&f.set, 0, "[unknown]", 300, 1);
	assert_row(&f.set, 1, "prog", 100, 1);
	fixture_free(&f);
	tb_fini(&t);
}

/* Issue 12: --at past the end of the trace was silently the end. */
Test(stats, a_time_past_the_end_is_an_error_giving_the_duration)
{
	tb_t t;
	fixture_t f;
	const uint64_t *b, *c;
	size_t n;
	char err[256];
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_time(&t, 10);
	tb_malloc(&t, 0x2000, 100, 1);

	run_points(&f, &t, "5s", NULL);
	int rc = run_point_result(f.pt[0], f.an, &b, &c, &n, err, sizeof(err));

	cr_assert_eq(rc, -ERANGE);
	cr_assert_str_eq(err, "t.htr: time 5s is past the end of the trace, which lasts 0.00001s");
	fixture_free(&f);
	tb_fini(&t);
}

Test(stats, a_number_without_a_unit_suggests_seconds)
{
	tb_t t;
	fixture_t f;
	const uint64_t *b, *c;
	size_t n;
	char err[256];
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_malloc(&t, 0x1000, 100, 1);

	run_points(&f, &t, "0.3", NULL);
	int rc = run_point_result(f.pt[0], f.an, &b, &c, &n, err, sizeof(err));

	cr_assert_eq(rc, -ENOENT);
	cr_assert(strstr(err, "; for a time, give a unit: 0.3s"), "%s", err);
	fixture_free(&f);
	tb_fini(&t);
}

Test(fmt, times_show_the_digits_they_have)
{
	char buf[32];
	cr_assert_str_eq(fmt_time(buf, sizeof buf, 300000), "0.3s");
	cr_assert_str_eq(fmt_time(buf, sizeof buf, 2032), "0.002032s");
	cr_assert_str_eq(fmt_time(buf, sizeof buf, 5000000), "5s");
	cr_assert_str_eq(fmt_time(buf, sizeof buf, 0), "0s");
}

Test(stats, a_label_wins_over_an_index)
{
	tb_t t;
	fixture_t f;
	preamble(&t);
	tb_stack1(&t, 1, IP_A);
	tb_snapshot(&t, 0, HT_SNAP_API, "a");
	tb_malloc(&t, 0x1000, 100, 1);
	tb_snapshot(&t, 1, HT_SNAP_API, "b");
	tb_malloc(&t, 0x2000, 100, 1);
	tb_snapshot(&t, 2, HT_SNAP_API, "1"); /* label "1" is snapshot #2 */
	run_points(&f, &t, "1", "b");
	stats_at(&f, 0, BY_LINENO, false, &f.set);
	assert_row(&f.set, 0, "prog+0x1000", 200, 2);
	stat_set_t b;
	stats_at(&f, 1, BY_LINENO, false, &b);
	assert_row(&b, 0, "prog+0x1000", 100, 1);
	stats_free(&b);
	fixture_free(&f);
	tb_fini(&t);
}

/* `report`'s most-called sites: by count first, bytes breaking ties. */
Test(stats, rank_by_count_puts_the_most_calls_first)
{
	stat_row_t rows[3] = {
		{ .key = "big", .bytes = 1000, .count = 1 },
		{ .key = "many", .bytes = 10, .count = 50 },
		{ .key = "many_bigger", .bytes = 20, .count = 50 },
	};
	stat_set_t s = { .rows = rows, .n = 3 };

	size_t k = stats_rank_count(&s, 2);

	cr_assert_eq(k, 2);
	cr_assert_str_eq(rows[0].key, "many_bigger");
	cr_assert_str_eq(rows[1].key, "many");
	cr_assert_str_eq(rows[2].key, "big");
}
