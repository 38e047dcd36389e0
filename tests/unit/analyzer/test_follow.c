/* Reader follow mode (reader_open_follow / reader_refresh) and the
 * analysis over it: a trace written in pieces, cut at every byte, decodes
 * to exactly the events of the whole file; an END the recorder takes back
 * is undone; a file cut back behind the decoded events is an error. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "model/analysis.h"
#include "read/reader.h"
#include "tbuild.h"

/* A version 2 trace as the recorder writes it (simplified from
 * test_reader.c's writer): frees by age, allocations from the lifo. */
typedef struct v2w {
	tb_t t;
	uint64_t ord, prev;
	uint64_t addr_of[2048];
	uint64_t size_of[2048];
	ht_lifo_t lifo;
} v2w_t;

static void v2_alloc(v2w_t *w, uint64_t addr, uint64_t size, uint64_t stack)
{
	unsigned cls = ht_size_class(size);
	int j = cls == HT_NO_CLASS ? -1 : ht_lifo_find(ht_lifo_row(&w->lifo, 0, cls), addr);
	uint64_t payload = j >= 0 ? (uint64_t)j << 1 | 1 : ht_addr_code(addr, w->prev) << 1;
	if (j >= 0)
		ht_lifo_take(ht_lifo_row(&w->lifo, 0, cls), (unsigned)j);
	tb_v(&w->t, payload << 3 | HT_OP_MALLOC);
	tb_v(&w->t, size);
	tb_v(&w->t, stack);
	w->addr_of[w->ord] = addr;
	w->size_of[w->ord++] = size;
	w->prev = addr;
}

static void v2_free(v2w_t *w, uint64_t addr)
{
	uint64_t o = w->ord;
	while (o > 0 && w->addr_of[o - 1] != addr)
		o--;
	cr_assert_gt(o, 0);
	unsigned cls = ht_size_class(w->size_of[o - 1]);
	tb_v(&w->t, ((w->ord - (o - 1)) << 1 | 1) << 3 | HT_OP_FREE);
	if (cls != HT_NO_CLASS)
		ht_lifo_push(ht_lifo_row(&w->lifo, 0, cls), addr);
	w->prev = addr;
}

/* 300 allocations of stack 1 (40 addresses reused), every other one
 * freed, records in between; END at the end when `end`. */
static void script(v2w_t *w, bool end)
{
	memset(w, 0, sizeof(*w));
	tb_header_v(&w->t, 2);
	tb_process(&w->t, 7, "/bin/p");
	uint64_t ip = 0x401000;
	tb_stack(&w->t, 1, 1, &ip, 0, NULL);
	for (uint64_t k = 0; k < 300; k++) {
		uint64_t a = 0x10000 + 48 * (k % 40);
		if (k % 50 == 0)
			tb_snapshot(&w->t, k / 50, HT_SNAP_API, "mark");
		if (k % 5 == 0)
			tb_time(&w->t, 3);
		v2_alloc(w, a, 24 + k % 30, 1);
		if (k % 2)
			v2_free(w, a);
	}
	if (end)
		tb_end(&w->t, 450, 0, 99);
}

typedef struct evrec {
	rd_kind_t kind;
	uint64_t a, b, time_us;
} evrec_t;

static evrec_t rec_of(const rd_event_t *ev)
{
	evrec_t r = { ev->kind, 0, 0, ev->time_us };
	if (ev->kind == RD_ALLOC) {
		r.a = ev->u.alloc.addr;
		r.b = ev->u.alloc.size;
	} else if (ev->kind == RD_FREE) {
		r.a = ev->u.free.addr;
	} else if (ev->kind == RD_SNAPSHOT) {
		r.a = ev->u.snapshot.index;
	}
	return r;
}

/* Decodes everything r has now (in batches, as the analysis does) into
 * out[*n...]; returns reader_next's last return. */
static int drain(reader_t *r, evrec_t *out, size_t cap, size_t *n)
{
	rd_event_t ev[16];
	int rc;
	do {
		size_t k;
		rc = reader_next_batch(r, ev, 16, &k);
		for (size_t i = 0; i < k; i++) {
			cr_assert_lt(*n, cap);
			out[(*n)++] = rec_of(&ev[i]);
		}
	} while (rc > 0);
	return rc;
}

static int write_file(const char *path, const void *p, size_t n, bool trunc)
{
	int fd = open(path, O_WRONLY | O_CREAT | (trunc ? O_TRUNC : O_APPEND), 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
	return close(fd);
}

#define MAXEV 4096

Test(reader_follow, a_trace_written_in_two_pieces_decodes_as_the_whole_at_every_cut)
{
	static v2w_t w;
	static evrec_t want[MAXEV], got[MAXEV];
	char err[256], path[] = "/tmp/heaptrail-follow-XXXXXX";
	close(mkstemp(path));
	script(&w, true);
	reader_t *r;
	size_t nwant = 0;
	cr_assert_eq(reader_open_mem(w.t.buf, w.t.len, "t.htr", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(drain(r, want, MAXEV, &nwant), 0);
	reader_close(r);
	cr_assert_gt(nwant, 450);

	for (size_t cut = HT_HEADER_LEN; cut < w.t.len; cut++) {
		size_t n = 0;
		write_file(path, w.t.buf, cut, true);
		cr_assert_eq(reader_open_follow(path, &r, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(drain(r, got, MAXEV, &n), 0, "cut %zu: %s", cut, reader_error(r));
		cr_assert_not(reader_saw_end(r));
		cr_assert_eq(reader_refresh(r), 0, "nothing new yet");
		write_file(path, w.t.buf + cut, w.t.len - cut, false);
		cr_assert_eq(reader_refresh(r), (int64_t)(w.t.len - cut));
		cr_assert_eq(drain(r, got, MAXEV, &n), 0, "cut %zu: %s", cut, reader_error(r));
		cr_assert_eq(n, nwant, "cut %zu: %zu events, want %zu", cut, n, nwant);
		cr_assert_eq(memcmp(got, want, n * sizeof(*got)), 0, "cut %zu: events differ", cut);
		cr_assert(reader_saw_end(r));
		cr_assert_not(reader_truncated(r));
		reader_close(r);
	}
	unlink(path);
	tb_fini(&w.t);
}

Test(reader_follow, an_end_taken_back_by_a_failed_exec_is_undone)
{
	/* The recorder writes END before exec and truncates it away when the
	 * exec fails; the image then writes on from there. */
	tb_t t;
	char err[256], path[] = "/tmp/heaptrail-follow-XXXXXX";
	close(mkstemp(path));
	rd_event_t ev;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 8, 1);
	size_t at_end = t.len;
	tb_end(&t, 1, 0, 5);
	write_file(path, t.buf, t.len, true);
	reader_t *r;
	cr_assert_eq(reader_open_follow(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_END);
	cr_assert_eq(reader_next(r, &ev), 0);
	cr_assert(reader_saw_end(r));

	t.len = at_end; /* the END is gone, a free and a new END follow */
	t.prev = 0x1000;
	tb_free(&t, 0x1000);
	tb_end(&t, 2, 0, 6);
	write_file(path, t.buf, t.len, true);
	cr_assert_gt(reader_refresh(r), 0);
	cr_assert_not(reader_saw_end(r));
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_FREE);
	cr_assert_eq(ev.u.free.addr, 0x1000);
	cr_assert_eq(reader_next(r, &ev), 1);
	cr_assert_eq(ev.kind, RD_END);
	cr_assert_eq(ev.u.end.events, 2);
	reader_close(r);
	unlink(path);
	tb_fini(&t);
}

Test(reader_follow, a_file_cut_back_behind_the_decoded_events_is_an_error)
{
	tb_t t;
	char err[256], path[] = "/tmp/heaptrail-follow-XXXXXX";
	close(mkstemp(path));
	rd_event_t ev;
	tb_init(&t);
	tb_malloc(&t, 0x1000, 8, 1);
	tb_malloc(&t, 0x2000, 8, 1);
	write_file(path, t.buf, t.len, true);
	reader_t *r;
	cr_assert_eq(reader_open_follow(path, &r, err, sizeof(err)), 0, "%s", err);
	while (reader_next(r, &ev) > 0)
		;
	cr_assert_eq(truncate(path, HT_HEADER_LEN + 2), 0);
	cr_assert_eq(reader_refresh(r), -ESTALE);
	cr_assert(strstr(reader_error(r), "cut back to byte 18"), "%s", reader_error(r));
	reader_close(r);
	unlink(path);
	tb_fini(&t);
}

Test(reader_follow, follow_refuses_what_is_not_a_regular_file)
{
	reader_t *r;
	char err[256];
	cr_assert_lt(reader_open_follow("/dev/null", &r, err, sizeof(err)), 0);
	cr_assert(strstr(err, "/dev/null: cannot follow it: not a regular file"), "%s", err);
	cr_assert_eq(reader_open_follow("/nonexistent/t.htr", &r, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/nonexistent/t.htr: cannot open trace"), "%s", err);
}

Test(analysis_follow, runs_after_refreshes_keep_the_heap_model)
{
	/* The analysis of a trace read in three pieces has the heap of the
	 * whole trace: live bytes, blocks and the peak. */
	static v2w_t w;
	char err[256], path[] = "/tmp/heaptrail-follow-XXXXXX";
	close(mkstemp(path));
	script(&w, true);
	analysis_t *whole, *an;
	cr_assert_eq(analysis_open_mem(&whole, w.t.buf, w.t.len, "t.htr", err, sizeof(err)), 0);
	cr_assert_eq(analysis_run(whole, err, sizeof(err)), 0, "%s", err);
	size_t a = w.t.len / 3, b = 2 * w.t.len / 3;
	write_file(path, w.t.buf, a, true);
	cr_assert_eq(analysis_open_follow(&an, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	cr_assert(analysis_summary(an)->truncated);
	uint64_t allocs_a = heap_counters(analysis_heap(an))->allocs;
	write_file(path, w.t.buf + a, b - a, false);
	cr_assert_eq(analysis_refresh(an, err, sizeof(err)), (int64_t)(b - a));
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(heap_counters(analysis_heap(an))->allocs, allocs_a);
	write_file(path, w.t.buf + b, w.t.len - b, false);
	cr_assert_eq(analysis_refresh(an, err, sizeof(err)), (int64_t)(w.t.len - b));
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	const heap_counters_t *x = heap_counters(analysis_heap(whole));
	const heap_counters_t *y = heap_counters(analysis_heap(an));
	cr_assert_eq(y->allocs, 300);
	cr_assert_eq(y->frees, 150);
	cr_assert_eq(y->heap_bytes, x->heap_bytes);
	cr_assert_eq(y->heap_blocks, x->heap_blocks);
	cr_assert_eq(y->peak_bytes, x->peak_bytes);
	cr_assert_eq(y->peak_time_us, x->peak_time_us);
	cr_assert_eq(analysis_summary(an)->nsnapshots, 6);
	cr_assert_eq(analysis_summary(an)->file_bytes, w.t.len);
	cr_assert(analysis_summary(an)->has_end);
	cr_assert_not(analysis_summary(an)->truncated);
	analysis_free(an);
	analysis_free(whole);
	unlink(path);
	tb_fini(&w.t);
}

Test(reader_follow, a_compressed_trace_is_refused_with_the_reason)
{
	/* A zstd frame's magic where the trace's would be. */
	static const uint8_t z[32] = { 0x28, 0xb5, 0x2f, 0xfd, 0x24 };
	char err[300], path[] = "/tmp/heaptrail-follow-XXXXXX";
	close(mkstemp(path));
	write_file(path, z, sizeof(z), true);
	reader_t *r;
	cr_assert_eq(reader_open_follow(path, &r, err, sizeof(err)), -ENOTSUP);
	cr_assert(strstr(err, ": a compressed trace cannot be followed while it is written;"), "%s", err);
	unlink(path);
}
