/* growth: realloc chains from synthetic heap events with exact steps
 * (in place vs moved, shrink ends a chain, same size ignored), per-site
 * totals and ranking. */
#include <criterion/criterion.h>

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
	heap_block_t b = alloc(g, 0x1000, 1, 0);
	for (int i = 0; i < 100; i++)
		b = resize(g, b, 0x1000 + (uint64_t)(i % 2) * 0x100000,
			   (uint64_t)i + 2, 0);
	growth_site_t *s;
	cr_assert_eq(growth_sites(g, 0, &s, NULL), 1);
	cr_assert_eq(s[0].nsteps, 100);
	cr_assert_eq(s[0].moved, 99);
	cr_assert_eq(s[0].nshown, GROWTH_KEEP_HEAD + GROWTH_KEEP_TAIL);
	cr_assert_eq(s[0].omitted, 100 - GROWTH_KEEP_HEAD - GROWTH_KEEP_TAIL);
	cr_assert_eq(s[0].omitted_after, GROWTH_KEEP_HEAD);
	/* step i grows i+1 -> i+2 */
	for (size_t k = 0; k < s[0].nshown; k++) {
		uint64_t i = k < GROWTH_KEEP_HEAD
				     ? k
				     : 100 - (GROWTH_KEEP_HEAD +
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
