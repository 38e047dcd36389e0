/* Trace reader: see reader.h.  Decodes records straight from an mmap'ed
 * file; strings and arrays of one record are copied into a chunked
 * scratch arena, emptied at the next record.  Every count is checked
 * against the bytes left in the body before anything is allocated, so a
 * hostile count costs at most a small multiple of the record's size. */
#include "read/reader.h"
#include "read/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pages behind the read position are dropped every this many bytes, so the
 * resident size does not grow with the file. */
#define DROP_EVERY (64u << 20)

struct reader {
	const uint8_t *data; /* whole file */
	uint64_t len; /* bytes */
	uint64_t pos; /* start of the next record */
	uint64_t dropped; /* bytes [0, dropped) were madvise'd away */
	bool mapped; /* data is our mmap (else caller's or malloc'ed) */
	bool owned; /* data was malloc'ed by us */
	source_t src; /* a zstd trace inflated (data = src.data), else zeroed */
	uint64_t file_len; /* bytes of the file as given (compressed or not) */
	char *name; /* file name for messages */
	uint32_t version;
	/* Decoder state (reset at PROCESS). */
	uint64_t prev_addr;
	/* Version 2 address model (heaptrail_format.h); allocated on first
	 * use.  The window holds the last HT_AGE_WINDOW allocations by
	 * ordinal mod the window: address and size class in two arrays of
	 * one anonymous mapping (pages never written cost nothing; 9 bytes
	 * an entry, where a struct took 16). */
	uint64_t ord; /* allocations decoded in this image */
	ht_lifo_t *lifo;
	uint64_t *win_addr; /* 0 = never written */
	uint8_t *win_cls; /* ht_size_class of its size */
	uint64_t time_us;
	uint32_t thread;
	uint64_t free_site; /* FREESITE state: the stack id of the frees that
			     * follow, 0 = unknown */
	uint32_t images; /* PROCESS records seen */
	bool saw_end; /* END seen since the last PROCESS */
	bool at_eof;
	bool failed; /* a corrupt record stopped us */
	bool hold; /* keep the scratch arena across records (batch mode) */
	size_t held; /* bytes in the scratch arena (for batch mode's bound) */
	/* Scratch arena for one record's strings and arrays. */
	struct schunk *scratch; /* newest first; pointers into older chunks
				 * stay valid until scratch_reset */
	char err[512];
	/* Follow mode (reader_open_follow): the file is read with pread into
	 * a window holding bytes [base, len) of it, data = win - base, so
	 * that offsets stay file offsets.  No mmap: a file cut back under
	 * a mapping would raise SIGBUS. */
	bool follow;
	int fd; /* the trace (follow mode only) */
	uint8_t *win; /* malloc'ed window, wcap bytes */
	size_t wcap;
	uint64_t base; /* file offset of win[0] */
	uint64_t end_off; /* offset of the last END record decoded */
};

#define WIN_BYTES ((size_t)HT_AGE_WINDOW * (sizeof(uint64_t) + 1))
_Static_assert(HT_NO_CLASS <= 0xff && HT_LIFO_CLASSES <= 0xff,
	       "size classes fit the window's bytes");

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Varint result: 0 ok, 1 input ended inside it (torn), -1 overlong. */
static int get_v(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	if (ht_get_varint(pp, end, out) == 0)
		return 0;
	/* ht_get_varint fails either at the end of input or after 10 bytes
	 * that all have the continuation bit. */
	return (end - *pp) >= 10 ? -1 : 1;
}

/* get_v with the one- to three-byte cases inline: nearly every varint of
 * the hot operations is one of those. */
static inline __attribute__((always_inline)) int
fast_v(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	if (__builtin_expect(p < end && !(p[0] & 0x80), 1)) {
		*out = p[0];
		*pp = p + 1;
		return 0;
	}
	if (end - p >= 3) {
		if (!(p[1] & 0x80)) {
			*out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
			*pp = p + 2;
			return 0;
		}
		/* Stack ids from 16384 on, sizes from 16 KiB on. */
		if (!(p[2] & 0x80)) {
			*out = (uint64_t)(p[0] & 0x7f) |
			       (uint64_t)(p[1] & 0x7f) << 7 | (uint64_t)p[2] << 14;
			*pp = p + 3;
			return 0;
		}
	} else if (end - p == 2 && !(p[1] & 0x80)) {
		*out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		*pp = p + 2;
		return 0;
	}
	return get_v(pp, end, out);
}

#define SCRATCH_CHUNK (64u << 10)

typedef struct schunk {
	struct schunk *next;
	size_t used, cap; /* bytes of data[] */
	max_align_t data[];
} schunk_t;

static void *scratch_alloc(reader_t *r, size_t n)
{
	schunk_t *c = r->scratch;
	n = (n + 15) & ~(size_t)15;
	if (n == 0 || n > ((size_t)1 << 40))
		return NULL;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > SCRATCH_CHUNK ? n : SCRATCH_CHUNK;
		schunk_t *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->next = c;
		nc->used = 0;
		nc->cap = cap;
		r->scratch = c = nc;
	}
	void *p = (uint8_t *)c->data + c->used;
	c->used += n;
	r->held += n;
	return p;
}

/* Empties the arena, keeping one standard chunk for the next record. */
static void scratch_reset(reader_t *r)
{
	schunk_t *keep = NULL;
	while (r->scratch) {
		schunk_t *c = r->scratch;
		r->scratch = c->next;
		if (!keep && c->cap == SCRATCH_CHUNK) {
			keep = c;
			continue;
		}
		free(c);
	}
	if (keep) {
		keep->used = 0;
		keep->next = NULL;
	}
	r->scratch = keep;
	r->held = 0;
}

void reader_hold_scratch(reader_t *r, bool hold)
{
	r->hold = hold;
}

void *reader_take_scratch(reader_t *r)
{
	void *s = r->scratch;
	r->scratch = NULL;
	r->held = 0;
	return s;
}

void reader_scratch_free(void *scratch)
{
	schunk_t *c = scratch;
	while (c) {
		schunk_t *next = c->next;
		free(c);
		c = next;
	}
}

static int init_common(reader_t *r, const char *name, char *err,
		       size_t errlen)
{
	r->name = strdup(name ? name : "<trace>");
	if (!r->name) {
		set_err(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	size_t nl = strlen(r->name);
	if (r->len == 0) {
		set_err(err, errlen,
			"%s: the file is empty; the recording wrote nothing (was the program run under `heaptrail record`?)",
			r->name);
		return -EINVAL;
	}
	/* The index beside a trace is not a trace: name the trace. */
	if (nl > 5 && strcmp(r->name + nl - 5, ".htri") == 0) {
		set_err(err, errlen,
			"%s: this is a trace index, not a trace; give the trace beside it: %.*s",
			r->name, (int)(nl - 1), r->name);
		return -EINVAL;
	}
	r->file_len = r->len;
	if (source_is_zstd(r->data, r->len)) {
		int rc = source_inflate(r->data, r->len, r->name, &r->src, err, errlen);
		if (rc)
			return rc;
		/* The compressed bytes are not needed again. */
		if (r->mapped)
			munmap((void *)r->data, (size_t)r->len);
		else if (r->owned)
			free((void *)r->data);
		r->data = r->src.data;
		r->len = r->src.len;
		/* Dropping pages behind the position is safe only where they
		 * can be read back: the temporary file. */
		r->mapped = r->src.file_backed;
		r->owned = false;
		if (r->len == 0) {
			set_err(err, errlen,
				"%s: the compressed trace holds no complete zstd frame: the recording was cut short before its first write, or the file is damaged; re-record it",
				r->name);
			return -EINVAL;
		}
	}
	size_t nsl = strlen(HT_NOT_STARTED_MAGIC);
	if (r->len > nsl && memcmp(r->data, HT_NOT_STARTED_MAGIC, nsl) == 0) {
		/* The recorder's reason, one line of text (heaptrail_format.h). */
		const char *why = (const char *)r->data + nsl;
		const char *nlp = memchr(why, '\n', r->len - nsl);
		int wl = (int)(nlp ? (size_t)(nlp - why) : r->len - nsl);
		set_err(err, errlen, "%s: no trace: recording did not start: %.*s", r->name,
			wl > 300 ? 300 : wl, why);
		return -EINVAL;
	}
	if (r->len < HT_MAGIC_LEN ||
	    memcmp(r->data, HT_MAGIC, HT_MAGIC_LEN) != 0) {
		set_err(err, errlen,
			"%s: not a heaptrail trace (bad magic); give a .htr file written by `heaptrail record` or libheaptrail.so",
			r->name);
		return -EINVAL;
	}
	if (r->len < HT_HEADER_LEN) {
		set_err(err, errlen,
			"%s: trace header is truncated (%llu of %d bytes); the recording was cut short, re-record it",
			r->name, (unsigned long long)r->len, HT_HEADER_LEN);
		return -EINVAL;
	}
	r->version = ht_get_u32le(r->data + HT_MAGIC_LEN);
	if (r->version < HT_FORMAT_VERSION_MIN || r->version > HT_FORMAT_VERSION) {
		set_err(err, errlen,
			"%s: trace format version %u was made by %s heaptrail; this heaptrail " HEAPTRAIL_VERSION
			" reads versions %u to %u: re-record it with this heaptrail or use a heaptrail that reads version %u",
			r->name, r->version,
			r->version > HT_FORMAT_VERSION ? "a newer" : "an older",
			HT_FORMAT_VERSION_MIN, HT_FORMAT_VERSION, r->version);
		return -EPROTO;
	}
	r->pos = HT_HEADER_LEN;
	return 0;
}

int reader_open_mem(const void *data, size_t len, const char *name,
		    reader_t **out, char *err, size_t errlen)
{
	int rc;
	reader_t *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r) {
		set_err(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	r->data = data;
	r->len = len;
	rc = init_common(r, name, err, errlen);
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	reader_close(r);
	return rc;
}

int reader_open(const char *path, reader_t **out, char *err, size_t errlen)
{
	int rc, fd;
	struct stat st;
	reader_t *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r) {
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* "-" reads the trace from standard input (a pipe is read whole). */
	fd = strcmp(path, "-") == 0 ? fcntl(0, F_DUPFD_CLOEXEC, 3) :
				      open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot open trace: %s", path,
			strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -errno;
		set_err(err, errlen, "%s: cannot read trace: %s", path,
			strerror(-rc));
		close(fd);
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			       fd, 0);
		if (m != MAP_FAILED) {
			r->data = m;
			r->len = (uint64_t)st.st_size;
			r->mapped = true;
			madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
		}
	}
	if (!r->mapped) {
		/* Pipes, empty files, or mmap refused: read it all. */
		size_t cap = 0, n = 0;
		uint8_t *buf = NULL;
		for (;;) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 65536;
				uint8_t *nb = realloc(buf, nc);
				if (!nb) {
					free(buf);
					close(fd);
					rc = -ENOMEM;
					set_err(err, errlen,
						"%s: out of memory", path);
					goto fail;
				}
				buf = nb;
				cap = nc;
			}
			ssize_t k = read(fd, buf + n, cap - n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = -errno;
				set_err(err, errlen, "%s: cannot read trace: %s",
					path, strerror(errno));
				free(buf);
				close(fd);
				goto fail;
			}
			if (k == 0)
				break;
			n += (size_t)k;
		}
		r->data = buf;
		r->len = n;
		r->owned = true;
	}
	close(fd);
	rc = init_common(r, path, err, errlen);
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	reader_close(r);
	return rc;
}

void reader_close(reader_t *r)
{
	if (!r)
		return;
	if (r->src.data)
		source_free(&r->src);
	else if (r->mapped)
		munmap((void *)r->data, (size_t)r->len);
	else if (r->owned)
		free((void *)r->data);
	free(r->win);
	if (r->follow && r->fd >= 0)
		close(r->fd);
	scratch_reset(r);
	free(r->scratch);
	free(r->name);
	if (r->win_addr)
		munmap(r->win_addr, WIN_BYTES);
	free(r->lifo);
	free(r);
}

int reader_seek(reader_t *r, uint64_t offset)
{
	if (offset < HT_HEADER_LEN || offset >= r->len)
		return -EINVAL;
	r->pos = offset;
	return 0;
}

bool reader_truncated(const reader_t *r)
{
	return r->at_eof && !r->saw_end;
}

bool reader_saw_end(const reader_t *r)
{
	return r->saw_end;
}

const char *reader_error(const reader_t *r)
{
	return r->err;
}

uint64_t reader_offset(const reader_t *r)
{
	return r->pos;
}

uint64_t reader_size(const reader_t *r)
{
	return r->len;
}

uint64_t reader_file_bytes(const reader_t *r)
{
	return r->file_len;
}

uint64_t reader_zstd_frames(const reader_t *r)
{
	return r->src.data ? r->src.frames : 0;
}

bool reader_zstd_cut(const reader_t *r)
{
	return r->src.cut;
}

uint32_t reader_version(const reader_t *r)
{
	return r->version;
}

static int corrupt(reader_t *r, uint64_t off, const char *what)
{
	/* A compressed trace's offsets count its decompressed bytes. */
	snprintf(r->err, sizeof(r->err),
		 "%s: corrupt record at byte offset %llu%s (%s); the trace is damaged: re-record it (the events before this offset are intact)",
		 r->name, (unsigned long long)off,
		 r->src.data ? " of the decompressed trace" : "", what);
	r->failed = true;
	return -EBADMSG;
}

/* Out of memory while decoding: the trace is fine, the machine is not. */
static int no_memory(reader_t *r, uint64_t off, const char *what)
{
	snprintf(r->err, sizeof(r->err),
		 "%s: out of memory at byte offset %llu (%s); free some memory and run the command again",
		 r->name, (unsigned long long)off, what);
	r->failed = true;
	return -ENOMEM;
}

/* Body decoding context: a cursor bounded by the record body. */
typedef struct body {
	const uint8_t *p, *end;
	bool bad; /* a field ran past the body */
} body_t;

static uint64_t b_v(body_t *b)
{
	uint64_t v = 0;
	/* fast_v fails exactly where ht_get_varint does. */
	if (b->bad || fast_v(&b->p, b->end, &v) != 0) {
		b->bad = true;
		return 0;
	}
	return v;
}

/* A str field, copied NUL-terminated into scratch. */
static const char *b_str(reader_t *r, body_t *b)
{
	uint64_t n = b_v(b);
	if (b->bad || n > (uint64_t)(b->end - b->p)) {
		b->bad = true;
		return "";
	}
	char *s = scratch_alloc(r, (size_t)n + 1);
	if (!s) {
		b->bad = true;
		return "";
	}
	memcpy(s, b->p, (size_t)n);
	s[n] = 0;
	b->p += n;
	return s;
}

/* A count of items that each take at least `min_bytes` of the body. */
static uint64_t b_count(body_t *b, unsigned min_bytes)
{
	uint64_t n = b_v(b);
	if (!b->bad && n > (uint64_t)(b->end - b->p) / min_bytes)
		b->bad = true;
	return b->bad ? 0 : n;
}

/* How each record type is decoded: the error when its fields run past
 * its body, and for a record whose body is a plain list of fields (the
 * rest need code of their own), those fields: where each goes in the
 * event and whether it is a varint (uint64_t) or a str (const char *). */
typedef struct rec_field {
	uint16_t off; /* offsetof(rd_event_t, u.<record>.<field>) */
	bool str;
} rec_field_t;

typedef struct rec_layout {
	rd_kind_t kind;
	const char *past_body;
	unsigned nfields; /* 0: decoded by decode_fields' switch */
	rec_field_t f[4];
} rec_layout_t;

#define V(rec, field) { offsetof(rd_event_t, u.rec.field), false }
#define S(rec, field) { offsetof(rd_event_t, u.rec.field), true }
static const rec_layout_t layouts[] = {
	[HT_REC_PROCESS] = { RD_PROCESS, "PROCESS fields run past the record", 0, { { 0, false } } },
	[HT_REC_MODULES] = { RD_MODULES, "MODULES fields run past the record", 0, { { 0, false } } },
	[HT_REC_STACK] = { RD_STACK, "STACK fields run past the record", 0, { { 0, false } } },
	[HT_REC_PYCODE] = { RD_PYCODE, "PYCODE fields run past the record", 4,
			    { V(pycode, id), S(pycode, file), S(pycode, function),
			      V(pycode, firstline) } },
	[HT_REC_THREAD] = { RD_THREAD, "THREAD fields run past the record", 3,
			    { V(thread, index), V(thread, tid), S(thread, name) } },
	[HT_REC_SNAPSHOT] = { RD_SNAPSHOT, "SNAPSHOT fields run past the record", 3,
			      { V(snapshot, index), V(snapshot, origin),
				S(snapshot, label) } },
	[HT_REC_RSS] = { RD_RSS, "RSS field runs past the record", 1,
			 { V(rss, bytes) } },
	[HT_REC_LOST] = { RD_LOST, "LOST fields run past the record", 2,
			  { V(lost, count), V(lost, reason) } },
	[HT_REC_EXEC] = { RD_EXEC, "EXEC field runs past the record", 1,
			  { S(exec, path) } },
	[HT_REC_WARNING] = { RD_WARNING, "WARNING field runs past the record", 1,
			     { S(warning, text) } },
	[HT_REC_END] = { RD_END, NULL, 0, { { 0, false } } }, /* fixed-size body */
	[HT_REC_SIGNAL] = { RD_SIGNAL, "SIGNAL field runs past the record", 2,
			    { V(signal, signo), V(signal, time_us) } },
	[HT_REC_MEMORY] = { RD_MEMORY, "MEMORY fields run past the record", 2,
			    { V(memory, peak), V(memory, now) } },
	[HT_REC_CLOCK] = { RD_CLOCK, "CLOCK field runs past the record", 1,
			   { V(clock, resolution_ns) } },
	[HT_REC_AGGREGATE] = { RD_AGGREGATE, "AGGREGATE field runs past the record", 1,
			       { V(aggregate, flags) } },
	[HT_REC_AGG_STATE] = { RD_AGG_STATE, "AGG_STATE fields run past the record", 0,
			       { { 0, false } } },
	[HT_REC_AGG_PEAK] = { RD_AGG_PEAK, "AGG_PEAK fields run past the record", 0,
			      { { 0, false } } },
	[HT_REC_AGG_HEAP] = { RD_AGG_HEAP, "AGG_HEAP fields run past the record", 2,
			      { V(agg_heap, bytes), V(agg_heap, blocks) } },
	[HT_REC_ATTACH] = { RD_ATTACH, "ATTACH fields run past the record", 2,
			    { V(attach, proc_start_ns), V(attach, attacher) } },
	[HT_REC_DETACH] = { RD_DETACH, "DETACH field runs past the record", 1,
			    { V(detach, time_us) } },
};
#undef V
#undef S

/* A record whose layout lists its fields. */
static void decode_plain(reader_t *r, const rec_layout_t *l, body_t *b,
			 rd_event_t *ev)
{
	ev->kind = l->kind;
	for (unsigned k = 0; k < l->nfields; k++) {
		char *at = (char *)ev + l->f[k].off;
		if (l->f[k].str)
			*(const char **)at = b_str(r, b);
		else
			*(uint64_t *)at = b_v(b);
	}
}

/* Fills ev from a record body.  A field that runs past the body only sets
 * b->bad (decode_record turns that into the error).  Returns 1, 0 for an
 * unknown type, or an error. */
/* The site list of AGG_STATE (with_count: each site's allocation count
 * before its bytes allocated) and of AGG_PEAK (without it): varint n, n x
 * { stack, live bytes, live blocks, [allocations,] bytes allocated }. */
static int agg_sites(reader_t *r, body_t *b, const rd_event_t *ev, bool with_count,
		     const rd_agg_site_t **out, size_t *nout)
{
	uint64_t n = b_count(b, with_count ? 5 : 4);
	rd_agg_site_t *s = scratch_alloc(r, (n ? n : 1) * sizeof(*s));
	if (!s)
		return no_memory(r, ev->offset, with_count ? "decoding AGG_STATE" : "decoding AGG_PEAK");
	for (uint64_t i = 0; i < n && !b->bad; i++) {
		s[i].stack = b_v(b);
		s[i].live_bytes = b_v(b);
		s[i].live_count = b_v(b);
		s[i].alloc_count = with_count ? b_v(b) : 0;
		s[i].alloc_bytes = b_v(b);
	}
	*out = s;
	*nout = (size_t)n;
	return 1;
}

static int decode_fields(reader_t *r, uint64_t type, body_t *b,
			 rd_event_t *ev)
{
	if (type < sizeof(layouts) / sizeof(layouts[0]) && layouts[type].nfields) {
		decode_plain(r, &layouts[type], b, ev);
		return 1;
	}
	switch (type) {
	case HT_REC_PROCESS: {
		ev->kind = RD_PROCESS;
		ev->u.process.pid = b_v(b);
		ev->u.process.ppid = b_v(b);
		ev->u.process.start_unix_ns = b_v(b);
		ev->u.process.page_size = b_v(b);
		ev->u.process.version = b_str(r, b);
		ev->u.process.exe = b_str(r, b);
		uint64_t argc = b_count(b, 1);
		const char **argv = scratch_alloc(r, (argc + 1) * sizeof(char *));
		if (!argv)
			return no_memory(r, ev->offset, "decoding PROCESS");
		for (uint64_t i = 0; i < argc && !b->bad; i++)
			argv[i] = b_str(r, b);
		argv[argc] = NULL;
		ev->u.process.argv = argv;
		ev->u.process.argc = argc;
		ev->u.process.flags = b_v(b);
		ev->u.process.image = r->images;
		return 1;
	}
	case HT_REC_MODULES: {
		ev->kind = RD_MODULES;
		ev->u.modules.generation = b_v(b);
		uint64_t n = b_count(b, 4);
		rd_module_t *mods = scratch_alloc(r, (n ? n : 1) * sizeof(*mods));
		if (!mods)
			return no_memory(r, ev->offset, "decoding MODULES");
		for (uint64_t i = 0; i < n && !b->bad; i++) {
			rd_module_t *m = &mods[i];
			m->path = b_str(r, b);
			m->bias = b_v(b);
			uint64_t bl = b_count(b, 1);
			m->build_id_len = (size_t)bl;
			m->build_id = bl ? b->p : NULL;
			if (bl) {
				uint8_t *id = scratch_alloc(r, (size_t)bl);
				if (!id) {
					b->bad = true;
					break;
				}
				memcpy(id, b->p, (size_t)bl);
				m->build_id = id;
				b->p += bl;
			}
			uint64_t ns = b_count(b, 3);
			rd_segment_t *segs = scratch_alloc(r, (ns ? ns : 1) * sizeof(*segs));
			if (!segs) {
				b->bad = true;
				break;
			}
			for (uint64_t k = 0; k < ns && !b->bad; k++) {
				segs[k].vaddr = b_v(b);
				segs[k].memsz = b_v(b);
				segs[k].flags = b_v(b);
			}
			m->segs = segs;
			m->nsegs = (size_t)ns;
		}
		ev->u.modules.mods = mods;
		ev->u.modules.count = (size_t)n;
		return 1;
	}
	case HT_REC_STACK: {
		ev->kind = RD_STACK;
		ev->u.stack.id = b_v(b);
		ev->u.stack.flags = b_v(b);
		uint64_t n = b_count(b, 1);
		uint64_t *ips = scratch_alloc(r, (n ? n : 1) * sizeof(uint64_t));
		if (!ips)
			return no_memory(r, ev->offset, "decoding STACK");
		for (uint64_t i = 0; i < n && !b->bad; i++) {
			uint64_t v = b_v(b);
			ips[i] = i == 0 ? v : ips[i - 1] + (uint64_t)ht_unzigzag(v);
		}
		uint64_t m = b_count(b, 2);
		rd_pyref_t *py = scratch_alloc(r, (m ? m : 1) * sizeof(*py));
		if (!py)
			return no_memory(r, ev->offset, "decoding STACK");
		for (uint64_t i = 0; i < m && !b->bad; i++) {
			py[i].code = b_v(b);
			py[i].line = b_v(b);
		}
		ev->u.stack.ips = ips;
		ev->u.stack.nips = (size_t)n;
		ev->u.stack.py = py;
		ev->u.stack.npy = (size_t)m;
		return 1;
	}
	case HT_REC_AGG_STATE: {
		ev->kind = RD_AGG_STATE;
		ev->u.agg_state.heap_bytes = b_v(b);
		ev->u.agg_state.heap_blocks = b_v(b);
		ev->u.agg_state.allocs = b_v(b);
		ev->u.agg_state.frees = b_v(b);
		ev->u.agg_state.reallocs = b_v(b);
		ev->u.agg_state.unknown_frees = b_v(b);
		ev->u.agg_state.bytes_allocated = b_v(b);
		uint64_t nk = b_count(b, 1);
		for (uint64_t i = 0; i < nk && !b->bad; i++) {
			uint64_t v = b_v(b);
			if (i < HT_KIND_COUNT)
				ev->u.agg_state.by_kind[i] = v;
		}
		for (uint64_t i = nk; i < HT_KIND_COUNT; i++)
			ev->u.agg_state.by_kind[i] = 0;
		return agg_sites(r, b, ev, true, &ev->u.agg_state.sites, &ev->u.agg_state.n);
	}
	case HT_REC_AGG_PEAK: {
		ev->kind = RD_AGG_PEAK;
		ev->u.agg_peak.bytes = b_v(b);
		ev->u.agg_peak.blocks = b_v(b);
		ev->u.agg_peak.time_us = b_v(b);
		return agg_sites(r, b, ev, false, &ev->u.agg_peak.sites, &ev->u.agg_peak.n);
	}
	case HT_REC_FREESITE:
		/* State, not an event: the frees that follow carry it. */
		r->free_site += (uint64_t)ht_unzigzag(b_v(b));
		if (b->bad)
			return corrupt(r, ev->offset, "FREESITE field runs past the record");
		return 0;
	case HT_REC_END:
		ev->kind = RD_END;
		if (b->end - b->p < HT_END_BODY_LEN ||
		    memcmp(b->p + 24, HT_END_MAGIC, 8) != 0)
			return corrupt(r, ev->offset, "END record without its magic");
		ev->u.end.events = ht_get_u64le(b->p);
		ev->u.end.lost = ht_get_u64le(b->p + 8);
		ev->u.end.end_time_us = ht_get_u64le(b->p + 16);
		r->saw_end = true;
		r->end_off = ev->offset;
		return 1;
	default:
		return 0; /* unknown type: skipped (forward compatible) */
	}
}

/* One record: its fields, then the checks and state changes that need
 * them all.  Returns 1, 0 for an unknown type (skipped: forward
 * compatible), or an error. */
static int decode_record(reader_t *r, uint64_t type, body_t *b,
			 rd_event_t *ev)
{
	int rc = decode_fields(r, type, b, ev);
	if (rc <= 0)
		return rc;
	if (b->bad)
		return corrupt(r, ev->offset, layouts[type].past_body);
	if (ev->kind == RD_STACK && ev->u.stack.id == 0)
		return corrupt(r, ev->offset, "STACK with id 0");
	if (ev->kind == RD_PROCESS) {
		r->images++;
		/* A new image restarts the decoder state. */
		r->prev_addr = 0;
		r->ord = 0;
		if (r->lifo)
			memset(r->lifo, 0, sizeof(*r->lifo));
		r->time_us = 0;
		r->thread = 0;
		r->free_site = 0;
		r->saw_end = false;
		ev->time_us = 0;
		ev->thread = 0;
	}
	return 1;
}

/* ---- version 2 address model ---------------------------------------- */

/* Allocates the model on the first version 2 event; false: out of memory. */
static bool model_ready(reader_t *r)
{
	if (r->lifo)
		return true;
	void *w = mmap(NULL, WIN_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return false;
	/* Looked up at random: huge pages spare most TLB misses. */
	madvise(w, WIN_BYTES, MADV_HUGEPAGE);
	r->lifo = calloc(1, sizeof(*r->lifo));
	if (!r->lifo) {
		munmap(w, WIN_BYTES);
		return false;
	}
	r->win_addr = w;
	r->win_cls = (uint8_t *)w + (size_t)HT_AGE_WINDOW * sizeof(uint64_t);
	return true;
}

/* Notes the next allocation. */
static inline void model_new_block(reader_t *r, uint64_t addr, unsigned cls)
{
	uint64_t o = r->ord++ & (HT_AGE_WINDOW - 1);
	r->win_addr[o] = addr;
	r->win_cls[o] = (uint8_t)cls;
}

/* The allocation `age` allocations back: its window index, or -1 when
 * the trace has none there (a corrupt age). */
static inline int64_t model_by_age(const reader_t *r, uint64_t age)
{
	if (age == 0 || age > r->ord || age > HT_AGE_WINDOW)
		return -1;
	uint64_t o = (r->ord - age) & (HT_AGE_WINDOW - 1);
	return r->win_addr[o] ? (int64_t)o : -1;
}

/* The format's lifo operations (heaptrail_format.h) with fixed-size
 * copies, which compile to a few vector moves instead of memmove calls. */
static inline uint64_t lifo_take(uint64_t *row, unsigned j)
{
	uint64_t a = row[j], t[HT_LIFO_DEPTH];
	/* Entries from j on move up one; j is nearly always 0. */
	memcpy(t, row + 1, (HT_LIFO_DEPTH - 1) * sizeof(t[0]));
	t[HT_LIFO_DEPTH - 1] = 0;
	if (j == 0) {
		memcpy(row, t, sizeof(t));
	} else {
		for (unsigned k = j; k < HT_LIFO_DEPTH; k++)
			row[k] = t[k];
	}
	return a;
}

static inline void lifo_push(uint64_t *row, uint64_t addr)
{
	uint64_t t[HT_LIFO_DEPTH];
	memcpy(t, row, sizeof(t));
	memcpy(row + 1, t, sizeof(t) - sizeof(t[0]));
	row[0] = addr;
}

/* The replay's inner loop: decodes hot operations of a version 2 trace
 * into ev[0..max) with the decoder state in locals, exactly as
 * reader_next would.  It stops, before touching any state for it, at
 * anything else (a record, the end, a corrupt or torn operation, pages to
 * drop) and leaves that to reader_next.  Returns the events decoded. */
static size_t decode_hot(reader_t *r, rd_event_t *ev, size_t max)
{
	if (r->failed || r->version < 2 || !r->lifo ||
	    (r->mapped && r->pos - r->dropped >= DROP_EVERY))
		return 0;
	const uint8_t *data = r->data, *end = data + r->len;
	const uint8_t *p = data + r->pos;
	uint64_t prev = r->prev_addr, ord = r->ord, time_us = r->time_us;
	uint32_t thread = r->thread;
	const uint64_t site = r->free_site; /* a record ends this loop */
	uint64_t *win_addr = r->win_addr;
	uint8_t *win_cls = r->win_cls;
	ht_lifo_t *lifo = r->lifo;
	rd_event_t *e = ev, *elim = ev + max;
	while (e < elim) {
		const uint8_t *q = p;
		uint64_t head, v;
		if (fast_v(&q, end, &head))
			break;
		unsigned op = (unsigned)(head & 7);
		uint64_t payload = head >> 3;
		switch (op) {
		case HT_OP_FREE:
			if (payload & 1) {
				uint64_t age = payload >> 1;
				if (age == 0 || age > ord || age > HT_AGE_WINDOW)
					goto stop;
				uint64_t o = (ord - age) & (HT_AGE_WINDOW - 1);
				if (!win_addr[o])
					goto stop;
				prev = win_addr[o];
				if (win_cls[o] != HT_NO_CLASS)
					lifo_push(ht_lifo_row(lifo, thread, win_cls[o]), prev);
			} else {
				prev = ht_addr_decode(payload >> 1, prev);
			}
			e->kind = RD_FREE;
			e->u.free.addr = prev;
			e->u.free.site = site;
			break;
		case HT_OP_MALLOC:
		case HT_OP_ALLOC: {
			uint8_t kind = HT_KIND_MALLOC;
			uint64_t size, stack, align = 0, addr;
			if (op == HT_OP_ALLOC) {
				if (q >= end)
					goto stop;
				kind = *q++;
			}
			if (fast_v(&q, end, &size) || fast_v(&q, end, &stack))
				goto stop;
			if (op == HT_OP_ALLOC &&
			    (kind == HT_KIND_MEMALIGN ||
			     kind == HT_KIND_POSIX_MEMALIGN ||
			     kind == HT_KIND_ALIGNED_ALLOC) &&
			    get_v(&q, end, &align))
				goto stop;
			if (kind >= HT_KIND_COUNT)
				goto stop;
			unsigned cls = ht_size_class(size);
			if (payload & 1) {
				uint64_t j = payload >> 1;
				if (cls == HT_NO_CLASS || j >= HT_LIFO_DEPTH)
					goto stop;
				uint64_t *row = ht_lifo_row(lifo, thread, cls);
				if (!row[j])
					goto stop;
				addr = lifo_take(row, (unsigned)j);
			} else {
				addr = ht_addr_decode(payload >> 1, prev);
			}
			win_addr[ord & (HT_AGE_WINDOW - 1)] = addr;
			win_cls[ord++ & (HT_AGE_WINDOW - 1)] = (uint8_t)cls;
			prev = addr;
			e->kind = RD_ALLOC;
			e->u.alloc.addr = addr;
			e->u.alloc.size = size;
			e->u.alloc.stack = stack;
			e->u.alloc.align = align;
			e->u.alloc.kind = kind;
			break;
		}
		case HT_OP_REALLOC: {
			uint64_t old = ht_addr_decode(payload, prev), size, stack;
			if (fast_v(&q, end, &v) || fast_v(&q, end, &size) ||
			    fast_v(&q, end, &stack))
				goto stop;
			uint64_t nw = ht_addr_decode(v, old);
			win_addr[ord & (HT_AGE_WINDOW - 1)] = nw;
			win_cls[ord++ & (HT_AGE_WINDOW - 1)] = (uint8_t)ht_size_class(size);
			prev = nw;
			e->kind = RD_REALLOC;
			e->u.realloc.old_addr = old;
			e->u.realloc.new_addr = nw;
			e->u.realloc.size = size;
			e->u.realloc.stack = stack;
			break;
		}
		case HT_OP_THREAD:
			thread = payload > UINT32_MAX ? UINT32_MAX : (uint32_t)payload;
			p = q;
			continue;
		case HT_OP_TIME:
			time_us += payload;
			p = q;
			continue;
		default:
			goto stop;
		}
		e->offset = (uint64_t)(p - data);
		e->time_us = time_us;
		e->thread = thread;
		p = q;
		e++;
	}
stop:
	r->pos = (uint64_t)(p - data);
	r->prev_addr = prev;
	r->ord = ord;
	r->time_us = time_us;
	r->thread = thread;
	return (size_t)(e - ev);
}

/* Scratch bytes after which a batch with held records ends. */
#define HOLD_MAX ((size_t)8 << 20)

int reader_next_batch(reader_t *r, rd_event_t *ev, size_t max, size_t *n)
{
	size_t k = 0;
	int rc = 1;
	while (k < max) {
		k += decode_hot(r, ev + k, max - k);
		if (k == max)
			break;
		if ((rc = reader_next(r, &ev[k])) <= 0)
			break;
		k++;
		/* Without hold, the next decode would free this record's
		 * strings and arrays; with it, a batch of big records ends
		 * early, so memory stays a bounded multiple of a record. */
		if (ev[k - 1].kind != RD_ALLOC && ev[k - 1].kind != RD_FREE &&
		    ev[k - 1].kind != RD_REALLOC &&
		    (!r->hold || r->held > HOLD_MAX))
			break;
	}
	*n = k;
	return rc;
}

/* Marks the end of input (clean or torn). */
static int at_end(reader_t *r)
{
	r->at_eof = true;
	return 0;
}

int reader_next(reader_t *r, rd_event_t *ev)
{
	if (r->failed)
		return -EBADMSG;
	for (;;) {
		if (r->pos >= r->len)
			return at_end(r);
		if (r->mapped && r->pos - r->dropped >= DROP_EVERY) {
			uint64_t upto = r->pos & ~(uint64_t)0xfffff;
			madvise((void *)(r->data + r->dropped),
				(size_t)(upto - r->dropped), MADV_DONTNEED);
			r->dropped = upto;
		}
		const uint8_t *start = r->data + r->pos;
		const uint8_t *end = r->data + r->len;
		const uint8_t *p = start;
		uint64_t head, v;
		int g;
		/* Hot operations set every field of their union member; only
		 * extended records start from a zeroed event. */
		ev->offset = r->pos;
		g = fast_v(&p, end, &head);
		if (g)
			goto bad_varint;
		unsigned op = (unsigned)(head & 7);
		uint64_t payload = head >> 3;
		bool model = r->version >= 2 && op <= HT_OP_ALLOC;
		if (model && !model_ready(r))
			return no_memory(r, ev->offset, "the address model");
		switch (op) {
		case HT_OP_FREE:
			ev->kind = RD_FREE;
			if (model && (payload & 1)) {
				/* By age: the block of ordinal ord - age. */
				int64_t w = model_by_age(r, payload >> 1);
				if (w < 0)
					return corrupt(r, ev->offset,
						       "FREE names an allocation the trace does not have");
				r->prev_addr = r->win_addr[w];
				if (r->win_cls[w] != HT_NO_CLASS)
					lifo_push(ht_lifo_row(r->lifo, r->thread, r->win_cls[w]),
						  r->prev_addr);
			} else {
				r->prev_addr = ht_addr_decode(model ? payload >> 1 : payload, r->prev_addr);
			}
			ev->u.free.addr = r->prev_addr;
			ev->u.free.site = r->free_site;
			break;
		case HT_OP_MALLOC:
		case HT_OP_ALLOC: {
			/* Version 2: a lifo position needs the size, decoded below. */
			bool by_lifo = model && (payload & 1);
			uint64_t addr = by_lifo ? 0 :
				ht_addr_decode(model ? payload >> 1 : payload, r->prev_addr);
			uint8_t kind = HT_KIND_MALLOC;
			ev->u.alloc.align = 0;
			if (op == HT_OP_ALLOC) {
				if (p >= end) {
					g = 1;
					goto bad_varint;
				}
				kind = *p++;
			}
			if ((g = fast_v(&p, end, &ev->u.alloc.size)))
				goto bad_varint;
			if ((g = fast_v(&p, end, &ev->u.alloc.stack)))
				goto bad_varint;
			if (op == HT_OP_ALLOC &&
			    (kind == HT_KIND_MEMALIGN ||
			     kind == HT_KIND_POSIX_MEMALIGN ||
			     kind == HT_KIND_ALIGNED_ALLOC) &&
			    (g = get_v(&p, end, &ev->u.alloc.align)))
				goto bad_varint;
			if (kind >= HT_KIND_COUNT)
				return corrupt(r, ev->offset, "unknown allocation kind");
			if (model) {
				unsigned cls = ht_size_class(ev->u.alloc.size);
				if (by_lifo) {
					uint64_t j = payload >> 1;
					uint64_t *row = cls == HT_NO_CLASS ? NULL :
						ht_lifo_row(r->lifo, r->thread, cls);
					if (!row || j >= HT_LIFO_DEPTH || !row[j])
						return corrupt(r, ev->offset,
							       "allocation names a free the trace does not have");
					addr = lifo_take(row, (unsigned)j);
				}
				model_new_block(r, addr, cls);
			}
			r->prev_addr = addr;
			ev->kind = RD_ALLOC;
			ev->u.alloc.addr = addr;
			ev->u.alloc.kind = kind;
			break;
		}
		case HT_OP_REALLOC: {
			uint64_t old = ht_addr_decode(payload, r->prev_addr);
			if ((g = fast_v(&p, end, &v)))
				goto bad_varint;
			uint64_t nw = ht_addr_decode(v, old);
			if ((g = fast_v(&p, end, &ev->u.realloc.size)))
				goto bad_varint;
			if ((g = fast_v(&p, end, &ev->u.realloc.stack)))
				goto bad_varint;
			if (model)
				model_new_block(r, nw, ht_size_class(ev->u.realloc.size));
			r->prev_addr = nw;
			ev->kind = RD_REALLOC;
			ev->u.realloc.old_addr = old;
			ev->u.realloc.new_addr = nw;
			break;
		}
		case HT_OP_THREAD:
			r->thread = payload > UINT32_MAX ? UINT32_MAX : (uint32_t)payload;
			r->pos = (uint64_t)(p - r->data);
			continue;
		case HT_OP_TIME:
			r->time_us += payload;
			r->pos = (uint64_t)(p - r->data);
			continue;
		case HT_OP_RECORD: {
			uint64_t blen;
			if ((g = get_v(&p, end, &blen)))
				goto bad_varint;
			if (blen > (uint64_t)(end - p)) {
				/* Torn by the end of the file (followed: the
				 * rest is still being written; wait here). */
				if (!r->follow)
					r->pos = r->len;
				return at_end(r);
			}
			if (!r->hold)
				scratch_reset(r);
			memset(&ev->u, 0, sizeof(ev->u));
			body_t b = { p, p + blen, false };
			ev->time_us = r->time_us;
			ev->thread = r->thread;
			int rc = decode_record(r, payload, &b, ev);
			if (rc < 0)
				return rc;
			r->pos = (uint64_t)(p + blen - r->data);
			if (rc == 0)
				continue;
			/* PROCESS reset time/thread in decode_record. */
			if (ev->kind == RD_PROCESS) {
				ev->time_us = 0;
				ev->thread = 0;
			}
			return 1;
		}
		default:
			return corrupt(r, ev->offset, "unknown operation 6");
		}
		ev->time_us = r->time_us;
		ev->thread = r->thread;
		r->pos = (uint64_t)(p - r->data);
		return 1;
bad_varint:
		if (g > 0) {
			/* The file ends inside this record: torn, not corrupt
			 * (followed: wait at its start for the rest). */
			if (!r->follow)
				r->pos = r->len;
			return at_end(r);
		}
		return corrupt(r, ev->offset, "over-long varint");
	}
}

/* ---- follow mode ------------------------------------------------------- */

/* The window's first size: most traces are caught up in a few reads; a
 * record longer than the window doubles it. */
#define FOLLOW_WINDOW ((size_t)16 << 20)

/* Reads what the file holds past len (up to size) into the window, after
 * dropping the bytes before pos (nothing reads behind pos in follow mode:
 * no seeks).  Returns the bytes added, or -errno. */
static int64_t follow_fill(reader_t *r, uint64_t size, bool may_grow)
{
	int64_t added = 0;
	while (r->len < size) {
		uint64_t from = r->pos < r->len ? r->pos : r->len;
		size_t keep = (size_t)(r->len - from);
		if (from > r->base) {
			memmove(r->win, r->win + (from - r->base), keep);
			r->base = from;
		}
		if (keep == r->wcap) {
			/* One record fills the window (the reader waited at
			 * it): make room for it. */
			if (!may_grow)
				break;
			uint8_t *nw = realloc(r->win, r->wcap * 2);
			if (!nw)
				return -ENOMEM;
			r->win = nw;
			r->wcap *= 2;
		}
		size_t want = r->wcap - keep;
		if ((uint64_t)want > size - r->len)
			want = (size_t)(size - r->len);
		ssize_t n = pread(r->fd, r->win + keep, want, (off_t)r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* cut back meanwhile: the next refresh sees it */
		r->len += (uint64_t)n;
		added += n;
		/* The reader's offsets stay file offsets. */
		r->data = r->win - r->base;
		if (r->len - r->base == r->wcap)
			break; /* full: the caller decodes, then refreshes */
	}
	r->data = r->win - r->base;
	return added;
}

int reader_open_follow(const char *path, reader_t **out, char *err,
		       size_t errlen)
{
	int rc;
	struct stat st;
	reader_t *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r) {
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r->follow = true;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot open trace: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		set_err(err, errlen,
			"%s: cannot follow it: %s; give the trace file that `heaptrail record` is writing",
			path, S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
		goto fail;
	}
	r->wcap = FOLLOW_WINDOW;
	r->win = malloc(r->wcap);
	if (!r->win) {
		rc = -ENOMEM;
		set_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	r->data = r->win;
	int64_t n = follow_fill(r, (uint64_t)st.st_size, false);
	if (n < 0) {
		rc = (int)n;
		set_err(err, errlen, "%s: cannot read trace: %s", path, strerror((int)-n));
		goto fail;
	}
	/* A zstd frame magic (28 b5 2f fd): a compressed trace is inflated
	 * whole by reader_open; follow mode reads plain records only. */
	if (r->len >= 4 && memcmp(r->win, "\x28\xb5\x2f\xfd", 4) == 0) {
		rc = -ENOTSUP;
		set_err(err, errlen,
			"%s: a compressed trace cannot be followed while it is written; record it without compression to watch it live (the finished trace reads as usual)",
			path);
		goto fail;
	}
	rc = init_common(r, path, err, errlen);
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	reader_close(r);
	return rc;
}

/* Whether the END record decoded last is still in the file: the recorder
 * takes it back when an exec fails (the image goes on writing there). */
static bool end_still_there(reader_t *r)
{
	uint8_t b[HT_END_RECORD_LEN];
	ssize_t n = pread(r->fd, b, sizeof(b), (off_t)r->end_off);
	return n == (ssize_t)sizeof(b) && b[0] == (HT_REC_END << 3 | HT_OP_RECORD) &&
	       b[1] == HT_END_BODY_LEN && memcmp(b + 2 + 24, HT_END_MAGIC, 8) == 0;
}

int64_t reader_refresh(reader_t *r)
{
	struct stat st;
	if (!r->follow || r->failed)
		return 0;
	if (fstat(r->fd, &st) < 0) {
		int e = errno;
		snprintf(r->err, sizeof(r->err), "%s: cannot read trace: %s", r->name,
			 strerror(e));
		return -e;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (r->saw_end && r->pos == r->end_off + HT_END_RECORD_LEN && !end_still_there(r)) {
		/* Resume at the END's place: END changes no decoder state. */
		r->pos = r->len = r->base = r->end_off;
		r->data = r->win - r->base;
		r->saw_end = false;
	}
	if (size < r->pos) {
		/* The recorder cut the file back behind what was decoded (its
		 * writes failed and it ended the trace at an earlier flush). */
		snprintf(r->err, sizeof(r->err),
			 "%s: the trace was cut back to byte %llu, behind the %llu bytes shown (the recorder's writes failed); run the command again on the finished trace",
			 r->name, (unsigned long long)size, (unsigned long long)r->pos);
		r->failed = true;
		return -ESTALE;
	}
	if (size < r->len)
		r->len = size; /* a torn tail taken back: it is rewritten */
	bool waited = r->at_eof;
	r->at_eof = false;
	int64_t n = follow_fill(r, size, waited);
	if (n < 0) {
		snprintf(r->err, sizeof(r->err), "%s: cannot read trace: %s", r->name,
			 n == -ENOMEM ? "out of memory" : strerror((int)-n));
		return n;
	}
	return n;
}

bool reader_following(const reader_t *r)
{
	return r->follow;
}
