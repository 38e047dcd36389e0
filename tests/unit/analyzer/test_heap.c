/* Heap model: totals, per-stack live bytes, the peak epochs, realloc,
 * anomalies (unknown frees, allocation on a live address), temporaries,
 * exec discarding the old image.  Events come from synthetic traces. */
#include <criterion/criterion.h>
#include <errno.h>

#include "model/analysis.h"
#include "model/heap.h"
#include "tbuild.h"

/* Records every heap event it gets. */
typedef struct rec_agg {
	agg_t agg;
	heap_event_t ev[64];
	int n;
	int resets;
} rec_agg_t;

static int rec_add(agg_t *a, const heap_event_t *ev)
{
	rec_agg_t *r = (rec_agg_t *)a;
	if (r->n < 64)
		r->ev[r->n++] = *ev;
	return 0;
}

static void rec_reset(agg_t *a)
{
	rec_agg_t *r = (rec_agg_t *)a;
	r->n = 0;
	r->resets++;
}

static const agg_ops_t rec_ops = { .name = "rec", .add = rec_add,
				   .reset = rec_reset };

static analysis_t *run(tb_t *t, rec_agg_t *rec)
{
	analysis_t *an;
	char err[256];
	cr_assert_eq(analysis_open_mem(&an, t->buf, t->len, "t.htr", err, sizeof(err)), 0, "%s", err);
	if (rec) {
		memset(rec, 0, sizeof(*rec));
		rec->agg.ops = &rec_ops;
		cr_assert_eq(analysis_add_agg(an, &rec->agg), 0);
	}
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	return an;
}

static void assert_stack_live(const analysis_t *an, uint64_t id,
			      uint64_t bytes, uint64_t count)
{
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &n);
	sidx_t i = stacks_find(analysis_stacks(an), id);
	cr_assert_neq(i, SIDX_NONE, "stack %lu unknown", (unsigned long)id);
	cr_assert_lt(i, n);
	cr_assert_eq(st[i].live_bytes, bytes, "stack %lu: %lu bytes, expected %lu",
		     (unsigned long)id, (unsigned long)st[i].live_bytes, (unsigned long)bytes);
	cr_assert_eq(st[i].live_count, count);
}

static void assert_stack_peak(const analysis_t *an, uint64_t id,
			      uint64_t bytes, uint64_t count)
{
	uint64_t b, c;
	sidx_t i = stacks_find(analysis_stacks(an), id);
	heap_stack_at_peak(analysis_heap(an), i, &b, &c);
	cr_assert_eq(b, bytes, "stack %lu at peak: %lu bytes, expected %lu",
		     (unsigned long)id, (unsigned long)b, (unsigned long)bytes);
	cr_assert_eq(c, count);
}

Test(heap, alloc_and_free_keep_totals_and_peak)
{
	tb_t t;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 200, 2);
	tb_time(&t, 7);
	tb_malloc(&t, 0x3000, 300, 1);
	tb_free(&t, 0x1000);
	analysis_t *an = run(&t, NULL);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->allocs, 3);
	cr_assert_eq(c->frees, 1);
	cr_assert_eq(c->heap_bytes, 500);
	cr_assert_eq(c->heap_blocks, 2);
	cr_assert_eq(c->peak_bytes, 600);
	cr_assert_eq(c->peak_blocks, 3);
	cr_assert_eq(c->peak_time_us, 7);
	cr_assert_eq(c->bytes_allocated, 600);
	assert_stack_live(an, 1, 300, 1);
	assert_stack_live(an, 2, 200, 1);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, per_stack_split_at_peak_differs_from_end)
{
	/* Peak 150 = stack 1: 100 + stack 2: 50.  Afterwards stack 1 frees
	 * and stack 2 grows to 110; the heap (110) never beats the peak. */
	tb_t t;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 50, 2);
	tb_free(&t, 0x1000);
	tb_malloc(&t, 0x3000, 60, 2);
	tb_malloc(&t, 0x4000, 1, 3);
	analysis_t *an = run(&t, NULL);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->peak_bytes, 150);
	assert_stack_peak(an, 1, 100, 1);
	assert_stack_peak(an, 2, 50, 1);
	assert_stack_peak(an, 3, 0, 0);
	assert_stack_live(an, 1, 0, 0);
	assert_stack_live(an, 2, 110, 2);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, a_free_is_charged_to_its_site_and_the_net_is_kept_at_the_peak)
{
	/* Stack 1 allocates 100 and 50; site 5 frees the 100 after the
	 * peak (150), site 6 the 50; a realloc at stack 2 frees its old
	 * block (stack 1's 30) as its own free. */
	tb_t t;
	tb_init(&t);
	tb_stack1(&t, 5, 0x401000);
	tb_stack1(&t, 6, 0x402000);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x2000, 50, 1);
	tb_free_site(&t, 5);
	tb_free(&t, 0x1000);
	tb_free_site(&t, 6);
	tb_free(&t, 0x2000);
	tb_malloc(&t, 0x3000, 30, 1);
	tb_realloc(&t, 0x3000, 0x4000, 40, 2);
	analysis_t *an = run(&t, NULL);
	const heap_t *h = analysis_heap(an);
	const stacks_t *s = analysis_stacks(an);
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(h, &n);
	sidx_t s1 = stacks_find(s, 1), s2 = stacks_find(s, 2), s5 = stacks_find(s, 5),
	       s6 = stacks_find(s, 6);
	cr_assert_eq(st[s5].freed_bytes, 100);
	cr_assert_eq(st[s5].freed_count, 1);
	cr_assert_eq(st[s6].freed_bytes, 50);
	cr_assert_eq(st[s2].freed_bytes, 30, "realloc frees its old block itself");
	cr_assert_eq(st[s1].freed_bytes, 0);
	cr_assert_eq(heap_stack_net(h, s1), 180);
	cr_assert_eq(heap_stack_net(h, s5), -100);
	cr_assert_eq(heap_stack_net(h, s2), 10);
	/* At the peak (150): nothing freed yet. */
	cr_assert_eq(heap_stack_net_at_peak(h, s1), 150);
	cr_assert_eq(heap_stack_net_at_peak(h, s5), 0);
	cr_assert_eq(heap_stack_net_at_peak(h, s2), 0);
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += heap_stack_net(h, (sidx_t)i);
	cr_assert_eq(sum, (int64_t)heap_counters(h)->heap_bytes, "the nets sum to the heap");
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, a_later_higher_peak_replaces_the_split)
{
	tb_t t;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 100, 1); /* peak 100: s1 100 */
	tb_free(&t, 0x1000);
	tb_malloc(&t, 0x2000, 80, 2);
	tb_malloc(&t, 0x3000, 30, 2); /* peak 110: s1 0, s2 110 */
	tb_free(&t, 0x2000);
	analysis_t *an = run(&t, NULL);
	cr_assert_eq(heap_counters(analysis_heap(an))->peak_bytes, 110);
	assert_stack_peak(an, 1, 0, 0);
	assert_stack_peak(an, 2, 110, 2);
	assert_stack_live(an, 2, 30, 1);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, realloc_moves_the_block_to_the_reallocating_stack)
{
	tb_t t;
	rec_agg_t rec;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_time(&t, 5);
	tb_realloc(&t, 0x1000, 0x8000, 1000, 2);
	analysis_t *an = run(&t, &rec);
	cr_assert_eq(rec.n, 2);
	cr_assert_eq(rec.ev[1].kind, HEAP_EV_REALLOC);
	cr_assert(rec.ev[1].old_known);
	cr_assert_eq(rec.ev[1].old.size, 100);
	cr_assert_eq(rec.ev[1].old.addr, 0x1000);
	cr_assert_eq(rec.ev[1].old.time_us, 0);
	cr_assert_eq(rec.ev[1].block.size, 1000);
	cr_assert_eq(rec.ev[1].block.addr, 0x8000);
	cr_assert_eq(rec.ev[1].block.time_us, 5);
	cr_assert_eq(rec.ev[1].heap_bytes, 1000);
	assert_stack_live(an, 1, 0, 0);
	assert_stack_live(an, 2, 1000, 1);
	cr_assert_null(heap_lookup(analysis_heap(an), 0x1000));
	cr_assert_not_null(heap_lookup(analysis_heap(an), 0x8000));
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, unknown_frees_and_reallocs_are_anomalies_not_events)
{
	tb_t t;
	rec_agg_t rec;
	tb_init(&t);
	tb_free(&t, 0xdead0);
	tb_realloc(&t, 0xbeef0, 0xbeef0, 64, 4);
	analysis_t *an = run(&t, &rec);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->unknown_frees, 1);
	cr_assert_eq(c->unknown_reallocs, 1);
	cr_assert_eq(c->heap_bytes, 64, "the realloc'ed block is live now");
	cr_assert_eq(rec.n, 1);
	cr_assert_eq(rec.ev[0].kind, HEAP_EV_REALLOC);
	cr_assert_not(rec.ev[0].old_known);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, allocation_on_a_live_address_frees_the_stale_block)
{
	tb_t t;
	rec_agg_t rec;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_malloc(&t, 0x1000, 40, 2);
	analysis_t *an = run(&t, &rec);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->double_allocs, 1);
	cr_assert_eq(c->heap_bytes, 40);
	cr_assert_eq(c->heap_blocks, 1);
	cr_assert_eq(rec.n, 3);
	cr_assert_eq(rec.ev[1].kind, HEAP_EV_FREE);
	cr_assert_eq(rec.ev[1].block.size, 100);
	cr_assert_eq(rec.ev[2].kind, HEAP_EV_ALLOC);
	assert_stack_live(an, 1, 0, 0);
	assert_stack_live(an, 2, 40, 1);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, temporary_means_freed_before_any_other_allocation)
{
	tb_t t;
	rec_agg_t rec;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 10, 1);
	tb_free(&t, 0x1000); /* temporary */
	tb_malloc(&t, 0x2000, 20, 2);
	tb_thread(&t, 1);
	tb_malloc(&t, 0x3000, 30, 3); /* another thread allocates */
	tb_thread(&t, 0);
	tb_free(&t, 0x2000); /* not temporary */
	tb_free(&t, 0x3000); /* temporary: newest allocation */
	analysis_t *an = run(&t, &rec);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->temporary, 2);
	cr_assert_eq(c->temporary_bytes, 40);
	cr_assert(rec.ev[1].temporary);
	cr_assert_not(rec.ev[4].temporary);
	cr_assert(rec.ev[5].temporary);
	cr_assert_eq(analysis_summary(an)->threads, 2);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, many_blocks_survive_table_growth_and_deletion)
{
	tb_t t;
	tb_init(&t);
	for (uint64_t i = 1; i <= 20000; i++)
		tb_malloc(&t, i * 16, i, 1 + i % 7);
	for (uint64_t i = 1; i <= 20000; i += 2)
		tb_free(&t, i * 16);
	analysis_t *an = run(&t, NULL);
	const heap_t *h = analysis_heap(an);
	const heap_counters_t *c = heap_counters(h);
	cr_assert_eq(c->heap_blocks, 10000);
	cr_assert_eq(c->unknown_frees, 0);
	/* Even sizes 2 + 4 + ... + 20000 = 2 * (1 + ... + 10000). */
	cr_assert_eq(c->heap_bytes, 10000ull * 10001);
	for (uint64_t i = 1; i <= 20000; i++) {
		const heap_block_t *b = heap_lookup(h, i * 16);
		if (i % 2)
			cr_assert_null(b, "block %lu should be gone", (unsigned long)i);
		else
			cr_assert(b && b->size == i, "block %lu", (unsigned long)i);
	}
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, exec_discards_the_previous_image)
{
	tb_t t;
	rec_agg_t rec;
	tb_init(&t);
	tb_process(&t, 10, "/bin/sh");
	tb_malloc(&t, 0x1000, 1000, 1);
	tb_snapshot(&t, 0, HT_SNAP_API, "old");
	tb_exec(&t, "/usr/bin/prog");
	tb_process(&t, 10, "/usr/bin/prog");
	tb_malloc(&t, 0x2000, 7, 1);
	tb_end(&t, 1, 0, 99);
	analysis_t *an = run(&t, &rec);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	const analysis_summary_t *s = analysis_summary(an);
	cr_assert_eq(c->heap_bytes, 7);
	cr_assert_eq(c->peak_bytes, 7);
	cr_assert_eq(c->allocs, 1);
	cr_assert_eq(s->images, 2);
	cr_assert_str_eq(s->exe, "/usr/bin/prog");
	cr_assert_eq(s->nsnapshots, 0);
	cr_assert_eq(rec.resets, 1);
	cr_assert_eq(rec.n, 1);
	cr_assert_not(s->truncated);
	cr_assert_eq(s->end_time_us, 99);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, summary_counts_lost_events_and_rss)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 10, "/bin/x");
	tb_rss(&t, 5000);
	tb_lost(&t, 3, HT_LOST_NO_MEMORY);
	tb_time(&t, 10);
	tb_rss(&t, 9000);
	tb_lost(&t, 4, HT_LOST_STOPPED);
	analysis_t *an = run(&t, NULL);
	const analysis_summary_t *s = analysis_summary(an);
	cr_assert_eq(s->lost_events, 7);
	cr_assert_eq(s->rss_max, 9000);
	cr_assert_eq(s->rss_max_time_us, 10);
	cr_assert(s->truncated);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, stack_ids_of_any_size_are_told_apart)
{
	/* Small ids go through a plain array, huge ones (hostile input)
	 * through the hash table only: both must keep their own totals. */
	tb_t t;
	tb_init(&t);
	const uint64_t ids[] = { 1, 2, 5000, 1ull << 40, UINT64_MAX, UINT64_MAX - 1 };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		tb_malloc(&t, 0x10000 + i * 0x100, 10 + i, ids[i]);
		tb_malloc(&t, 0x20000 + i * 0x100, 100, ids[i]);
	}
	tb_free(&t, 0x20000 + 4 * 0x100);
	analysis_t *an = run(&t, NULL);
	cr_assert_eq(stacks_count(analysis_stacks(an)), 6);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_stack_live(an, ids[i], i == 4 ? 10 + i : 110 + i, i == 4 ? 1 : 2);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, freeing_the_newest_allocation_is_temporary_once)
{
	tb_t t;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 8, 1);
	tb_free(&t, 0x1000); /* temporary */
	tb_malloc(&t, 0x2000, 16, 1);
	tb_malloc(&t, 0x3000, 32, 2);
	tb_free(&t, 0x2000); /* not: 0x3000 came after it */
	tb_realloc(&t, 0x3000, 0x4000, 64, 2);
	tb_free(&t, 0x4000); /* temporary: the realloc was the newest */
	tb_free(&t, 0x4000); /* unknown, not temporary */
	analysis_t *an = run(&t, NULL);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->temporary, 2);
	cr_assert_eq(c->temporary_bytes, 72);
	cr_assert_eq(c->unknown_frees, 1);
	analysis_free(an);
	tb_fini(&t);
}

/* 2000 blocks 16 bytes apart fill one run of the table's first size
 * (4096 slots, by 16-byte granule within a 4 MiB region); an address 64
 * KiB further has its home inside that run: the table switches to mixing
 * every address, and nothing is lost on the way. */
Test(heap, colliding_addresses_keep_exact_totals)
{
	tb_t t;
	tb_init(&t);
	const uint64_t base = 0x7f0000000000ull;
	uint64_t live = 0;
	for (uint64_t k = 0; k < 2000; k++)
		tb_malloc(&t, base + 16 * k, 1 + k % 7, 1 + k % 3);
	tb_malloc(&t, base + (64 << 10) + 16 * 5, 1000, 4);
	tb_malloc(&t, base + (128 << 10) + 16 * 9, 2000, 4);
	for (uint64_t k = 0; k < 2000; k += 2)
		tb_free(&t, base + 16 * k);
	tb_free(&t, base + (64 << 10) + 16 * 6); /* unknown */
	tb_malloc(&t, base + 16 * 1, 5, 1); /* on a live address */
	analysis_t *an = run(&t, NULL);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	for (uint64_t k = 3; k < 2000; k += 2)
		live += 1 + k % 7;
	cr_assert_eq(c->allocs, 2003);
	cr_assert_eq(c->frees, 1001);
	cr_assert_eq(c->unknown_frees, 1);
	cr_assert_eq(c->double_allocs, 1);
	cr_assert_eq(c->heap_blocks, 1002);
	cr_assert_eq(c->heap_bytes, live + 5 + 3000);
	assert_stack_live(an, 4, 3000, 2);
	analysis_free(an);
	tb_fini(&t);
}

/* Decoding on a second thread (batches, records' strings carried along)
 * gives the replay on one thread, records and errors included. */
static analysis_t *run_threads(tb_t *t, int threads, int *rc, char *err,
			       size_t errlen)
{
	analysis_t *an;
	cr_assert_eq(analysis_open_mem(&an, t->buf, t->len, "t.htr", err, errlen), 0, "%s", err);
	analysis_set_threads(an, threads);
	*rc = analysis_run(an, err, errlen);
	return an;
}

Test(heap, two_threads_replay_as_one, .timeout = 30)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 42, "/bin/prog");
	for (uint64_t k = 0; k < 5000; k++) {
		if (k % 97 == 0) {
			uint64_t ip = 0x400000 + k;
			tb_stack(&t, 1 + k / 97, 1, &ip, 0, NULL);
		}
		if (k % 1500 == 0)
			tb_snapshot(&t, k / 1500, HT_SNAP_API, "mark");
		if (k % 700 == 0)
			tb_thread_rec(&t, k / 700, 100 + k, "worker");
		tb_time(&t, 1);
		tb_malloc(&t, 0x10000 + 32 * (k % 800), 16 + k % 50, 1 + k / 97);
		if (k % 3)
			tb_free(&t, 0x10000 + 32 * (k % 800));
	}
	size_t whole = t.len;
	char e1[512], e2[512];
	int rc1, rc2;
	analysis_t *a1 = run_threads(&t, 0, &rc1, e1, sizeof(e1));
	analysis_t *a2 = run_threads(&t, 1, &rc2, e2, sizeof(e2));
	cr_assert_eq(rc1, 0, "%s", e1);
	cr_assert_eq(rc2, 0, "%s", e2);
	cr_assert_eq(memcmp(heap_counters(analysis_heap(a1)),
			    heap_counters(analysis_heap(a2)), sizeof(heap_counters_t)), 0);
	size_t n1, n2;
	const heap_stack_stat_t *s1 = heap_stack_stats(analysis_heap(a1), &n1);
	const heap_stack_stat_t *s2 = heap_stack_stats(analysis_heap(a2), &n2);
	cr_assert_eq(n1, n2);
	cr_assert_eq(memcmp(s1, s2, n1 * sizeof(*s1)), 0);
	const analysis_summary_t *m1 = analysis_summary(a1), *m2 = analysis_summary(a2);
	cr_assert_eq(m2->nsnapshots, 4);
	cr_assert_eq(m1->nsnapshots, m2->nsnapshots);
	cr_assert_str_eq(m2->snapshots[3].label, "mark");
	cr_assert_eq(m1->threads, m2->threads);
	cr_assert_eq(m1->end_time_us, m2->end_time_us);
	cr_assert_str_eq(m2->exe, "/bin/prog");
	cr_assert_eq(stacks_count(analysis_stacks(a1)), stacks_count(analysis_stacks(a2)));
	analysis_free(a1);
	analysis_free(a2);

	/* A corrupt record late in the trace: the same error. */
	t.len = whole;
	uint8_t bad = 6; /* op 6 is reserved */
	tb_bytes(&t, &bad, 1);
	a1 = run_threads(&t, 0, &rc1, e1, sizeof(e1));
	a2 = run_threads(&t, 1, &rc2, e2, sizeof(e2));
	cr_assert_eq(rc1, -EBADMSG);
	cr_assert_eq(rc2, -EBADMSG);
	cr_assert_str_eq(e1, e2);
	analysis_free(a1);
	analysis_free(a2);
	tb_fini(&t);
}

static sidx_t startup_sidx(const analysis_t *an)
{
	sidx_t s = stacks_find(analysis_stacks(an), STACKS_ID_STARTUP);
	cr_assert_neq(s, SIDX_NONE, "no <interpreter startup> stack");
	return s;
}

/* The script for the start-up tests: before the Python start-up mark,
 * stack 1 allocates 100 (freed after the mark) and 30 (kept), stack 2
 * allocates 50 and frees it (peak 150 then); after it stack 3 allocates
 * 200 (the peak, 330). */
static void startup_script(tb_t *t)
{
	tb_init(t);
	tb_malloc(t, 0x1000, 100, 1);
	tb_malloc(t, 0x2000, 50, 2);
	tb_free(t, 0x2000);
	tb_malloc(t, 0x3000, 30, 1);
	tb_snapshot(t, 0, HT_SNAP_PY_MAIN, "<main module starts>");
	tb_malloc(t, 0x4000, 200, 3);
	tb_free(t, 0x1000);
}

Test(heap, python_startup_mark_gives_everything_so_far_to_one_stack)
{
	tb_t t;
	rec_agg_t rec;
	startup_script(&t);
	analysis_t *an = run(&t, &rec);
	assert_stack_live(an, STACKS_ID_STARTUP, 30, 1);
	assert_stack_live(an, 1, 0, 0);
	assert_stack_live(an, 2, 0, 0);
	assert_stack_live(an, 3, 200, 1);
	assert_stack_peak(an, STACKS_ID_STARTUP, 130, 2);
	assert_stack_peak(an, 3, 200, 1);
	assert_stack_peak(an, 1, 0, 0);
	/* Every allocation before the mark is start-up's, freed or not. */
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &n);
	sidx_t su = startup_sidx(an), s1 = stacks_find(analysis_stacks(an), 1);
	cr_assert_eq(st[su].alloc_count, 3);
	cr_assert_eq(st[su].alloc_bytes, 180);
	cr_assert_eq(st[s1].alloc_count, 0);
	/* Aggregators saw one MOVE per live block, then the free of 0x1000
	 * as start-up's; the heap's totals did not change. */
	int moves = 0;
	for (int i = 0; i < rec.n; i++) {
		if (rec.ev[i].kind != HEAP_EV_MOVE)
			continue;
		moves++;
		cr_assert_eq(rec.ev[i].block.stack, su);
		cr_assert_eq(rec.ev[i].old.stack, s1);
		cr_assert_eq(rec.ev[i].heap_bytes, 130);
	}
	cr_assert_eq(moves, 2);
	const heap_event_t *last = &rec.ev[rec.n - 1];
	cr_assert_eq(last->kind, HEAP_EV_FREE);
	cr_assert_eq(last->block.addr, 0x1000);
	cr_assert_eq(last->block.stack, su);
	cr_assert_eq(heap_counters(analysis_heap(an))->peak_bytes, 330);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, startup_grouping_off_keeps_the_allocating_stacks)
{
	tb_t t;
	startup_script(&t);
	analysis_group_startup(false);
	analysis_t *an = run(&t, NULL);
	analysis_group_startup(true);
	cr_assert_eq(stacks_find(analysis_stacks(an), STACKS_ID_STARTUP), SIDX_NONE);
	assert_stack_live(an, 1, 30, 1);
	assert_stack_live(an, 3, 200, 1);
	analysis_free(an);
	tb_fini(&t);
}

Test(heap, a_free_site_that_grows_the_table_keeps_the_freed_stack_totals)
{
	/* Bug (a SIGSEGV in `heaptrail snapshots` on a pytest trace): the
	 * freed block's stack totals were held across the free site's
	 * charge, whose first use of a new stack index grew (moved) the
	 * table, and the temporary count went to the freed copy.  1024
	 * stacks fill the table; the free site is the 1025th. */
	tb_t t;
	tb_init(&t);
	for (uint64_t i = 0; i < 1024; i++)
		tb_malloc(&t, 0x100000 + 64 * i, 8, 1 + i);
	tb_malloc(&t, 0x1000, 100, 1);
	tb_free_site(&t, 5000);
	tb_free(&t, 0x1000); /* the newest allocation: temporary */
	analysis_t *an = run(&t, NULL);
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &n);
	sidx_t s1 = stacks_find(analysis_stacks(an), 1), site = stacks_find(analysis_stacks(an), 5000);
	cr_assert_geq(site, 1024);
	cr_assert_eq(st[s1].temp_count, 1);
	cr_assert_eq(st[s1].temp_bytes, 100);
	cr_assert_eq(st[site].freed_bytes, 100);
	cr_assert_eq(heap_counters(analysis_heap(an))->temporary, 1);
	analysis_free(an);
	tb_fini(&t);
}
