/* Byte source: see source.h.  Two passes over the frames: the headers
 * first (each frame's content size, written by the recorder, and where it
 * ends), then the data straight into one buffer of the total size.
 * Every frame is independent (the recorder resets its context at each
 * flush), so a torn or damaged frame costs only what follows it. */
#include "read/source.h"

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_isSkippableFrame */
#include <zstd.h>
#include <zstd_errors.h> /* ZSTD_getErrorCode */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The most one zstd block can expand to per byte it takes (an RLE block:
 * 4 bytes for 128 KiB), bounding what a hostile header may claim. */
#define MAX_RATIO (32u << 10)

static const uint8_t zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

bool source_is_zstd(const uint8_t *p, size_t n)
{
	return n >= 4 && memcmp(p, zmagic, 4) == 0;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int corrupt(const char *name, uint64_t off, const char *what, char *err, size_t errlen)
{
	set_err(err, errlen,
		"%s: corrupt zstd-compressed trace at byte offset %llu (%s); the file is damaged: re-record it, or "
		"cut it before that offset (head -c %llu) to read the events before it",
		name, (unsigned long long)off, what, (unsigned long long)off);
	return -EBADMSG;
}

/* A buffer of len bytes: a temporary file's mapping for large traces,
 * else anonymous memory. */
static uint8_t *out_buffer(uint64_t len, bool *file_backed)
{
	*file_backed = false;
	if (len >= SOURCE_FILE_MIN) {
		const char *dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
		int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0) {
			void *m = MAP_FAILED;
			/* Blocks reserved now: a full disk is a fallback to
			 * memory here, not a SIGBUS while inflating. */
			if (posix_fallocate(fd, 0, (off_t)len) == 0)
				m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			close(fd);
			if (m != MAP_FAILED) {
				*file_backed = true;
				return m;
			}
		}
	}
	void *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

int source_inflate(const uint8_t *p, size_t n, const char *name, source_t *s,
		   char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	/* Pass 1: frame boundaries and the total content size. */
	uint64_t total = 0, pos = 0, frames = 0;
	while (pos < n) {
		size_t left = n - (size_t)pos;
		if (left < 4) {
			if (memcmp(p + pos, zmagic, left) == 0) {
				s->cut = true; /* torn inside the magic */
				break;
			}
			return corrupt(name, pos, "not a zstd frame", err, errlen);
		}
		bool skippable = ZSTD_isSkippableFrame(p + pos, left);
		if (!skippable && memcmp(p + pos, zmagic, 4) != 0)
			return corrupt(name, pos, "not a zstd frame", err, errlen);
		size_t fl = ZSTD_findFrameCompressedSize(p + pos, left);
		if (ZSTD_isError(fl)) {
			if (ZSTD_getErrorCode(fl) == ZSTD_error_srcSize_wrong) {
				s->cut = true; /* the recording stopped mid-frame */
				break;
			}
			return corrupt(name, pos, ZSTD_getErrorName(fl), err, errlen);
		}
		if (!skippable) {
			unsigned long long cs = ZSTD_getFrameContentSize(p + pos, left);
			if (cs == ZSTD_CONTENTSIZE_UNKNOWN || cs == ZSTD_CONTENTSIZE_ERROR)
				return corrupt(name, pos, "frame without its content size", err, errlen);
			if (cs > (uint64_t)fl * MAX_RATIO || total + cs < total)
				return corrupt(name, pos, "impossible content size", err, errlen);
			total += cs;
			frames++;
		}
		pos += fl;
	}
	uint64_t zend = pos;
	if (total == 0) {
		/* Nothing complete: the reader says "empty" / "truncated". */
		s->zbytes = zend;
		return 0;
	}
	if ((uint64_t)(size_t)total != total) {
		set_err(err, errlen, "%s: the decompressed trace (%llu bytes) does not fit this machine's address space",
			name, (unsigned long long)total);
		return -ENOMEM;
	}
	s->data = out_buffer(total, &s->file_backed);
	if (!s->data) {
		set_err(err, errlen,
			"%s: no memory for the decompressed trace (%llu bytes); set TMPDIR to a directory with that much free space",
			name, (unsigned long long)total);
		return -ENOMEM;
	}
	s->len = total;
	/* Pass 2: inflate each frame into its place. */
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d) {
		source_free(s);
		set_err(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	uint64_t at = 0;
	int rc = 0;
	for (pos = 0; pos < zend;) {
		size_t fl = ZSTD_findFrameCompressedSize(p + pos, (size_t)(zend - pos));
		if (!ZSTD_isSkippableFrame(p + pos, (size_t)(zend - pos))) {
			unsigned long long cs = ZSTD_getFrameContentSize(p + pos, fl);
			size_t got = ZSTD_decompressDCtx(d, s->data + at, (size_t)cs, p + pos, fl);
			if (ZSTD_isError(got) || got != cs) {
				rc = corrupt(name, pos, ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short frame",
					     err, errlen);
				break;
			}
			at += cs;
		}
		pos += fl;
	}
	ZSTD_freeDCtx(d);
	if (rc) {
		source_free(s);
		return rc;
	}
	s->frames = frames;
	s->zbytes = zend;
	return 0;
}

void source_free(source_t *s)
{
	if (s->data)
		munmap(s->data, (size_t)s->len);
	memset(s, 0, sizeof(*s));
}
