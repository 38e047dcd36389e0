/* Reader: round trips of every record type built with the format codec,
 * and its answers to bad input (bad magic, wrong version, corrupt record
 * with its offset, torn final record = truncated). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "read/reader.h"
#include "tbuild.h"

static reader_t *open_tb(tb_t *t, char *err, size_t errlen)
{
	reader_t *r = NULL;
	int rc = reader_open_mem(t->buf, t->len, "t.htr", &r, err, errlen);
	cr_assert_eq(rc, 0, "open failed: %s", err);
	return r;
}

static void next_ok(reader_t *r, rd_event_t *ev, rd_kind_t kind)
{
	int rc = reader_next(r, ev);
	cr_assert_eq(rc, 1, "reader_next = %d (%s)", rc, reader_error(r));
	cr_assert_eq(ev->kind, kind, "kind %d, expected %d", ev->kind, kind);
}

Test(reader, hot_ops_round_trip_with_thread_and_time)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	tb_time(&t, 1500);
	tb_malloc(&t, 0x555555550000, 100, 3);
	tb_thread(&t, 2);
	tb_alloc(&t, HT_KIND_POSIX_MEMALIGN, 0x555555560008, 64, 4, 64);
	tb_time(&t, 500);
	tb_realloc(&t, 0x555555550000, 0x7f0000001000, 4096, 5);
	tb_free(&t, 0x555555560008);
	reader_t *r = open_tb(&t, err, sizeof(err));

	next_ok(r, &ev, RD_ALLOC);
	cr_assert_eq(ev.u.alloc.addr, 0x555555550000);
	cr_assert_eq(ev.u.alloc.size, 100);
	cr_assert_eq(ev.u.alloc.stack, 3);
	cr_assert_eq(ev.u.alloc.kind, HT_KIND_MALLOC);
	cr_assert_eq(ev.time_us, 1500);
	cr_assert_eq(ev.thread, 0);
	next_ok(r, &ev, RD_ALLOC);
	cr_assert_eq(ev.u.alloc.addr, 0x555555560008);
	cr_assert_eq(ev.u.alloc.kind, HT_KIND_POSIX_MEMALIGN);
	cr_assert_eq(ev.u.alloc.align, 64);
	cr_assert_eq(ev.thread, 2);
	next_ok(r, &ev, RD_REALLOC);
	cr_assert_eq(ev.u.realloc.old_addr, 0x555555550000);
	cr_assert_eq(ev.u.realloc.new_addr, 0x7f0000001000);
	cr_assert_eq(ev.u.realloc.size, 4096);
	cr_assert_eq(ev.u.realloc.stack, 5);
	cr_assert_eq(ev.time_us, 2000);
	next_ok(r, &ev, RD_FREE);
	cr_assert_eq(ev.u.free.addr, 0x555555560008);
	cr_assert_eq(reader_next(r, &ev), 0);
	cr_assert(reader_truncated(r), "no END record means truncated");
	reader_close(r);
	tb_fini(&t);
}

Test(reader, extended_records_round_trip)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	uint64_t ips[3] = { 0x401000, 0x400ff0, 0x7f0000002000 };
	uint64_t py[4] = { 1, 10, 2, 20 };
	tb_init(&t);
	tb_process(&t, 4242, "/usr/bin/prog");
	tb_modules1(&t, 1, "", 0x400000, 0x1000, 0x2000);
	tb_pycode(&t, 1, "app.py", "main", 3);
	tb_stack(&t, 7, 3, ips, 2, py);
	tb_thread_rec(&t, 1, 4243, "worker");
	tb_snapshot(&t, 0, HT_SNAP_API, "before");
	tb_rss(&t, 1 << 20);
	tb_lost(&t, 5, HT_LOST_NO_MEMORY);
	tb_warning(&t, "something odd");
	tb_exec(&t, "/bin/true");
	tb_end(&t, 10, 5, 123456);
	reader_t *r = open_tb(&t, err, sizeof(err));

	next_ok(r, &ev, RD_PROCESS);
	cr_assert_eq(ev.u.process.pid, 4242);
	cr_assert_str_eq(ev.u.process.exe, "/usr/bin/prog");
	cr_assert_str_eq(ev.u.process.version, "0.1.0");
	cr_assert_eq(ev.u.process.argc, 1);
	cr_assert_str_eq(ev.u.process.argv[0], "/usr/bin/prog");
	cr_assert_eq(ev.u.process.image, 0);
	next_ok(r, &ev, RD_MODULES);
	cr_assert_eq(ev.u.modules.generation, 1);
	cr_assert_eq(ev.u.modules.count, 1);
	cr_assert_str_eq(ev.u.modules.mods[0].path, "");
	cr_assert_eq(ev.u.modules.mods[0].bias, 0x400000);
	cr_assert_eq(ev.u.modules.mods[0].nsegs, 1);
	cr_assert_eq(ev.u.modules.mods[0].segs[0].memsz, 0x2000);
	next_ok(r, &ev, RD_PYCODE);
	cr_assert_str_eq(ev.u.pycode.function, "main");
	next_ok(r, &ev, RD_STACK);
	cr_assert_eq(ev.u.stack.id, 7);
	cr_assert_eq(ev.u.stack.nips, 3);
	cr_assert_eq(ev.u.stack.ips[1], 0x400ff0);
	cr_assert_eq(ev.u.stack.ips[2], 0x7f0000002000);
	cr_assert_eq(ev.u.stack.npy, 2);
	cr_assert_eq(ev.u.stack.py[1].code, 2);
	cr_assert_eq(ev.u.stack.py[1].line, 20);
	next_ok(r, &ev, RD_THREAD);
	cr_assert_eq(ev.u.thread.tid, 4243);
	cr_assert_str_eq(ev.u.thread.name, "worker");
	next_ok(r, &ev, RD_SNAPSHOT);
	cr_assert_str_eq(ev.u.snapshot.label, "before");
	next_ok(r, &ev, RD_RSS);
	cr_assert_eq(ev.u.rss.bytes, 1 << 20);
	next_ok(r, &ev, RD_LOST);
	cr_assert_eq(ev.u.lost.count, 5);
	next_ok(r, &ev, RD_WARNING);
	cr_assert_str_eq(ev.u.warning.text, "something odd");
	next_ok(r, &ev, RD_EXEC);
	cr_assert_str_eq(ev.u.exec.path, "/bin/true");
	next_ok(r, &ev, RD_END);
	cr_assert_eq(ev.u.end.events, 10);
	cr_assert_eq(ev.u.end.lost, 5);
	cr_assert_eq(ev.u.end.end_time_us, 123456);
	cr_assert_eq(reader_next(r, &ev), 0);
	cr_assert_not(reader_truncated(r));
	reader_close(r);
	tb_fini(&t);
}

Test(reader, unknown_record_types_are_skipped)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	t.body[0] = 1;
	t.body[1] = 2;
	t.blen = 2;
	tb_record(&t, 99);
	tb_malloc(&t, 0x1000, 8, 1);
	reader_t *r = open_tb(&t, err, sizeof(err));
	next_ok(r, &ev, RD_ALLOC);
	cr_assert_eq(ev.u.alloc.addr, 0x1000);
	reader_close(r);
	tb_fini(&t);
}

Test(reader, frees_carry_the_site_of_the_last_freesite_until_a_new_image)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 10, 1);
	tb_malloc(&t, 0x2000, 10, 1);
	tb_malloc(&t, 0x3000, 10, 1);
	tb_free(&t, 0x1000); /* before any FREESITE: unknown */
	tb_free_site(&t, 7);
	tb_free(&t, 0x2000);
	tb_free_site(&t, 0);
	tb_free(&t, 0x3000);
	tb_free_site(&t, 9);
	tb_process(&t, 2, "/bin/next"); /* a new image forgets the site */
	tb_malloc(&t, 0x4000, 10, 1);
	tb_free(&t, 0x4000);
	reader_t *r = open_tb(&t, err, sizeof(err));
	for (int i = 0; i < 3; i++)
		next_ok(r, &ev, RD_ALLOC);
	next_ok(r, &ev, RD_FREE);
	cr_assert_eq(ev.u.free.site, 0);
	next_ok(r, &ev, RD_FREE);
	cr_assert_eq(ev.u.free.addr, 0x2000);
	cr_assert_eq(ev.u.free.site, 7, "FREESITE is state, not an event");
	next_ok(r, &ev, RD_FREE);
	cr_assert_eq(ev.u.free.site, 0);
	next_ok(r, &ev, RD_PROCESS);
	next_ok(r, &ev, RD_ALLOC);
	next_ok(r, &ev, RD_FREE);
	cr_assert_eq(ev.u.free.site, 0);
	cr_assert_eq(reader_next(r, &ev), 0);
	reader_close(r);
	tb_fini(&t);
}

Test(reader, bad_magic_is_rejected_with_a_sentence)
{
	char err[256] = "";
	reader_t *r;
	const char text[] = "this is a text file, not a trace";
	int rc = reader_open_mem(text, sizeof(text), "notes.txt", &r, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_null(r);
	cr_assert(strstr(err, "notes.txt: not a heaptrail trace (bad magic)"), "%s", err);
}

Test(reader, newer_version_names_both_versions)
{
	tb_t t;
	char err[512] = "";
	reader_t *r;
	memset(&t, 0, sizeof(t));
	tb_header_v(&t, 7);
	int rc = reader_open_mem(t.buf, t.len, "new.htr", &r, err, sizeof(err));
	cr_assert_eq(rc, -EPROTO);
	cr_assert(strstr(err, "version 7 was made by a newer heaptrail"), "%s", err);
	cr_assert(strstr(err, "reads versions 1 to 2"), "%s", err);
	tb_fini(&t);
}

Test(reader, older_version_says_older)
{
	tb_t t;
	char err[512] = "";
	reader_t *r;
	memset(&t, 0, sizeof(t));
	tb_header_v(&t, 0);
	cr_assert_eq(reader_open_mem(t.buf, t.len, "old.htr", &r, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "an older heaptrail"), "%s", err);
	tb_fini(&t);
}

Test(reader, missing_file_names_the_file)
{
	char err[512] = "";
	reader_t *r;
	int rc = reader_open("/nonexistent/x.htr", &r, err, sizeof(err));
	cr_assert_eq(rc, -ENOENT);
	cr_assert(strstr(err, "/nonexistent/x.htr: cannot open trace"), "%s", err);
}

Test(reader, record_fields_past_their_body_are_corrupt_with_offset)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 8, 1); /* 16..: a few bytes */
	size_t off = t.len;
	/* A STACK claiming 5 native frames with only 2 in its body. */
	tb_bv(&t, 1);
	tb_bv(&t, 0);
	tb_bv(&t, 5);
	tb_bv(&t, 0x1000);
	tb_bv(&t, 2);
	tb_record(&t, HT_REC_STACK);
	tb_malloc(&t, 0x2000, 8, 1);
	reader_t *r = open_tb(&t, err, sizeof(err));
	next_ok(r, &ev, RD_ALLOC);
	cr_assert_eq(reader_next(r, &ev), -EBADMSG);
	char want[64];
	snprintf(want, sizeof(want), "corrupt record at byte offset %zu", off);
	cr_assert(strstr(reader_error(r), want), "%s", reader_error(r));
	cr_assert(strstr(reader_error(r), "t.htr"), "%s", reader_error(r));
	/* It stays at the error. */
	cr_assert_eq(reader_next(r, &ev), -EBADMSG);
	reader_close(r);
	tb_fini(&t);
}

Test(reader, reserved_op_is_corrupt)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	tb_v(&t, 6);
	reader_t *r = open_tb(&t, err, sizeof(err));
	cr_assert_eq(reader_next(r, &ev), -EBADMSG);
	cr_assert(strstr(reader_error(r), "byte offset 16"), "%s", reader_error(r));
	reader_close(r);
	tb_fini(&t);
}

Test(reader, torn_final_record_means_truncated_not_corrupt)
{
	/* Cut the trace at every byte of its last two records: the reader
	 * delivers the whole records before and reports truncation. */
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 8, 1);
	size_t whole = t.len;
	tb_malloc(&t, 0x123456789000, 1000000, 300);
	tb_snapshot(&t, 0, HT_SNAP_API, "label");
	for (size_t cut = whole + 1; cut < t.len; cut++) {
		reader_t *r = NULL;
		cr_assert_eq(reader_open_mem(t.buf, cut, "t.htr", &r, err, sizeof(err)), 0);
		next_ok(r, &ev, RD_ALLOC);
		int rc;
		int n = 0;
		while ((rc = reader_next(r, &ev)) > 0)
			n++;
		cr_assert_eq(rc, 0, "cut %zu: rc %d %s", cut, rc, reader_error(r));
		cr_assert_leq(n, 1);
		cr_assert(reader_truncated(r), "cut at %zu", cut);
		reader_close(r);
	}
	tb_fini(&t);
}

Test(reader, end_then_new_image_resets_state)
{
	tb_t t;
	char err[256];
	rd_event_t ev;
	tb_init(&t);
	tb_process(&t, 1, "/bin/sh");
	tb_time(&t, 100);
	tb_malloc(&t, 0x5000, 1, 1);
	tb_exec(&t, "/bin/prog");
	tb_process(&t, 1, "/bin/prog");
	tb_malloc(&t, 0x6000, 2, 1);
	reader_t *r = open_tb(&t, err, sizeof(err));
	next_ok(r, &ev, RD_PROCESS);
	next_ok(r, &ev, RD_ALLOC);
	cr_assert_eq(ev.time_us, 100);
	next_ok(r, &ev, RD_EXEC);
	next_ok(r, &ev, RD_PROCESS);
	cr_assert_eq(ev.u.process.image, 1);
	next_ok(r, &ev, RD_ALLOC);
	cr_assert_eq(ev.u.alloc.addr, 0x6000);
	cr_assert_eq(ev.time_us, 0, "time restarts with the image");
	reader_close(r);
	tb_fini(&t);
}

Test(reader, file_round_trip_through_mmap)
{
	tb_t t;
	char err[256], path[] = "/tmp/heaptrail-test-XXXXXX";
	rd_event_t ev;
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	tb_init(&t);
	tb_malloc(&t, 0x1000, 8, 1);
	tb_end(&t, 1, 0, 5);
	cr_assert_eq(write(fd, t.buf, t.len), (ssize_t)t.len);
	close(fd);
	reader_t *r;
	cr_assert_eq(reader_open(path, &r, err, sizeof(err)), 0, "%s", err);
	next_ok(r, &ev, RD_ALLOC);
	next_ok(r, &ev, RD_END);
	cr_assert_eq(reader_next(r, &ev), 0);
	cr_assert_not(reader_truncated(r));
	reader_close(r);
	unlink(path);
	tb_fini(&t);
}

Test(reader, big_records_span_scratch_chunks_and_keep_their_pointers)
{
	/* A MODULES record whose decoded form (2000 modules with
	 * paths and segments) is far larger than one 64 KiB scratch chunk:
	 * every earlier string and array must survive later allocations. */
	tb_t *t = calloc(1, sizeof(*t));
	char err[256], path[32];
	rd_event_t ev;
	tb_init(t);
	tb_bv(t, 9);
	tb_bv(t, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/lib/m%04d.so", i);
		tb_bstr(t, path);
		tb_bv(t, 0x100000u * (unsigned)i);
		tb_bv(t, 0);
		tb_bv(t, 1);
		tb_bv(t, 0x1000);
		tb_bv(t, (uint64_t)i + 1);
		tb_bv(t, 5);
	}
	tb_record(t, HT_REC_MODULES);
	reader_t *r = open_tb(t, err, sizeof(err));
	next_ok(r, &ev, RD_MODULES);
	cr_assert_eq(ev.u.modules.count, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/lib/m%04d.so", i);
		cr_assert_str_eq(ev.u.modules.mods[i].path, path);
		cr_assert_eq(ev.u.modules.mods[i].nsegs, 1);
		cr_assert_eq(ev.u.modules.mods[i].segs[0].memsz, (uint64_t)i + 1);
	}
	reader_close(r);
	tb_fini(t);
	free(t);
}

/* ---- version 2: the address model ------------------------------------- */

/* A version 2 trace: ordinals 0..2 malloc'ed (40 bytes each, addr codes),
 * the first freed by age 3, a malloc of the same class naming it by lifo position
 * 0, then the second freed by age 3 (ordinals 1 of 4). */
static void v2_trace(tb_t *t)
{
	memset(t, 0, sizeof(*t));
	tb_header_v(t, 2);
	tb_stack1(t, 1, 0x401000);
	uint64_t prev = 0;
	const uint64_t addrs[3] = { 0x1000, 0x2000, 0x3000 };
	for (int i = 0; i < 3; i++) {
		tb_v(t, (ht_addr_code(addrs[i], prev) << 1) << 3 | HT_OP_MALLOC);
		tb_v(t, 40);
		tb_v(t, 1);
		prev = addrs[i];
	}
	tb_v(t, (3 << 1 | 1) << 3 | HT_OP_FREE); /* 0x1000 */
	tb_v(t, (0 << 1 | 1) << 3 | HT_OP_MALLOC); /* lifo 0: 0x1000 */
	tb_v(t, 33);
	tb_v(t, 1);
	tb_v(t, (3 << 1 | 1) << 3 | HT_OP_FREE); /* ordinal 1: 0x2000 */
}

Test(reader, version_2_resolves_ages_and_lifo_positions)
{
	tb_t t;
	v2_trace(&t);
	char err[512] = "";
	reader_t *r;
	cr_assert_eq(reader_open_mem(t.buf, t.len, "v2.htr", &r, err, sizeof(err)), 0, "%s", err);
	rd_event_t ev;
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_STACK);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(reader_next(r, &ev), 1);
		cr_assert_eq(ev.kind, RD_ALLOC);
		cr_assert_eq(ev.u.alloc.addr, 0x1000u * (i + 1));
	}
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_FREE);
	cr_assert_eq(ev.u.free.addr, 0x1000);
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_ALLOC);
	cr_assert_eq(ev.u.alloc.addr, 0x1000);
	cr_assert_eq(ev.u.alloc.size, 33);
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_FREE);
	cr_assert_eq(ev.u.free.addr, 0x2000);
	cr_assert_eq(reader_next(r, &ev), 0);
	reader_close(r);
	tb_fini(&t);
}

Test(reader, version_2_age_beyond_the_allocations_is_a_corrupt_record)
{
	tb_t t;
	memset(&t, 0, sizeof(t));
	tb_header_v(&t, 2);
	tb_v(&t, (ht_addr_code(0x1000, 0) << 1) << 3 | HT_OP_MALLOC);
	tb_v(&t, 40);
	tb_v(&t, 1);
	tb_v(&t, (2 << 1 | 1) << 3 | HT_OP_FREE); /* only 1 allocation so far */
	char err[512] = "";
	reader_t *r;
	cr_assert_eq(reader_open_mem(t.buf, t.len, "bad.htr", &r, err, sizeof(err)), 0, "%s", err);
	rd_event_t ev;
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(reader_next(r, &ev), -EBADMSG);
	cr_assert(strstr(reader_error(r), "bad.htr: corrupt record at byte offset 21"), "%s",
		  reader_error(r));
	cr_assert(strstr(reader_error(r), "FREE names an allocation the trace does not have"), "%s",
		  reader_error(r));
	reader_close(r);
	tb_fini(&t);
}

Test(reader, version_2_empty_lifo_position_is_a_corrupt_record)
{
	tb_t t;
	memset(&t, 0, sizeof(t));
	tb_header_v(&t, 2);
	tb_v(&t, (1 << 1 | 1) << 3 | HT_OP_MALLOC); /* lifo 1: nothing freed */
	tb_v(&t, 40);
	tb_v(&t, 1);
	char err[512] = "";
	reader_t *r;
	cr_assert_eq(reader_open_mem(t.buf, t.len, "bad.htr", &r, err, sizeof(err)), 0, "%s", err);
	rd_event_t ev;
	cr_assert_eq(reader_next(r, &ev), -EBADMSG);
	cr_assert(strstr(reader_error(r), "allocation names a free the trace does not have"), "%s",
		  reader_error(r));
	reader_close(r);
	tb_fini(&t);
}

/* ---- reader_next_batch ------------------------------------------------ */

/* A version 2 writer, as the recorder's address model (simplified): a
 * free names a block allocated within the window by its age, an
 * allocation reuses a lifo entry of its thread and class when it can. */
typedef struct v2w {
	tb_t t;
	uint64_t ord, prev;
	uint64_t addr_of[4096]; /* by ordinal (tests stay below) */
	uint64_t size_of[4096];
	ht_lifo_t lifo;
	uint32_t thread;
} v2w_t;

static void v2_alloc(v2w_t *w, uint64_t addr, uint64_t size, uint64_t stack,
		     int kind)
{
	unsigned cls = ht_size_class(size);
	int j = cls == HT_NO_CLASS ? -1 :
		ht_lifo_find(ht_lifo_row(&w->lifo, w->thread, cls), addr);
	uint64_t payload = j >= 0 ? (uint64_t)j << 1 | 1 :
				    ht_addr_code(addr, w->prev) << 1;
	if (j >= 0)
		ht_lifo_take(ht_lifo_row(&w->lifo, w->thread, cls), (unsigned)j);
	tb_v(&w->t, payload << 3 | (kind < 0 ? HT_OP_MALLOC : HT_OP_ALLOC));
	if (kind >= 0) {
		uint8_t k = (uint8_t)kind;
		tb_bytes(&w->t, &k, 1);
	}
	tb_v(&w->t, size);
	tb_v(&w->t, stack);
	if (kind == HT_KIND_POSIX_MEMALIGN)
		tb_v(&w->t, 64);
	w->addr_of[w->ord] = addr;
	w->size_of[w->ord++] = size;
	w->prev = addr;
}

static void v2_free(v2w_t *w, uint64_t addr, bool by_age)
{
	uint64_t o = w->ord;
	while (by_age && o > 0 && w->addr_of[o - 1] != addr)
		o--;
	if (by_age && o > 0) {
		unsigned cls = ht_size_class(w->size_of[o - 1]);
		tb_v(&w->t, ((w->ord - (o - 1)) << 1 | 1) << 3 | HT_OP_FREE);
		if (cls != HT_NO_CLASS)
			ht_lifo_push(ht_lifo_row(&w->lifo, w->thread, cls), addr);
	} else {
		tb_v(&w->t, (ht_addr_code(addr, w->prev) << 1) << 3 | HT_OP_FREE);
	}
	w->prev = addr;
}

static void v2_realloc(v2w_t *w, uint64_t old, uint64_t nw, uint64_t size)
{
	tb_v(&w->t, ht_addr_code(old, w->prev) << 3 | HT_OP_REALLOC);
	tb_v(&w->t, ht_addr_code(nw, old));
	tb_v(&w->t, size);
	tb_v(&w->t, 1);
	w->addr_of[w->ord] = nw;
	w->size_of[w->ord++] = size;
	w->prev = nw;
}

static void v2_script(v2w_t *w)
{
	memset(w, 0, sizeof(*w));
	tb_header_v(&w->t, 2);
	tb_process(&w->t, 7, "/bin/p");
	uint64_t ip = 0x401000;
	tb_stack(&w->t, 1, 1, &ip, 0, NULL);
	for (uint64_t k = 0; k < 1500; k++) {
		uint64_t a = 0x10000 + 48 * (k % 40);
		if (k % 200 == 0)
			tb_snapshot(&w->t, k / 200, HT_SNAP_API, "s");
		if (k % 300 == 7) {
			w->thread = (uint32_t)(k / 300);
			tb_thread(&w->t, w->thread);
		}
		if (k % 5 == 0)
			tb_time(&w->t, 3);
		v2_alloc(w, a, 24 + (k % 40) % 30, 1, k % 11 == 0 ? HT_KIND_POSIX_MEMALIGN :
					       k % 7 == 0 ? HT_KIND_CALLOC : -1);
		if (k % 13 == 0) {
			v2_realloc(w, a, a + 0x100000, 2000);
			v2_free(w, a + 0x100000, k % 2);
		} else if (k % 4) {
			v2_free(w, a, k % 3 != 0);
		}
	}
	tb_end(&w->t, 1, 0, 99);
}

/* Decodes t with reader_next and with reader_next_batch (batches of
 * `max`, scratch held or not) and asserts the same events, end and error. */
static void same_as_next(const uint8_t *buf, size_t len, size_t max, bool hold)
{
	reader_t *a, *b;
	char err[256];
	cr_assert_eq(reader_open_mem(buf, len, "t.htr", &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(reader_open_mem(buf, len, "t.htr", &b, err, sizeof(err)), 0, "%s", err);
	reader_hold_scratch(b, hold);
	rd_event_t ev, batch[64];
	int rca = 1, rcb = 1;
	size_t nb = 0, at = 0, events = 0;
	for (;;) {
		if (at == nb) {
			if (rcb <= 0)
				break;
			rcb = reader_next_batch(b, batch, max, &nb);
			at = 0;
			cr_assert_leq(nb, max);
			continue;
		}
		rca = reader_next(a, &ev);
		cr_assert_eq(rca, 1, "reader_next ended before the batch, event %zu", events);
		const rd_event_t *e = &batch[at++];
		cr_assert_eq(e->kind, ev.kind, "event %zu", events);
		cr_assert_eq(e->offset, ev.offset, "event %zu", events);
		cr_assert_eq(e->time_us, ev.time_us, "event %zu", events);
		cr_assert_eq(e->thread, ev.thread, "event %zu", events);
		if (ev.kind == RD_ALLOC) {
			cr_assert_eq(e->u.alloc.addr, ev.u.alloc.addr, "event %zu", events);
			cr_assert_eq(e->u.alloc.size, ev.u.alloc.size);
			cr_assert_eq(e->u.alloc.stack, ev.u.alloc.stack);
			cr_assert_eq(e->u.alloc.align, ev.u.alloc.align);
			cr_assert_eq(e->u.alloc.kind, ev.u.alloc.kind);
		} else if (ev.kind == RD_FREE) {
			cr_assert_eq(e->u.free.addr, ev.u.free.addr, "event %zu", events);
		} else if (ev.kind == RD_REALLOC) {
			cr_assert_eq(memcmp(&e->u.realloc, &ev.u.realloc, sizeof(ev.u.realloc)), 0);
		} else if (ev.kind == RD_SNAPSHOT) {
			cr_assert_str_eq(e->u.snapshot.label, ev.u.snapshot.label);
		}
		events++;
	}
	rca = reader_next(a, &ev);
	cr_assert_eq(rcb, rca, "end: batch %d, next %d after %zu events", rcb, rca, events);
	cr_assert_str_eq(reader_error(b), reader_error(a));
	cr_assert_eq(reader_truncated(b), reader_truncated(a));
	reader_scratch_free(reader_take_scratch(b));
	reader_close(a);
	reader_close(b);
}

Test(reader, batches_decode_exactly_as_reader_next)
{
	v2w_t *w = malloc(sizeof(*w));
	v2_script(w);
	same_as_next(w->t.buf, w->t.len, 64, false);
	same_as_next(w->t.buf, w->t.len, 7, true);
	same_as_next(w->t.buf, w->t.len, 1, false);
	tb_fini(&w->t);
	free(w);
}

Test(reader, batches_stop_at_torn_and_damaged_bytes_as_reader_next)
{
	v2w_t *w = malloc(sizeof(*w));
	v2_script(w);
	uint8_t *copy = malloc(w->t.len);
	/* Every cut in the first 600 bytes, then every 37th. */
	for (size_t cut = HT_HEADER_LEN; cut < w->t.len; cut += cut < 600 ? 1 : 37)
		same_as_next(w->t.buf, cut, 64, cut % 2);
	/* Damage: one byte flipped to values that break ages, lifo
	 * positions, kinds and varints. */
	const uint8_t vals[] = { 0xff, 0x07, 0x0e, 0x0f, 0x06, 0x01, 0x39, 0x81 };
	for (size_t at = 200; at < w->t.len; at += 53)
		for (size_t v = 0; v < sizeof(vals); v++) {
			memcpy(copy, w->t.buf, w->t.len);
			copy[at] = vals[v];
			same_as_next(copy, w->t.len, 64, v % 2);
		}
	free(copy);
	tb_fini(&w->t);
	free(w);
}

/* Held records end a batch once they hold 8 MiB, so a decoder thread
 * running ahead keeps a bounded amount of record data. */
Test(reader, held_batches_stop_after_8_mib_of_records)
{
	tb_t t;
	char *text = malloc(60001);
	memset(text, 'w', 60000);
	text[60000] = 0;
	tb_init(&t);
	for (int i = 0; i < 200; i++)
		tb_warning(&t, text);
	reader_t *r;
	char err[256];
	cr_assert_eq(reader_open_mem(t.buf, t.len, "t.htr", &r, err, sizeof(err)), 0, "%s", err);
	reader_hold_scratch(r, true);
	rd_event_t ev[256];
	size_t n, total = 0;
	void *kept[256];
	int nk = 0, rc;
	do {
		rc = reader_next_batch(r, ev, 256, &n);
		cr_assert_leq(n, 8 * 1024 * 1024 / 60000 + 1, "a batch held %zu records", n);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(strlen(ev[i].u.warning.text), 60000);
		total += n;
		kept[nk++] = reader_take_scratch(r);
	} while (rc > 0);
	cr_assert_eq(total, 200);
	cr_assert_geq(nk, 2);
	for (int i = 0; i < nk; i++)
		reader_scratch_free(kept[i]);
	reader_close(r);
	free(text);
	tb_fini(&t);
}
