/* Byte source (read/source.c): a trace cut into zstd frames, as the
 * recorder writes it under --compress, reads as the plain trace does; a
 * torn last frame is left out (truncated); a damaged frame is an error
 * naming its offset; no whole frame at all is an error too. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "read/reader.h"
#include "read/source.h"
#include "tbuild.h"

/* The plain trace and where its three chunks (the recorder's flushes)
 * end, then the same compressed, frame by frame, as the writer does it
 * (level 1, content size and checksum). */
typedef struct fixture {
	tb_t t;
	size_t cut[3]; /* end of each chunk in t.buf */
	uint8_t z[1 << 16];
	size_t zlen;
	size_t zframe[3]; /* start of each frame in z */
} fixture_t;

static void compress_chunks(fixture_t *f)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	size_t from = 0;
	f->zlen = 0;
	for (int i = 0; i < 3; i++) {
		f->zframe[i] = f->zlen;
		size_t n = ZSTD_compress2(c, f->z + f->zlen, sizeof(f->z) - f->zlen,
					  f->t.buf + from, f->cut[i] - from);
		cr_assert(!ZSTD_isError(n), "%s", ZSTD_getErrorName(n));
		f->zlen += n;
		from = f->cut[i];
	}
	ZSTD_freeCCtx(c);
}

static void build(fixture_t *f)
{
	tb_init(&f->t);
	tb_process(&f->t, 42, "/bin/prog");
	tb_stack1(&f->t, 1, 0x401000);
	for (int i = 0; i < 200; i++)
		tb_malloc(&f->t, 0x10000 + (uint64_t)i * 64, 32, 1);
	f->cut[0] = f->t.len;
	for (int i = 0; i < 100; i++)
		tb_free(&f->t, 0x10000 + (uint64_t)i * 64);
	f->cut[1] = f->t.len;
	for (int i = 0; i < 50; i++)
		tb_malloc(&f->t, 0x90000 + (uint64_t)i * 64, 48, 1);
	tb_end(&f->t, 350, 0, 1000);
	f->cut[2] = f->t.len;
	compress_chunks(f);
}

/* Events (kind, addr) of a whole read; returns how many, *end = the last
 * reader_next result. */
static size_t read_all(reader_t *r, uint64_t *kinds, uint64_t *addrs, size_t max, int *end)
{
	rd_event_t ev;
	size_t n = 0;
	int rc;
	while ((rc = reader_next(r, &ev)) == 1 && n < max) {
		kinds[n] = ev.kind;
		addrs[n] = ev.kind == RD_ALLOC ? ev.u.alloc.addr : ev.kind == RD_FREE ? ev.u.free.addr : 0;
		n++;
	}
	*end = rc;
	return n;
}

#define MAXEV 1024

Test(source, frames_read_as_the_plain_trace)
{
	static fixture_t f;
	build(&f);
	char err[512];
	reader_t *p, *z;
	cr_assert_eq(reader_open_mem(f.t.buf, f.t.len, "p.htr", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(reader_open_mem(f.z, f.zlen, "z.htr", &z, err, sizeof(err)), 0, "%s", err);

	static uint64_t pk[MAXEV], pa[MAXEV], zk[MAXEV], za[MAXEV];
	int pend, zend;
	size_t pn = read_all(p, pk, pa, MAXEV, &pend);
	size_t zn = read_all(z, zk, za, MAXEV, &zend);

	cr_assert_eq(pend, 0);
	cr_assert_eq(zend, 0, "%s", reader_error(z));
	cr_assert_eq(zn, pn);
	cr_assert_eq(memcmp(pk, zk, pn * sizeof(pk[0])), 0);
	cr_assert_eq(memcmp(pa, za, pn * sizeof(pa[0])), 0);
	cr_assert(reader_saw_end(z));
	cr_assert_not(reader_truncated(z));
	cr_assert_eq(reader_zstd_frames(z), 3);
	cr_assert_not(reader_zstd_cut(z));
	cr_assert_eq(reader_file_bytes(z), f.zlen);
	cr_assert_eq(reader_size(z), f.t.len);
	cr_assert_eq(reader_zstd_frames(p), 0);
	reader_close(p);
	reader_close(z);
	tb_fini(&f.t);
}

Test(source, torn_last_frame_is_left_out_and_reads_as_truncated)
{
	static fixture_t f;
	build(&f);
	char err[512];
	reader_t *r;
	size_t len = f.zframe[2] + (f.zlen - f.zframe[2]) / 2;
	cr_assert_eq(reader_open_mem(f.z, len, "z.htr", &r, err, sizeof(err)), 0, "%s", err);

	static uint64_t k[MAXEV], a[MAXEV];
	int end;
	size_t n = read_all(r, k, a, MAXEV, &end);

	cr_assert_eq(end, 0, "%s", reader_error(r));
	/* PROCESS, STACK, 200 mallocs, 100 frees: the third chunk is gone. */
	cr_assert_eq(n, 2 + 200 + 100);
	cr_assert_eq(k[n - 1], RD_FREE);
	cr_assert(reader_truncated(r));
	cr_assert(reader_zstd_cut(r));
	cr_assert_eq(reader_zstd_frames(r), 2);
	cr_assert_eq(reader_size(r), f.cut[1]);
	reader_close(r);
	tb_fini(&f.t);
}

Test(source, damaged_frame_is_an_error_naming_its_offset)
{
	static fixture_t f;
	build(&f);
	char err[512], want[128];
	reader_t *r;
	/* A byte in the middle of the second frame's data: its checksum (or
	 * its blocks) no longer match. */
	f.z[(f.zframe[1] + f.zframe[2]) / 2] ^= 0x55;

	int rc = reader_open_mem(f.z, f.zlen, "z.htr", &r, err, sizeof(err));

	cr_assert_eq(rc, -EBADMSG, "rc %d: %s", rc, err);
	snprintf(want, sizeof(want), "z.htr: corrupt zstd-compressed trace at byte offset %zu (",
		 f.zframe[1]);
	cr_assert(strstr(err, want), "%s", err);
	tb_fini(&f.t);
}

Test(source, bytes_after_the_frames_that_are_no_frame_are_an_error)
{
	static fixture_t f;
	build(&f);
	char err[512], want[128];
	reader_t *r;
	memcpy(f.z + f.zlen, "garbage!", 8);

	int rc = reader_open_mem(f.z, f.zlen + 8, "z.htr", &r, err, sizeof(err));

	cr_assert_eq(rc, -EBADMSG);
	snprintf(want, sizeof(want), "at byte offset %zu (not a zstd frame)", f.zlen);
	cr_assert(strstr(err, want), "%s", err);
	tb_fini(&f.t);
}

Test(source, no_whole_frame_is_an_error)
{
	static fixture_t f;
	build(&f);
	char err[512];
	reader_t *r;

	int rc = reader_open_mem(f.z, f.zframe[1] / 2, "z.htr", &r, err, sizeof(err));

	cr_assert_eq(rc, -EINVAL);
	cr_assert(strstr(err, "z.htr: the compressed trace holds no complete zstd frame"), "%s", err);
	tb_fini(&f.t);
}

Test(source, is_zstd_needs_the_whole_magic)
{
	static const uint8_t m[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	cr_assert(source_is_zstd(m, 4));
	cr_assert_not(source_is_zstd(m, 3));
	cr_assert_not(source_is_zstd((const uint8_t *)"\x89HTR", 4));
}
