/* The one top-N routine: rank order, ties, limits. */
#include <criterion/criterion.h>

#include "agg/topn.h"

Test(topn, keeps_the_best_k_in_rank_order)
{
	topn_entry_t v[100];
	/* cost[0] = i * 7 % 100 is a permutation of 0..99. */
	for (int i = 0; i < 100; i++) {
		v[i] = (topn_entry_t){ .cost = { (uint64_t)(i * 7 % 100) } };
		v[i].item = (void *)(intptr_t)i;
	}
	size_t k = topn_rank(v, 100, 5);
	cr_assert_eq(k, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(v[i].cost[0], (uint64_t)(99 - i));
}

Test(topn, ties_go_to_the_next_cost_then_the_key)
{
	topn_entry_t v[4] = {
		{ .cost = { 10, 1 }, .key = "b" },
		{ .cost = { 10, 2 }, .key = "z" },
		{ .cost = { 10, 1 }, .key = "a" },
		{ .cost = { 11, 0 }, .key = "m" },
	};
	cr_assert_eq(topn_rank(v, 4, 0), 4);
	cr_assert_str_eq(v[0].key, "m");
	cr_assert_str_eq(v[1].key, "z");
	cr_assert_str_eq(v[2].key, "a");
	cr_assert_str_eq(v[3].key, "b");
}

Test(topn, limit_above_n_and_empty_input)
{
	topn_entry_t v[2] = { { .cost = { 1 } }, { .cost = { 2 } } };
	cr_assert_eq(topn_rank(v, 2, 10), 2);
	cr_assert_eq(v[0].cost[0], 2);
	cr_assert_eq(topn_rank(v, 0, 3), 0);
	cr_assert_eq(topn_abs(-5), 5);
}
