/* Encoder: exact bytes of the documented examples and a decode round trip
 * of every record type. */
#include "decode_helper.h"
#include "encoder.h"

#include <criterion/criterion.h>

static enc_t e;

static void setup(void)
{
	cr_assert_eq(enc_init(&e, 4096), 0);
}

static void teardown(void)
{
	enc_free(&e);
}

TestSuite(encoder, .init = setup, .fini = teardown);

Test(encoder, malloc_then_free_produce_the_documented_bytes)
{
	/* format header: malloc(100) at stack 3 returning prev_addr+0x70, not
	 * in the lifo, is c1 03 64 03; free(0x5555_5555_a2c0), an address the
	 * writer does not know, right after malloc returned 0x5555_5555_a2a0
	 * is 80 01. */
	e.prev_addr = 0x55555555a2a0 - 0x70;
	enc_alloc(&e, HT_KIND_MALLOC, 0x55555555a2a0, 100, 3, 0);
	enc_free_op(&e, 0x55555555a2c0);
	const uint8_t want[] = { 0xc1, 0x03, 0x64, 0x03, 0x80, 0x01 };
	cr_assert_eq(e.len, sizeof(want));
	cr_assert_arr_eq(e.buf, want, sizeof(want));
	cr_assert_eq(e.prev_addr, 0x55555555a2c0);
}

Test(encoder, first_malloc_codes_the_distance_from_zero)
{
	/* addr 0x20 from prev 0: 2 granules -> zz 4 -> code 8 -> payload 16
	 * -> head 0x81 0x01; size 1, stack 1. */
	enc_alloc(&e, HT_KIND_MALLOC, 0x20, 1, 1, 0);
	const uint8_t want[] = { 0x81, 0x01, 0x01, 0x01 };
	cr_assert_eq(e.len, sizeof(want));
	cr_assert_arr_eq(e.buf, want, sizeof(want));
}

Test(encoder, unaligned_addresses_use_byte_deltas)
{
	/* delta +3 bytes: zz 6, code 6<<1|1 = 13, payload 26, head 26<<3 =
	 * 0xd0 0x01 */
	e.prev_addr = 0x1000;
	enc_free_op(&e, 0x1003);
	const uint8_t want[] = { 0xd0, 0x01 };
	cr_assert_eq(e.len, sizeof(want));
	cr_assert_arr_eq(e.buf, want, sizeof(want));
}

Test(encoder, a_free_names_its_block_by_age_and_the_next_malloc_by_lifo_position)
{
	/* Three mallocs (ordinals 0, 1, 2), then free the first one: age 3
	 * -> payload 7 -> head 0x38.  A malloc of the same class returning
	 * that address is lifo entry 0 -> payload 1 -> head 0x09. */
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 40, 1, 0);
	enc_alloc(&e, HT_KIND_MALLOC, 0x2000, 40, 1, 0);
	enc_alloc(&e, HT_KIND_MALLOC, 0x3000, 40, 1, 0);
	size_t at = e.len;
	enc_free_op(&e, 0x1000);
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 33, 2, 0); /* class 1, as 40 */
	const uint8_t want[] = { 0x38, 0x09, 33, 0x02 };
	cr_assert_eq(e.len - at, sizeof(want));
	cr_assert_arr_eq(e.buf + at, want, sizeof(want));
	cr_assert_eq(e.prev_addr, 0x1000);
	/* Freed again: now ordinal 3, age 1. */
	at = e.len;
	enc_free_op(&e, 0x1000);
	cr_assert_eq(e.len - at, 1);
	cr_assert_eq(e.buf[at], (1 << 1 | 1) << 3);
}

Test(encoder, the_lifo_is_per_thread_and_per_size_class)
{
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 40, 1, 0);
	enc_free_op(&e, 0x1000); /* thread 0, class 1 */
	size_t at = e.len;
	/* Another class: an address code (flag 0), delta 0 -> payload 0. */
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 100, 1, 0);
	cr_assert_eq(e.buf[at], 0x01);
	enc_free_op(&e, 0x1000); /* thread 0, class 5 */
	enc_thread(&e, 1);
	at = e.len;
	/* Another thread: not its free. */
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 100, 1, 0);
	cr_assert_eq(e.buf[at], 0x01);
}

Test(encoder, a_large_block_is_freed_by_age_but_never_predicted)
{
	enc_alloc(&e, HT_KIND_MALLOC, 0x100000, 5000, 1, 0);
	size_t at = e.len;
	enc_free_op(&e, 0x100000);
	cr_assert_eq(e.buf[at], (1 << 1 | 1) << 3);
	at = e.len;
	enc_alloc(&e, HT_KIND_MALLOC, 0x100000, 5000, 1, 0);
	cr_assert_eq(e.buf[at], 0x01); /* addr code, delta 0 */
}

Test(encoder, realloc_codes_old_then_new_relative_to_old)
{
	e.prev_addr = 0x1000;
	enc_realloc(&e, 0x1000, 0x2000, 300, 7);
	/* Version 2 leaves REALLOC as it was: old: delta 0 -> code 0 -> head
	 * 0x02; new: +0x1000 = 256 granules -> zz 512 -> code 1024 -> 80 08;
	 * size 300 -> ac 02; stack 07 */
	const uint8_t want[] = { 0x02, 0x80, 0x08, 0xac, 0x02, 0x07 };
	cr_assert_eq(e.len, sizeof(want));
	cr_assert_arr_eq(e.buf, want, sizeof(want));
	cr_assert_eq(e.prev_addr, 0x2000);
}

Test(encoder, thread_switch_is_written_only_on_change)
{
	enc_thread(&e, 0);
	cr_assert_eq(e.len, 0);
	enc_thread(&e, 2);
	enc_thread(&e, 2);
	cr_assert_eq(e.len, 1);
	cr_assert_eq(e.buf[0], 2 << 3 | HT_OP_THREAD);
}

Test(encoder, a_free_site_is_written_only_when_it_changes)
{
	/* FREESITE 9: head 13<<3|7 = 0x6f, length 1, zz(+9) = 18; then site
	 * 300: zz(+291) = 582 -> 6f 02 c6 04; back to unknown: zz(-300) =
	 * 599 -> 6f 02 d7 04. */
	enc_free_site(&e, 9);
	enc_free_site(&e, 9);
	enc_free_site(&e, 300);
	enc_free_site(&e, 0);
	enc_free_site(&e, 0);
	const uint8_t want[] = { 0x6f, 0x01, 0x12, 0x6f, 0x02, 0xc6, 0x04, 0x6f, 0x02, 0xd7, 0x04 };
	cr_assert_eq(e.len, sizeof(want));
	cr_assert_arr_eq(e.buf, want, sizeof(want));
	enc_free_site(&e, 5);
	enc_reset_state(&e); /* a PROCESS record: the reader forgets the site */
	enc_free_site(&e, 5);
	cr_assert_eq(e.len, sizeof(want) + 6);
}

Test(encoder, end_record_has_the_fixed_layout)
{
	enc_end(&e, 5, 2, 1000);
	cr_assert_eq(e.len, HT_END_RECORD_LEN);
	cr_assert_eq(e.buf[0], 0x5f);
	cr_assert_eq(e.buf[1], HT_END_BODY_LEN);
	cr_assert_eq(ht_get_u64le(e.buf + 2), 5);
	cr_assert_eq(ht_get_u64le(e.buf + 10), 2);
	cr_assert_eq(ht_get_u64le(e.buf + 18), 1000);
	cr_assert_arr_eq(e.buf + 26, HT_END_MAGIC, 8);
}

Test(encoder, long_record_bodies_get_a_multibyte_length)
{
	char big[300];
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	enc_warning(&e, big);
	/* head 0x57, length 2 + 299 = 301 -> ad 02 */
	cr_assert_eq(e.buf[0], HT_REC_WARNING << 3 | HT_OP_RECORD);
	cr_assert_eq(e.buf[1], 0xad);
	cr_assert_eq(e.buf[2], 0x02);
	cr_assert_eq(e.len, 3 + 301);
}

Test(encoder, every_record_type_round_trips)
{
	enc_header(&e);
	size_t m = enc_rec_begin(&e, HT_REC_PROCESS);
	enc_put_varint(&e, 42);
	enc_put_varint(&e, 1);
	enc_put_varint(&e, 123456789);
	enc_put_varint(&e, 4096);
	enc_put_str(&e, "0.1.0", 5);
	enc_put_str(&e, "/bin/prog", 9);
	enc_put_varint(&e, 2);
	enc_put_str(&e, "prog", 4);
	enc_put_str(&e, "-x", 2);
	enc_put_varint(&e, HT_PROC_PYTHONMALLOC);
	enc_rec_end(&e, m);
	enc_reset_state(&e);
	m = enc_rec_begin(&e, HT_REC_MODULES);
	enc_put_varint(&e, 1);
	enc_put_varint(&e, 0);
	enc_rec_end(&e, m);
	uint64_t ips[3] = { 0x401000, 0x400f00, 0x7f0000001000 };
	uint64_t py[1] = { (uint64_t)9 << 32 | 17 };
	enc_stack(&e, 1, HT_STACK_TRUNCATED, ips, 3, py, 1);
	m = enc_rec_begin(&e, HT_REC_PYCODE);
	enc_put_varint(&e, 9);
	enc_put_str(&e, "a.py", 4);
	enc_put_str(&e, "f", 1);
	enc_put_varint(&e, 3);
	enc_rec_end(&e, m);
	enc_thread_rec(&e, 0, 4242, "main");
	enc_time(&e, 1500);
	enc_alloc(&e, HT_KIND_MALLOC, 0x10000, 64, 1, 0);
	enc_alloc(&e, HT_KIND_POSIX_MEMALIGN, 0x20000, 128, 1, 64);
	enc_realloc(&e, 0x10000, 0x30008, 99, 1);
	enc_thread(&e, 1);
	enc_free_op(&e, 0x20000);
	enc_snapshot(&e, 0, HT_SNAP_API, "mid", 3);
	enc_rss(&e, 1 << 20);
	enc_lost(&e, 3, HT_LOST_NO_MEMORY);
	enc_exec(&e, "/bin/true");
	enc_warning(&e, "careful");
	enc_end(&e, 4, 3, 2000);

	drec_t r[32];
	int n = decode_all(e.buf, e.len, r, 32);
	cr_assert_eq(n, 17);
	int i = 0;
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_PROCESS);
	cr_assert_eq(r[i].a, 42);
	cr_assert_str_eq(r[i].s, "/bin/prog");
	cr_assert_eq(r[i].c, 2);
	cr_assert_eq(r[i++].b, HT_PROC_PYTHONMALLOC);
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_MODULES);
	cr_assert_eq(r[i++].a, 1);
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_STACK);
	cr_assert_eq(r[i].a, 1);
	cr_assert_eq(r[i].b, HT_STACK_TRUNCATED);
	cr_assert_eq(r[i].c, 3);
	cr_assert_eq(r[i].frames[1], 0x400f00);
	cr_assert_eq(r[i].frames[2], 0x7f0000001000);
	cr_assert_eq(r[i++].e, 1);
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_PYCODE);
	cr_assert_str_eq(r[i++].s, "a.py");
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_THREAD);
	cr_assert_eq(r[i].b, 4242);
	cr_assert_str_eq(r[i++].s, "main");
	cr_assert_eq(r[i].kind, HT_OP_TIME);
	cr_assert_eq(r[i++].a, 1500);
	cr_assert_eq(r[i].kind, HT_OP_MALLOC);
	cr_assert_eq(r[i].a, 0x10000);
	cr_assert_eq(r[i++].b, 64);
	cr_assert_eq(r[i].kind, HT_OP_ALLOC);
	cr_assert_eq(r[i].a, 0x20000);
	cr_assert_eq(r[i].d, HT_KIND_POSIX_MEMALIGN);
	cr_assert_eq(r[i++].e, 64);
	cr_assert_eq(r[i].kind, HT_OP_REALLOC);
	cr_assert_eq(r[i].a, 0x10000);
	cr_assert_eq(r[i].b, 0x30008);
	cr_assert_eq(r[i++].c, 99);
	cr_assert_eq(r[i].kind, HT_OP_THREAD);
	cr_assert_eq(r[i++].a, 1);
	cr_assert_eq(r[i].kind, HT_OP_FREE);
	cr_assert_eq(r[i++].a, 0x20000);
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_SNAPSHOT);
	cr_assert_str_eq(r[i++].s, "mid");
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_RSS);
	cr_assert_eq(r[i++].a, 1 << 20);
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_LOST);
	cr_assert_eq(r[i].a, 3);
	cr_assert_eq(r[i++].b, HT_LOST_NO_MEMORY);
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_EXEC);
	cr_assert_str_eq(r[i++].s, "/bin/true");
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_WARNING);
	cr_assert_str_eq(r[i++].s, "careful");
	cr_assert_eq(r[i].kind, DREC_REC + HT_REC_END);
	cr_assert_eq(r[i].a, 4);
	cr_assert_eq(r[i].b, 3);
	cr_assert_eq(r[i].c, 2000);
}

Test(encoder, buffer_grows_past_its_initial_size)
{
	for (int i = 0; i < 10000; i++)
		enc_alloc(&e, HT_KIND_CALLOC, 0x100000 + (uint64_t)i * 4096, 100000, 70000, 0);
	cr_assert_eq(e.failed, 0);
	drec_t *r = calloc(10001, sizeof(*r));
	uint8_t *img = malloc(e.len + HT_HEADER_LEN);
	memcpy(img, HT_MAGIC, HT_MAGIC_LEN);
	ht_put_u32le(img + 8, HT_FORMAT_VERSION);
	ht_put_u32le(img + 12, 0);
	memcpy(img + HT_HEADER_LEN, e.buf, e.len);
	int n = decode_all(img, e.len + HT_HEADER_LEN, r, 10001);
	cr_assert_eq(n, 10000);
	cr_assert_eq(r[9999].a, 0x100000 + 9999ull * 4096);
	cr_assert_eq(r[9999].c, 70000);
	free(r);
	free(img);
}

Test(encoder, light_mode_skips_the_table_and_every_address_still_decodes)
{
	/* Ordinal 0 noted normally, freed while the writer is behind (as an
	 * address: its entry stays), its address reused while behind (not
	 * noted), then freed normally: the stale entry names ordinal 0, a
	 * block at the same address, so the reader still gets 0x1000. */
	enc_header(&e);
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 40, 1, 0);
	e.light = 1;
	size_t at = e.len;
	enc_free_op(&e, 0x1000);
	cr_assert_eq(e.buf[at] & 8, 0, "light: an address, not an age");
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 40, 1, 0);
	enc_alloc(&e, HT_KIND_MALLOC, 0x2000, 40, 1, 0);
	e.light = 0;
	at = e.len;
	enc_free_op(&e, 0x1000);
	cr_assert_eq(e.buf[at], (3 << 1 | 1) << 3, "age 3: ordinal 0 of 3");
	at = e.len;
	enc_free_op(&e, 0x2000); /* allocated while behind: an address */
	cr_assert_eq(e.buf[at] & 8, 0);
	/* Back on the lifo: the free by age pushed 0x1000 (class 1). */
	enc_alloc(&e, HT_KIND_MALLOC, 0x1000, 33, 1, 0);
	drec_t r[8];
	int n = decode_all(e.buf, e.len, r, 8);
	cr_assert_eq(n, 7);
	const uint64_t want[7] = { 0x1000, 0x1000, 0x1000, 0x2000, 0x1000, 0x2000, 0x1000 };
	for (int i = 0; i < 7; i++)
		cr_assert_eq(r[i].a, want[i], "record %d: %#lx", i, (unsigned long)r[i].a);
	cr_assert_eq(r[6].kind, HT_OP_MALLOC);
	cr_assert_eq(e.buf[e.len - 3], (0 << 1 | 1) << 3 | HT_OP_MALLOC);
}
