/* pymemo: ids of (native chain, Python frames) come back only for exactly
 * the frames and the chain they were noted with. */
#include "pymemo.h"
#include "stacks.h"

#include <criterion/criterion.h>

static void setup(void)
{
	cr_assert_eq(stacks_init(10), 0);
}

static const uint64_t ips[3] = { 0x401000, 0x402000, 0x403000 };

static uint32_t intern(const uint32_t *code, const uint32_t *line, unsigned m)
{
	int is_new;
	uint32_t id = stacks_intern(ips, 3, code, line, m, 0, 1, &is_new);
	cr_assert_neq(id, 0);
	return id;
}

Test(pymemo, noted_frames_come_back_with_their_id, .init = setup)
{
	uint32_t code[3] = { 5, 6, 7 }, line[3] = { 10, 20, 30 };
	uint32_t id = intern(code, line, 3);
	cr_assert_eq(pymemo_find(9, code, line, 3), 0); /* nothing noted yet */
	pymemo_put(9, code, line, 3, id);
	cr_assert_eq(pymemo_find(9, code, line, 3), id);
	/* Another chain, another line, fewer frames: not this id. */
	cr_assert_eq(pymemo_find(10, code, line, 3), 0);
	uint32_t other[3] = { 10, 21, 30 };
	cr_assert_eq(pymemo_find(9, code, other, 3), 0);
	cr_assert_eq(pymemo_find(9, code, line, 2), 0);
	pymemo_thread_exit();
	cr_assert_eq(pymemo_find(9, code, line, 3), 0);
}

Test(pymemo, several_python_sites_of_one_chain_are_all_kept, .init = setup)
{
	/* One native chain (serial 3) running 200 Python lines: each keeps
	 * its own id (a slot is shared only by a hash collision, which can
	 * only make a lookup miss, never answer another stack's id). */
	uint32_t ids[200];
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t code[2] = { 1, 2 }, line[2] = { 100 + i, 7 };
		ids[i] = intern(code, line, 2);
		pymemo_put(3, code, line, 2, ids[i]);
	}
	unsigned found = 0;
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t code[2] = { 1, 2 }, line[2] = { 100 + i, 7 };
		uint32_t got = pymemo_find(3, code, line, 2);
		cr_assert(got == 0 || got == ids[i], "line %u: id %u, noted %u", 100 + i, got, ids[i]);
		found += got == ids[i];
	}
	/* 200 keys in 4096 slots: a few may collide, most must be there. */
	cr_assert_geq(found, 190);
	pymemo_thread_exit();
}

Test(pymemo, a_slot_taken_by_another_stack_with_a_forged_hash_is_refused, .init = setup)
{
	/* The check is against the interned frames, not the hash alone: an id
	 * noted for other frames (as if two keys shared slot and hash) is
	 * not returned. */
	uint32_t code[1] = { 4 }, line[1] = { 40 }, line2[1] = { 41 };
	uint32_t id2 = intern(code, line2, 1);
	pymemo_put(11, code, line, 1, id2); /* wrong id on purpose */
	cr_assert_eq(pymemo_find(11, code, line, 1), 0);
	pymemo_thread_exit();
}
