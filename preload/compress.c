/* compress: see compress.h. */
#include "compress.h"

#include "mapmem.h"

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem, ZSTD_createCCtx_advanced */
#include <zstd.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Every libzstd allocation is its own mapping with this header in front:
 * the size mapmem_unmap needs.  libzstd allocates a few large workspaces
 * once per context, so a page per allocation costs nothing. */
#define HDR 64u /* keeps libzstd's 64-byte alignment of its tables */

/* libzstd is loaded only when a trace is compressed: linked, its 0.75 MiB
 * of code would be mapped into every traced program (test_limits bounds
 * what the recorder adds).  Loaded once, by the first compressed image's
 * start (the constructor), never after a fork: a fork child inherits it. */
static struct {
	ZSTD_CCtx *(*create)(ZSTD_customMem);
	size_t (*set)(ZSTD_CCtx *, ZSTD_cParameter, int);
	size_t (*bound)(size_t);
	size_t (*reset)(ZSTD_CCtx *, ZSTD_ResetDirective);
	size_t (*pledge)(ZSTD_CCtx *, unsigned long long);
	size_t (*stream)(ZSTD_CCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *, ZSTD_EndDirective);
	unsigned (*is_error)(size_t);
	int loaded;
} api;

static int load(void)
{
	if (api.loaded)
		return 0;
	void *h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -ENOENT;
	api.create = (ZSTD_CCtx * (*)(ZSTD_customMem)) dlsym(h, "ZSTD_createCCtx_advanced");
	api.set = (size_t(*)(ZSTD_CCtx *, ZSTD_cParameter, int))dlsym(h, "ZSTD_CCtx_setParameter");
	api.bound = (size_t(*)(size_t))dlsym(h, "ZSTD_compressBound");
	api.reset = (size_t(*)(ZSTD_CCtx *, ZSTD_ResetDirective))dlsym(h, "ZSTD_CCtx_reset");
	api.pledge = (size_t(*)(ZSTD_CCtx *, unsigned long long))dlsym(h, "ZSTD_CCtx_setPledgedSrcSize");
	api.stream = (size_t(*)(ZSTD_CCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *,
				ZSTD_EndDirective))dlsym(h, "ZSTD_compressStream2");
	api.is_error = (unsigned (*)(size_t))dlsym(h, "ZSTD_isError");
	if (!api.create || !api.set || !api.bound || !api.reset || !api.pledge || !api.stream ||
	    !api.is_error)
		return -ENOENT; /* an old libzstd: left loaded, never used */
	api.loaded = 1;
	return 0;
}

static struct {
	ZSTD_CCtx *cctx; /* made once, kept across images and forks */
	int on;
	uint8_t *out; /* one frame (mapmem, MAPMEM_WRITER) */
	size_t cap; /* bytes mapped at out */
	uint64_t in, outb, ns; /* compress_stats */
} z;

static uint64_t thread_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *zalloc(void *opaque, size_t n)
{
	(void)opaque;
	uint8_t *p = mapmem_map(n + HDR, MAPMEM_WRITER, 0);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + HDR;
}

static void zfree(void *opaque, void *addr)
{
	(void)opaque;
	if (!addr)
		return;
	uint8_t *p = (uint8_t *)addr - HDR;
	size_t n;
	memcpy(&n, p, sizeof(n));
	mapmem_unmap(p, n + HDR, MAPMEM_WRITER);
}

int compress_begin(int on)
{
	z.on = 0;
	if (!on)
		return 0;
	if (!z.cctx) {
		if (load())
			return -ENOENT;
		ZSTD_customMem mem = { zalloc, zfree, NULL };
		z.cctx = api.create(mem);
		if (!z.cctx)
			return -ENOMEM;
		api.set(z.cctx, ZSTD_c_compressionLevel, COMPRESS_LEVEL);
		/* The reader sizes its output from the frame headers and
		 * tells a torn last frame by them. */
		api.set(z.cctx, ZSTD_c_contentSizeFlag, 1);
		api.set(z.cctx, ZSTD_c_checksumFlag, 1);
	}
	z.on = 1;
	return 0;
}

int compress_on(void)
{
	return z.on;
}

int compress_frame(const uint8_t *buf, size_t len, const uint8_t **out, size_t *outlen)
{
	if (!z.on || len == 0) {
		*out = buf;
		*outlen = len;
		return 0;
	}
	size_t need = api.bound(len);
	if (need > z.cap) {
		size_t cap = z.cap ? z.cap : (size_t)256 << 10;
		while (cap < need)
			cap *= 2;
		uint8_t *m = z.out ? mapmem_remap(z.out, z.cap, cap, MAPMEM_WRITER) :
				     mapmem_map(cap, MAPMEM_WRITER, 0);
		if (!m)
			return -ENOMEM;
		z.out = m;
		z.cap = cap;
	}
	/* One call with ZSTD_e_end and the whole input: a complete frame,
	 * its content size in the header (pledged). */
	uint64_t t0 = thread_ns();
	api.reset(z.cctx, ZSTD_reset_session_only);
	api.pledge(z.cctx, len);
	ZSTD_outBuffer o = { z.out, z.cap, 0 };
	ZSTD_inBuffer i = { buf, len, 0 };
	size_t left = api.stream(z.cctx, &o, &i, ZSTD_e_end);
	if (api.is_error(left) || left != 0) {
		api.reset(z.cctx, ZSTD_reset_session_only);
		return -EIO;
	}
	*out = z.out;
	*outlen = o.pos;
	z.in += len;
	z.outb += o.pos;
	z.ns += thread_ns() - t0;
	return 0;
}

void compress_stats(uint64_t *in, uint64_t *out, uint64_t *cpu_ns)
{
	*in = z.in;
	*out = z.outb;
	*cpu_ns = z.ns;
}

int compress_file_is_zstd(int fd)
{
	uint8_t m[4];
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n < 0 && errno == EBADF) {
		/* Opened write-only (the wrapper's and the recorder's traces
		 * are): the same file, opened again for reading. */
		char path[40];
		util_line_t l = { path, sizeof(path), 0 };
		util_line_str(&l, "/proc/self/fd/");
		util_line_u64(&l, (uint64_t)fd);
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd < 0)
			return -1;
		n = pread(rfd, m, sizeof(m), 0);
		close(rfd);
	}
	if (n < 0)
		return -1;
	return n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd;
}

void compress_write_stats(const char *path, uint64_t writer_ns)
{
	char msg[200];
	util_line_t l = { msg, sizeof(msg) - 1, 0 };
	util_line_str(&l, "writer thread cpu ");
	util_line_u64(&l, writer_ns / 1000);
	util_line_str(&l, " us, zstd cpu ");
	util_line_u64(&l, z.ns / 1000);
	util_line_str(&l, " us, ");
	util_line_u64(&l, z.in);
	util_line_str(&l, " bytes compressed to ");
	util_line_u64(&l, z.outb);
	msg[l.len++] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t n = write(fd, msg, l.len);
		(void)n;
		close(fd);
	}
}

void compress_reset_child(void)
{
	if (z.cctx)
		api.reset(z.cctx, ZSTD_reset_session_only);
}
