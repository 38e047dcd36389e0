/* growth: realloc chains from synthetic heap events with exact steps
 * (in place vs moved, shrink ends a chain, same size ignored), per-site
 * totals and ranking. */
#include <criterion/criterion.h>

#include "agg/container.h"
#include "agg/growth.h"

static uint64_t now_us;

static void feed(growth_t *g, heap_event_t ev)
{
	agg_t *a = growth_agg(g);
	ev.time_us = now_us;
	cr_assert_eq(a->ops->add(a, &ev), 0);
	now_us += 10;
}

static heap_block_t alloc(growth_t *g, uint64_t addr, uint64_t size,
			  sidx_t stack)
{
	heap_block_t b = { .addr = addr, .size = size, .stack = stack,
			   .time_us = now_us };
	feed(g, (heap_event_t){ .kind = HEAP_EV_ALLOC, .block = b });
	return b;
}

static void release(growth_t *g, heap_block_t b)
{
	feed(g, (heap_event_t){ .kind = HEAP_EV_FREE, .block = b });
}

static heap_block_t resize(growth_t *g, heap_block_t old, uint64_t addr,
			   uint64_t size, sidx_t stack)
{
	heap_block_t b = { .addr = addr, .size = size, .stack = stack,
			   .time_us = now_us };
	feed(g, (heap_event_t){ .kind = HEAP_EV_REALLOC, .block = b,
				.old = old, .old_known = true });
	return b;
}

static void assert_step(const growth_step_t *s, uint64_t o, uint64_t n,
			bool moved, uint64_t t)
{
	cr_assert_eq(s->old_size, o);
	cr_assert_eq(s->new_size, n);
	cr_assert_eq(s->moved, moved);
	cr_assert_eq(s->time_us, t);
}

Test(growth, chain_follows_the_block_in_place_and_moved)
{
	now_us = 0;
	growth_t *g = growth_new();
	heap_block_t b = alloc(g, 0x1000, 16, 0); /* t=0 */
	b = resize(g, b, 0x1000, 32, 1); /* t=10 in place */
	b = resize(g, b, 0x2000, 64, 1); /* t=20 moved */
	b = resize(g, b, 0x2000, 128, 1); /* t=30 in place */
	release(g, b);
	growth_site_t *s;
	size_t total;
	cr_assert_eq(growth_sites(g, 0, &s, &total), 1);
	cr_assert_eq(total, 1);
	cr_assert_eq(s[0].stack, 1);
	cr_assert_eq(s[0].alloc_stack, 0);
	cr_assert_eq(s[0].chains, 1);
	cr_assert_eq(s[0].steps, 3);
	cr_assert_eq(s[0].moved, 1);
	cr_assert_eq(s[0].copied_bytes, 32);
	cr_assert_eq(s[0].initial_size, 16);
	cr_assert_eq(s[0].final_size, 128);
	cr_assert_eq(s[0].nsteps, 3);
	cr_assert_eq(s[0].end, GROWTH_END_FREED);
	cr_assert_eq(s[0].nshown, 3);
	cr_assert_eq(s[0].omitted, 0);
	assert_step(&s[0].shown[0], 16, 32, false, 10);
	assert_step(&s[0].shown[1], 32, 64, true, 20);
	assert_step(&s[0].shown[2], 64, 128, false, 30);
	free(s);
	growth_free(g);
}

Test(growth, a_shrink_ends_the_chain_and_the_block_may_start_another)
{
	now_us = 0;
	growth_t *g = growth_new();
	heap_block_t b = alloc(g, 0x1000, 100, 0);
	b = resize(g, b, 0x1000, 200, 1);
	b = resize(g, b, 0x1000, 300, 1);
	b = resize(g, b, 0x1000, 150, 1); /* shrink: chain 1 ends */
	b = resize(g, b, 0x3000, 400, 1);
	b = resize(g, b, 0x3000, 500, 1);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].chains, 2);
	cr_assert_eq(s[0].steps, 4);
	cr_assert_eq(s[0].moved, 1);
	cr_assert_eq(s[0].copied_bytes, 150);
	/* Both have 2 steps; the larger final size wins. */
	cr_assert_eq(s[0].nsteps, 2);
	cr_assert_eq(s[0].initial_size, 150);
	cr_assert_eq(s[0].final_size, 500);
	cr_assert_eq(s[0].end, GROWTH_END_LIVE);
	cr_assert_eq(s[0].nshown, 2);
	cr_assert_eq(s[0].shown[0].moved, true);
	uint64_t steps, chains;
	growth_totals(g, &steps, &chains);
	cr_assert_eq(steps, 4);
	cr_assert_eq(chains, 2);
	free(s);
	growth_free(g);
}

Test(growth, a_same_size_realloc_is_not_a_step_but_is_followed)
{
	now_us = 0;
	growth_t *g = growth_new();
	heap_block_t b = alloc(g, 0x1000, 10, 0);
	b = resize(g, b, 0x1000, 20, 0);
	b = resize(g, b, 0x5000, 20, 0); /* moved, same size */
	b = resize(g, b, 0x5000, 40, 0);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].chains, 1);
	cr_assert_eq(s[0].nsteps, 2);
	cr_assert_eq(s[0].moved, 0);
	cr_assert_eq(s[0].final_size, 40);
	free(s);
	growth_free(g);
}

Test(growth, one_growing_realloc_is_not_a_chain_worth_reporting)
{
	growth_t *g = growth_new();
	heap_block_t b = alloc(g, 0x1000, 10, 0);
	resize(g, b, 0x2000, 20, 0);
	growth_site_t *s;
	size_t total = 99;
	cr_assert_eq(growth_sites(g, 0, &s, &total), 0);
	cr_assert_eq(total, 0);
	uint64_t steps, chains;
	growth_totals(g, &steps, &chains);
	cr_assert_eq(steps, 1);
	cr_assert_eq(chains, 1);
	free(s);
	growth_free(g);
}

Test(growth, a_long_chain_keeps_its_first_and_last_steps)
{
	now_us = 0;
	growth_t *g = growth_new();
	/* Changed for issue 12 (every step is kept up to the bound, which
	 * grew from 16 + 16 to 32768 + 32768): STEPS was 100. */
	enum { STEPS = GROWTH_KEEP_HEAD + GROWTH_KEEP_TAIL + 68 };
	heap_block_t b = alloc(g, 0x1000, 1, 0);
	for (int i = 0; i < STEPS; i++)
		b = resize(g, b, 0x1000 + (uint64_t)(i % 2) * 0x100000,
			   (uint64_t)i + 2, 0);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].nsteps, STEPS);
	cr_assert_eq(s[0].moved, STEPS - 1);
	cr_assert_eq(s[0].nshown, GROWTH_KEEP_HEAD + GROWTH_KEEP_TAIL);
	cr_assert_eq(s[0].omitted, STEPS - GROWTH_KEEP_HEAD - GROWTH_KEEP_TAIL);
	cr_assert_eq(s[0].omitted_after, GROWTH_KEEP_HEAD);
	/* step i grows i+1 -> i+2 */
	for (size_t k = 0; k < s[0].nshown; k++) {
		uint64_t i = k < GROWTH_KEEP_HEAD
				     ? k
				     : STEPS - (GROWTH_KEEP_HEAD +
					      GROWTH_KEEP_TAIL) + k;
		cr_assert_eq(s[0].shown[k].old_size, i + 1, "k=%zu", k);
		cr_assert_eq(s[0].shown[k].new_size, i + 2, "k=%zu", k);
	}
	free(s);
	growth_free(g);
}

Test(growth, sites_rank_by_their_longest_chain)
{
	growth_t *g = growth_new();
	heap_block_t a = alloc(g, 0x1000, 1, 0);
	for (int i = 0; i < 3; i++)
		a = resize(g, a, 0x1000, (uint64_t)i + 2, 5);
	heap_block_t b = alloc(g, 0x9000, 1, 0);
	for (int i = 0; i < 5; i++)
		b = resize(g, b, 0x9000, (uint64_t)i + 2, 7);
	/* Many short chains at site 9: more steps in total, shorter. */
	for (int k = 0; k < 10; k++) {
		heap_block_t c = alloc(g, 0x20000 + 0x100 * (uint64_t)k, 1, 0);
		c = resize(g, c, c.addr, 2, 9);
		c = resize(g, c, c.addr, 3, 9);
		release(g, c);
	}
	growth_site_t *s;
	size_t total;
	cr_assert_eq(growth_sites(g, 2, &s, &total), 2);
	cr_assert_eq(total, 3);
	cr_assert_eq(s[0].stack, 7);
	cr_assert_eq(s[0].nsteps, 5);
	cr_assert_eq(s[1].stack, 5);
	free(s);
	growth_free(g);
}

Test(growth, a_freed_block_address_reused_starts_a_new_chain)
{
	growth_t *g = growth_new();
	/* Changed for issue 12: the default ranking is now by bytes; this
	 * test's order is by steps. */
	growth_set_sort(g, GROWTH_SORT_STEPS);
	heap_block_t a = alloc(g, 0x1000, 8, 0);
	a = resize(g, a, 0x1000, 16, 1);
	a = resize(g, a, 0x2000, 32, 1); /* 0x1000 is free again */
	heap_block_t b = alloc(g, 0x1000, 8, 0);
	b = resize(g, b, 0x1000, 16, 2);
	b = resize(g, b, 0x1000, 24, 2);
	b = resize(g, b, 0x1000, 48, 2);
	release(g, a);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 2);
	cr_assert_eq(s[0].stack, 2);
	cr_assert_eq(s[0].nsteps, 3);
	cr_assert_eq(s[0].end, GROWTH_END_LIVE);
	cr_assert_eq(s[1].stack, 1);
	cr_assert_eq(s[1].nsteps, 2);
	cr_assert_eq(s[1].end, GROWTH_END_FREED);
	free(s);
	growth_free(g);
}

Test(growth, many_live_chains_are_tracked_by_address)
{
	growth_t *g = growth_new();
	enum { N = 3000 };
	static heap_block_t b[N];
	for (int i = 0; i < N; i++) {
		b[i] = alloc(g, 0x100000 + 0x40 * (uint64_t)i, 1, 0);
		b[i] = resize(g, b[i], b[i].addr, 2, 1);
	}
	/* Free every other one, then grow all the rest twice more, moving
	 * them to fresh addresses. */
	for (int i = 0; i < N; i += 2)
		release(g, b[i]);
	for (int i = 1; i < N; i += 2) {
		b[i] = resize(g, b[i], 0x9000000 + 0x40 * (uint64_t)i, 3, 1);
		b[i] = resize(g, b[i], b[i].addr, 4, 1);
	}
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].chains, N);
	cr_assert_eq(s[0].steps, N + 2 * (N / 2));
	cr_assert_eq(s[0].moved, N / 2);
	cr_assert_eq(s[0].nsteps, 3);
	cr_assert_eq(s[0].end, GROWTH_END_LIVE);
	free(s);
	growth_free(g);
}

Test(growth, a_realloc_of_an_unknown_block_starts_nothing)
{
	growth_t *g = growth_new();
	heap_block_t nb = { .addr = 0x2000, .size = 64, .stack = 1 };
	feed(g, (heap_event_t){ .kind = HEAP_EV_REALLOC, .block = nb,
				.old_known = false });
	uint64_t steps, chains;
	growth_totals(g, &steps, &chains);
	cr_assert_eq(steps, 0);
	cr_assert_eq(chains, 0);
	growth_free(g);
}

/* --- copy steps (container.h): alloc larger, copy, free old ------------ */

static heap_block_t alloc_on(growth_t *g, uint64_t addr, uint64_t size,
			     sidx_t stack, uint32_t thread)
{
	heap_block_t b = { .addr = addr, .size = size, .stack = stack,
			   .time_us = now_us };
	feed(g, (heap_event_t){ .kind = HEAP_EV_ALLOC, .block = b,
				.thread = thread });
	return b;
}

static void release_on(growth_t *g, heap_block_t b, uint32_t thread)
{
	feed(g, (heap_event_t){ .kind = HEAP_EV_FREE, .block = b,
				.thread = thread });
}

/* The site's reported chain steps (old, new) into o[], their count. */
static long copy_chain(growth_t *g, sidx_t stack, uint64_t (*o)[2],
		       size_t max)
{
	growth_site_t *s;
	long n = growth_sites(g, 0, &s, NULL), found = -1;
	cr_assert_geq(n, 0);
	for (long i = 0; i < n; i++) {
		if (s[i].stack != stack)
			continue;
		found = 0;
		for (size_t k = 0; k < s[i].nshown && k < max; k++) {
			o[k][0] = s[i].shown[k].old_size;
			o[k][1] = s[i].shown[k].new_size;
			cr_assert(s[i].shown[k].copy);
			cr_assert(s[i].shown[k].moved);
			found++;
		}
	}
	free(s);
	return found;
}

Test(growth, a_vector_grows_by_new_copy_delete)
{
	now_us = 0;
	growth_t *g = growth_new();
	heap_block_t old = alloc_on(g, 0x1000, 4, 3, 0);
	for (uint64_t sz = 8, k = 1; sz <= 64; sz *= 2, k++) {
		heap_block_t nb = alloc_on(g, 0x1000 + 0x100 * k, sz, 3, 0);
		/* the copy may allocate elsewhere (element copies) */
		heap_block_t tmp = alloc_on(g, 0x9000 + k, 10, 4, 0);
		release_on(g, tmp, 0);
		release_on(g, old, 0);
		old = nb;
	}
	uint64_t o[8][2];
	cr_assert_eq(copy_chain(g, 3, o, 8), 4);
	uint64_t want[4][2] = { { 4, 8 }, { 8, 16 }, { 16, 32 }, { 32, 64 } };
	cr_assert_arr_eq(o, want, sizeof want);
	cr_assert_eq(copy_chain(g, 4, o, 8), -1, "the scratch is no chain");
	cr_assert_eq(growth_copy_steps(g), 4);
	growth_free(g);
}

Test(growth, another_thread_at_the_same_site_does_not_break_pairs)
{
	now_us = 0;
	growth_t *g = growth_new();
	heap_block_t a = alloc_on(g, 0x1000, 100, 5, 1);
	heap_block_t b = alloc_on(g, 0x2000, 100, 5, 2);
	for (uint64_t k = 1; k <= 3; k++) {
		heap_block_t na = alloc_on(g, 0x1000 + 0x100 * k, 100 << k, 5, 1);
		heap_block_t nb = alloc_on(g, 0x2000 + 0x100 * k, 100 << k, 5, 2);
		release_on(g, a, 1);
		release_on(g, b, 2);
		a = na;
		b = nb;
	}
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].chains, 2);
	cr_assert_eq(s[0].steps, 6);
	cr_assert_eq(s[0].nsteps, 3);
	cr_assert_eq(s[0].final_size, 800);
	free(s);
	growth_free(g);
}

Test(growth, a_copy_step_needs_a_growth_policy_ratio)
{
	/* new/old in [1.25, 4]; anything else is two unrelated blocks. */
	static const struct { uint64_t old, new; bool step; } cases[] = {
		{ 100, 125, true }, { 100, 124, false }, { 100, 400, true },
		{ 100, 401, false }, { 100, 100, false }, { 100, 50, false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		growth_t *g = growth_new();
		heap_block_t o = alloc_on(g, 0x1000, cases[i].old, 1, 0);
		alloc_on(g, 0x2000, cases[i].new, 1, 0);
		release_on(g, o, 0);
		cr_assert_eq(growth_copy_steps(g), cases[i].step, "case %zu", i);
		growth_free(g);
	}
}

Test(growth, what_is_not_a_copy_step)
{
	growth_t *g = growth_new();
	/* Freed by another thread than the one that allocated both. */
	heap_block_t o = alloc_on(g, 0x1000, 100, 1, 0);
	alloc_on(g, 0x2000, 200, 1, 0);
	release_on(g, o, 1);
	/* Another block from the site came in between: o is not the one
	 * just before the larger one. */
	o = alloc_on(g, 0x3000, 100, 2, 0);
	alloc_on(g, 0x4000, 150, 2, 0);
	alloc_on(g, 0x5000, 200, 2, 0);
	release_on(g, o, 0);
	/* A different site allocated the larger block. */
	o = alloc_on(g, 0x6000, 100, 3, 0);
	alloc_on(g, 0x7000, 200, 4, 0);
	release_on(g, o, 0);
	/* The newer block went first: nothing follows the older one. */
	o = alloc_on(g, 0x8000, 100, 6, 0);
	heap_block_t n = alloc_on(g, 0x9000, 200, 6, 0);
	release_on(g, n, 0);
	release_on(g, o, 0);
	cr_assert_eq(growth_copy_steps(g), 0);
	growth_free(g);
}

Test(growth, two_unrelated_blocks_from_one_site_are_not_reported)
{
	growth_t *g = growth_new();
	heap_block_t p = alloc_on(g, 0x1000, 100, 1, 0);
	heap_block_t q = alloc_on(g, 0x2000, 200, 1, 0);
	release_on(g, p, 0);
	release_on(g, q, 0);
	/* They fit a pair, once: a one-step chain, below GROWTH_MIN_STEPS. */
	cr_assert_eq(growth_copy_steps(g), 1);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 0);
	free(s);
	growth_free(g);
}

Test(growth, a_copy_chain_continues_with_reallocs)
{
	now_us = 0;
	growth_t *g = growth_new();
	heap_block_t o = alloc_on(g, 0x1000, 16, 1, 0);
	heap_block_t n = alloc_on(g, 0x2000, 32, 1, 0);
	release_on(g, o, 0);
	n = resize(g, n, 0x2000, 64, 2);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].stack, 1);
	cr_assert_eq(s[0].nsteps, 2);
	cr_assert_eq(s[0].copies, 1);
	cr_assert_eq(s[0].last_stack, 2);
	cr_assert(s[0].shown[0].copy);
	cr_assert(!s[0].shown[1].copy);
	cr_assert_eq(s[0].final_size, 64);
	free(s);
	growth_free(g);
}

Test(growth, sort_bytes_weighs_final_size_by_copies)
{
	growth_t *g = growth_new();
	/* site 1: 3 in-place steps to 1000 B: weight 1000 x 1. */
	heap_block_t a = alloc_on(g, 0x1000, 100, 0, 0);
	a = resize(g, a, 0x1000, 200, 1);
	a = resize(g, a, 0x1000, 500, 1);
	a = resize(g, a, 0x1000, 1000, 1);
	/* site 2: 2 moved steps to 400 B: weight 400 x 3. */
	heap_block_t b = alloc_on(g, 0x5000, 100, 0, 0);
	b = resize(g, b, 0x6000, 200, 2);
	b = resize(g, b, 0x7000, 400, 2);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 2);
	cr_assert_eq(s[0].stack, 2);
	cr_assert_eq(s[0].weight, 1200);
	cr_assert_eq(s[1].stack, 1);
	cr_assert_eq(s[1].weight, 1000);
	free(s);
	growth_set_sort(g, GROWTH_SORT_STEPS);
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 2);
	cr_assert_eq(s[0].stack, 1);
	free(s);
	growth_free(g);
}

Test(growth, more_threads_at_one_site_than_it_remembers_miss_steps_not_invent_them)
{
	/* CONTAINER_WAYS + 1 threads interleaved at one stack, which
	 * remembers CONTAINER_WAYS of them, replaced in turn: each allocation evicts
	 * the thread that allocated a round ago, so no pair is seen, and no
	 * block is paired with another thread's.  CONTAINER_WAYS threads are
	 * all followed. */
	for (uint32_t nt = CONTAINER_WAYS; nt <= CONTAINER_WAYS + 1; nt++) {
		growth_t *g = growth_new();
		heap_block_t cur[CONTAINER_WAYS + 1];
		for (uint32_t t = 0; t < nt; t++)
			cur[t] = alloc_on(g, 0x10000 * (t + 1), 100, 1, t);
		for (uint64_t k = 1; k <= 4; k++)
			for (uint32_t t = 0; t < nt; t++) {
				heap_block_t n = alloc_on(
					g, 0x10000 * (t + 1) + 0x100 * k,
					100 << k, 1, t);
				release_on(g, cur[t], t);
				cur[t] = n;
			}
		cr_assert_eq(growth_copy_steps(g),
			     nt == CONTAINER_WAYS ? 4 * nt : 0, "%u threads",
			     nt);
		growth_free(g);
	}
}
