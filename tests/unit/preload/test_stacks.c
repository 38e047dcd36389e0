/* Stack interning: ids are stable per distinct (frames, Python frames,
 * flags) and entries keep what was interned. */
#include "heaptrail_format.h"
#include "mapmem.h"
#include "stacks.h"

#include <criterion/criterion.h>

static void setup(void)
{
	cr_assert_eq(stacks_init(10), 0);
}

TestSuite(stacks, .init = setup);

Test(stacks, same_stack_gets_the_same_id)
{
	uint64_t a[3] = { 0x401000, 0x402000, 0x403000 };
	int is_new;
	uint32_t id1 = stacks_intern(a, 3, NULL, NULL, 0, 0, 1, &is_new);
	cr_assert_eq(is_new, 1);
	cr_assert_eq(id1, 1);
	uint64_t b[3] = { 0x401000, 0x402000, 0x403000 };
	uint32_t id2 = stacks_intern(b, 3, NULL, NULL, 0, 0, 1, &is_new);
	cr_assert_eq(id2, id1);
	cr_assert_eq(is_new, 0);
	cr_assert_eq(stacks_count(), 1);
}

Test(stacks, different_stacks_get_different_ids)
{
	uint64_t a[3] = { 0x401000, 0x402000, 0x403000 };
	uint64_t b[3] = { 0x401000, 0x402000, 0x403001 };
	uint64_t c[2] = { 0x401000, 0x402000 };
	int is_new;
	uint32_t ia = stacks_intern(a, 3, NULL, NULL, 0, 0, 1, &is_new);
	uint32_t ib = stacks_intern(b, 3, NULL, NULL, 0, 0, 1, &is_new);
	uint32_t ic = stacks_intern(c, 2, NULL, NULL, 0, 0, 1, &is_new);
	cr_assert_neq(ia, ib);
	cr_assert_neq(ia, ic);
	cr_assert_neq(ib, ic);
	cr_assert_eq(stacks_count(), 3);
	const stack_entry_t *s = stacks_get(ib);
	cr_assert_not_null(s);
	cr_assert_eq(s->n, 3);
	cr_assert_eq(s->w[2], 0x403001);
}

Test(stacks, truncation_flag_is_part_of_the_key)
{
	uint64_t a[2] = { 0x401000, 0x402000 };
	int is_new;
	uint32_t plain = stacks_intern(a, 2, NULL, NULL, 0, 0, 1, &is_new);
	uint32_t cut = stacks_intern(a, 2, NULL, NULL, 0, HT_STACK_TRUNCATED, 1, &is_new);
	cr_assert_neq(plain, cut);
	cr_assert_eq(stacks_get(cut)->flags, HT_STACK_TRUNCATED);
	cr_assert_eq(stacks_get(plain)->flags, 0);
}

Test(stacks, python_frames_are_part_of_the_key)
{
	uint64_t a[1] = { 0x401000 };
	uint32_t code1[2] = { 1, 2 }, line1[2] = { 10, 20 };
	uint32_t line2[2] = { 10, 21 };
	int is_new;
	uint32_t native = stacks_intern(a, 1, NULL, NULL, 0, 0, 1, &is_new);
	uint32_t py1 = stacks_intern(a, 1, code1, line1, 2, 0, 1, &is_new);
	uint32_t py2 = stacks_intern(a, 1, code1, line2, 2, 0, 1, &is_new);
	uint32_t py1b = stacks_intern(a, 1, code1, line1, 2, 0, 1, &is_new);
	cr_assert_neq(native, py1);
	cr_assert_neq(py1, py2);
	cr_assert_eq(py1, py1b);
	const stack_entry_t *s = stacks_get(py2);
	cr_assert_eq(s->m, 2);
	cr_assert_eq(s->w[1 + 1], (uint64_t)2 << 32 | 21);
}

Test(stacks, full_table_maps_new_stacks_to_one_reserved_id)
{
	/* 2^10 slots fill at 768 ids. */
	int is_new;
	uint32_t last = 0;
	for (uint64_t i = 0; i < 768; i++) {
		uint64_t ip = 0x500000 + i;
		last = stacks_intern(&ip, 1, NULL, NULL, 0, 0, 1, &is_new);
	}
	cr_assert_eq(last, 768);
	uint64_t ip = 0x900000;
	uint32_t over = stacks_intern(&ip, 1, NULL, NULL, 0, 0, 1, &is_new);
	ip++;
	uint32_t over2 = stacks_intern(&ip, 1, NULL, NULL, 0, 0, 1, &is_new);
	cr_assert_eq(over, 769);
	cr_assert_eq(over2, over);
	cr_assert_eq(stacks_get(over)->flags, HT_STACK_TRUNCATED | HT_STACK_UNWIND_ERROR);
	ip = 0x500000 + 5; /* old stacks still resolve */
	cr_assert_eq(stacks_intern(&ip, 1, NULL, NULL, 0, 0, 1, &is_new), 6);
}

/* Issue 14 defect 8: the table was mapped at its full size (8 MiB for 2^20
 * slots, and 6 MiB of id index) and touched at random.  Now it starts small
 * and doubles; every stack keeps its id across the doublings. */
TestSuite(stacks_growth);

Test(stacks_growth, a_small_table_grows_and_keeps_every_stack)
{
	cr_assert_eq(stacks_init(14), 0);
	uint64_t ips[2] = { 0x401000, 0 };
	int is_new;
	for (uint32_t i = 0; i < 10000; i++) {
		ips[1] = 0x500000 + i * 16;
		cr_assert_eq(stacks_intern(ips, 2, NULL, NULL, 0, 0, 1, &is_new), i + 1);
		cr_assert_eq(is_new, 1);
	}
	for (uint32_t i = 0; i < 10000; i += 7) {
		ips[1] = 0x500000 + i * 16;
		cr_assert_eq(stacks_intern(ips, 2, NULL, NULL, 0, 0, 1, &is_new), i + 1);
		cr_assert_eq(is_new, 0);
		cr_assert_eq(stacks_get(i + 1)->w[1], ips[1]);
	}
	cr_assert_eq(stacks_count(), 10000);
}

Test(stacks_growth, few_stacks_map_little)
{
	uint64_t now0, peak0;
	mapmem_use_stats(MAPMEM_STACKS, &now0, &peak0);
	cr_assert_eq(stacks_init(20), 0);
	uint64_t ips[1];
	int is_new;
	for (uint32_t i = 0; i < 100; i++) {
		ips[0] = 0x600000 + i * 16;
		stacks_intern(ips, 1, NULL, NULL, 0, 0, 1, &is_new);
	}
	uint64_t now, peak;
	mapmem_use_stats(MAPMEM_STACKS, &now, &peak);
	/* a 36 KiB table, one 32 KiB id chunk, one 256 KiB arena chunk
	 * (before: 14 MiB) */
	cr_assert_leq(now - now0, 324u << 10, "%llu bytes", (unsigned long long)(now - now0));
}
