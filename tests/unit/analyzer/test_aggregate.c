/* Aggregated traces (record --aggregate): AGG_STATE / AGG_PEAK / AGG_HEAP
 * records set the heap model's per-stack totals, the peak's breakdown and
 * the heap samples; the aggregators see HEAP_EV_SET / HEAP_EV_SAMPLE.
 * Synthetic traces, no process. */
#include <criterion/criterion.h>
#include <errno.h>

#include "agg/point.h"
#include "model/analysis.h"
#include "model/heap.h"
#include "tbuild.h"

/* Counts the events of each kind. */
typedef struct count_agg {
	agg_t agg;
	int set, sample, other;
	uint64_t last_heap;
} count_agg_t;

static int count_add(agg_t *a, const heap_event_t *ev)
{
	count_agg_t *c = (count_agg_t *)a;
	if (ev->kind == HEAP_EV_SET)
		c->set++;
	else if (ev->kind == HEAP_EV_SAMPLE)
		c->sample++;
	else
		c->other++;
	c->last_heap = ev->heap_bytes;
	return 0;
}

static const agg_ops_t count_ops = { .name = "count", .add = count_add };

static analysis_t *run(tb_t *t, agg_t **aggs, size_t n)
{
	analysis_t *an;
	char err[256];
	cr_assert_eq(analysis_open_mem(&an, t->buf, t->len, "t.htr", err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(analysis_add_agg(an, aggs[i]), 0);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	return an;
}

static void assert_live(const analysis_t *an, uint64_t id, uint64_t bytes, uint64_t count)
{
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &n);
	sidx_t i = stacks_find(analysis_stacks(an), id);
	cr_assert_neq(i, SIDX_NONE, "stack %lu unknown", (unsigned long)id);
	cr_assert_eq(st[i].live_bytes, bytes, "stack %lu: %lu bytes, expected %lu", (unsigned long)id,
		     (unsigned long)st[i].live_bytes, (unsigned long)bytes);
	cr_assert_eq(st[i].live_count, count);
}

static void assert_peak(const analysis_t *an, uint64_t id, uint64_t bytes, uint64_t count)
{
	uint64_t b, c;
	sidx_t i = stacks_find(analysis_stacks(an), id);
	cr_assert_neq(i, SIDX_NONE);
	heap_stack_at_peak(analysis_heap(an), i, &b, &c);
	cr_assert_eq(b, bytes, "stack %lu at peak: %lu, expected %lu", (unsigned long)id,
		     (unsigned long)b, (unsigned long)bytes);
	cr_assert_eq(c, count);
}

/* Two stacks; a snapshot "one" after the first state; the peak (300 B)
 * between; at the end stack 1 has freed its block and stack 3 is new. */
static void script(tb_t *t)
{
	tb_init(t);
	tb_process(t, 42, "/bin/agg");
	tb_aggregate(t);
	tb_stack1(t, 1, 0x401000);
	tb_stack1(t, 2, 0x402000);
	tb_agg_state(t, 300, 3, 3, 0,
		     (site_t[]){ { 1, 100, 1, 1, 100 }, { 2, 200, 2, 2, 200 } }, 2);
	tb_agg_peak(t, 300, 3, 5, (site_t[]){ { 1, 100, 1, 0, 100 }, { 2, 200, 2, 0, 200 } }, 2);
	tb_snapshot(t, 0, HT_SNAP_API, "one");
	tb_time(t, 10);
	tb_agg_heap(t, 250, 3);
	tb_stack1(t, 3, 0x403000);
	tb_agg_state(t, 250, 3, 4, 1,
		     (site_t[]){ { 1, 0, 0, 1, 100 }, { 3, 50, 1, 1, 50 } }, 2);
	tb_agg_peak(t, 300, 3, 5, (site_t[]){ { 1, 100, 1, 0, 100 }, { 2, 200, 2, 0, 200 } }, 2);
	tb_end(t, 5, 0, 20);
}

Test(aggregate, state_records_set_the_stacks_and_the_heap)
{
	tb_t t;
	count_agg_t c = { .agg.ops = &count_ops };
	agg_t *a = &c.agg;
	script(&t);
	analysis_t *an = run(&t, &a, 1);

	const analysis_summary_t *s = analysis_summary(an);
	const heap_counters_t *hc = heap_counters(analysis_heap(an));
	cr_assert(s->aggregated);
	assert_live(an, 1, 0, 0);
	assert_live(an, 2, 200, 2);
	assert_live(an, 3, 50, 1);
	cr_assert_eq(hc->heap_bytes, 250);
	cr_assert_eq(hc->heap_blocks, 3);
	cr_assert_eq(hc->allocs, 4);
	cr_assert_eq(hc->frees, 1);
	cr_assert_eq(hc->alloc_kind[HT_KIND_MALLOC], 4);
	cr_assert_eq(c.set, 4, "one SET per stack named");
	cr_assert_eq(c.sample, 1);
	cr_assert_eq(c.other, 0, "no single events");
	analysis_free(an);
	tb_fini(&t);
}

Test(aggregate, the_peak_record_is_the_peak_breakdown)
{
	tb_t t;
	script(&t);
	analysis_t *an = run(&t, NULL, 0);

	const heap_counters_t *hc = heap_counters(analysis_heap(an));
	cr_assert_eq(hc->peak_bytes, 300);
	cr_assert_eq(hc->peak_blocks, 3);
	cr_assert_eq(hc->peak_time_us, 5);
	assert_peak(an, 1, 100, 1);
	assert_peak(an, 2, 200, 2);
	assert_peak(an, 3, 0, 0);
	analysis_free(an);
	tb_fini(&t);
}

Test(aggregate, a_stack_changed_after_the_last_peak_record_keeps_its_share)
{
	/* Only one AGG_PEAK, before the last state (a trace cut short). */
	tb_t t;
	tb_init(&t);
	tb_process(&t, 42, "/bin/agg");
	tb_aggregate(&t);
	tb_stack1(&t, 1, 0x401000);
	tb_agg_state(&t, 100, 1, 1, 0, (site_t[]){ { 1, 100, 1, 1, 100 } }, 1);
	tb_agg_peak(&t, 100, 1, 3, (site_t[]){ { 1, 100, 1, 0, 100 } }, 1);
	tb_stack1(&t, 2, 0x402000);
	tb_agg_state(&t, 70, 2, 3, 1,
		     (site_t[]){ { 1, 0, 0, 1, 100 }, { 2, 70, 2, 2, 70 } }, 2);
	analysis_t *an = run(&t, NULL, 0);

	assert_peak(an, 1, 100, 1);
	assert_peak(an, 2, 0, 0);
	assert_live(an, 2, 70, 2);
	analysis_free(an);
	tb_fini(&t);
}

Test(aggregate, a_snapshot_sees_the_state_written_before_it)
{
	tb_t t;
	script(&t);
	point_spec_t spec = { .kind = POINT_SNAPSHOT, .snapshot = "one" };
	point_t *p = point_new(&spec);
	agg_t *a = point_agg(p);
	analysis_t *an = run(&t, &a, 1);

	const analysis_summary_t *s = analysis_summary(an);
	cr_assert_eq(s->nsnapshots, 1);
	cr_assert_eq(s->snapshots[0].heap_bytes, 300);
	const uint64_t *bytes, *count;
	size_t n;
	char err[256];
	point_from_t from = { .heap = analysis_heap(an), .sum = s };
	cr_assert_eq(point_result(p, &from, &bytes, &count, &n, err, sizeof err), 0, "%s", err);
	sidx_t one = stacks_find(analysis_stacks(an), 1), two = stacks_find(analysis_stacks(an), 2);
	cr_assert_eq(bytes[one], 100);
	cr_assert_eq(bytes[two], 200);
	cr_assert_eq(count[two], 2);
	analysis_free(an);
	point_free(p);
	tb_fini(&t);
}

Test(aggregate, the_startup_id_is_the_interpreter_startup_stack)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 42, "/bin/agg");
	tb_aggregate(&t);
	tb_agg_state(&t, 64, 1, 1, 0, (site_t[]){ { HT_AGG_STARTUP_ID, 64, 1, 1, 64 } }, 1);
	analysis_t *an = run(&t, NULL, 0);

	assert_live(an, STACKS_ID_STARTUP, 64, 1);
	analysis_free(an);
	tb_fini(&t);
}

Test(aggregate, a_state_record_cut_short_is_a_corrupt_record)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 42, "/bin/agg");
	tb_aggregate(&t);
	tb_bv(&t, 100);
	tb_bv(&t, 1);
	tb_bv(&t, 1);
	tb_record(&t, HT_REC_AGG_STATE);
	analysis_t *an;
	char err[512];
	cr_assert_eq(analysis_open_mem(&an, t.buf, t.len, "t.htr", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), -EBADMSG);
	cr_assert(strstr(err, "AGG_STATE fields run past the record"), "%s", err);
	analysis_free(an);
	tb_fini(&t);
}
