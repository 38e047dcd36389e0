/* Trace index: see index.h.  Layout (every number a varint unless said):
 *
 *   8 bytes magic "HTRIDX\r\n", u32 LE INDEX_VERSION, u32 LE 0
 *   key:      trace dev, ino, size, mtime s, ns, ctime s, ns; this binary's
 *             (/proc/self/exe) dev, ino, size, mtime s, ns; a digest
 *             of the trace's content (all of a small trace; else its
 *             first and last 4 KiB, END record included, and 62 blocks
 *             of 4 KiB spread between them)
 *   summary, heap counters, per-stack totals, stack ids, record offsets
 *   notices: count, count x str (the one-time notices already shown)
 *   u32 LE byte length of the notices section
 *   u64 LE checksum of everything before it
 *
 * The notices come last, with their length, so that showing a new one
 * rewrites only them (index_notices_add) rather than the whole analysis.
 *
 * The binary's identity is part of the key because the figures are the
 * analyzer's: a rebuilt or upgraded heaptrail recomputes them rather than
 * trust what another build derived.  Any mismatch, short read or bad
 * checksum makes index_load fail and the caller replay the trace. */
#include "read/index.h"

#include "common/env.h"
#include "read/notices.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heaptrail_format.h"

#define INDEX_MAGIC "HTRIDX\r\n"
/* 10: the summary keeps `aggregated` (record --aggregate traces), the
 * lost events by reason, the Python leaked-at-teardown fields and the
 * attach fields. */
#define INDEX_VERSION 10u
#define INDEX_HDR 16
/* Content digest: whole files up to SAMPLE_ALL bytes, else SAMPLES
 * blocks of SAMPLE_BLOCK bytes evenly spread from the first to the last. */
#define SAMPLE_ALL ((off_t)256 << 10)
#define SAMPLES 64
#define SAMPLE_BLOCK 4096
/* An index is a few bytes per stack; refuse to read anything absurd. */
#define INDEX_MAX_BYTES ((size_t)1 << 31)

typedef struct wbuf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
} wbuf_t;

static void w_need(wbuf_t *b, size_t k)
{
	if (b->oom || b->cap - b->n >= k)
		return;
	size_t nc = b->cap ? b->cap : 65536;
	while (nc - b->n < k)
		nc *= 2;
	uint8_t *np = realloc(b->p, nc);
	if (!np) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = nc;
}

static void w_v(wbuf_t *b, uint64_t v)
{
	w_need(b, HT_VARINT_MAX);
	if (!b->oom)
		b->n += ht_put_varint(b->p + b->n, v);
}

static void w_bytes(wbuf_t *b, const void *src, size_t n)
{
	w_need(b, n);
	if (!b->oom && n) {
		memcpy(b->p + b->n, src, n);
		b->n += n;
	}
}

static void w_str(wbuf_t *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	w_v(b, n);
	w_bytes(b, s, n);
}

typedef struct rbuf {
	const uint8_t *p, *end;
	bool bad;
} rbuf_t;

static uint64_t r_v(rbuf_t *b)
{
	uint64_t v = 0;
	if (b->bad || ht_get_varint(&b->p, b->end, &v) != 0) {
		b->bad = true;
		return 0;
	}
	return v;
}

/* A count of items of at least min_bytes each still in the buffer. */
static size_t r_count(rbuf_t *b, size_t min_bytes)
{
	uint64_t n = r_v(b);
	if (!b->bad && n > (uint64_t)(b->end - b->p) / min_bytes)
		b->bad = true;
	return b->bad ? 0 : (size_t)n;
}

static char *r_str(rbuf_t *b)
{
	size_t n = r_count(b, 1);
	char *s = b->bad ? NULL : malloc(n + 1);
	if (!s) {
		b->bad = true;
		return NULL;
	}
	memcpy(s, b->p, n);
	s[n] = 0;
	b->p += n;
	return s;
}

uint64_t index_checksum(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 31;
	}
	for (; i < n; i++) {
		h = (h ^ p[i]) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
	}
	return h;
}

#define checksum index_checksum

bool index_enabled(void)
{
	const char *e = getenv(HT_ENV_NO_INDEX);
	return !(e && *e && strcmp(e, "0") != 0);
}

int index_sidecar_path(const char *trace, char *buf, size_t len)
{
	size_t n = strlen(trace);
	int w;
	if (n > 4 && strcmp(trace + n - 4, ".htr") == 0)
		w = snprintf(buf, len, "%.*s.htri", (int)(n - 4), trace);
	else
		w = snprintf(buf, len, "%s.htri", trace);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* $XDG_CACHE_HOME/heaptrail, else ~/.cache/heaptrail (created when
 * `create`), and the trace's file name there: DEV-INO.htri. */
static int cache_path(const struct stat *st, bool create, char *buf,
		      size_t len)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];
	int w;
	if (x && x[0] == '/')
		w = snprintf(dir, sizeof(dir), "%s/heaptrail", x);
	else if (home && home[0] == '/')
		w = snprintf(dir, sizeof(dir), "%s/.cache/heaptrail", home);
	else
		return -ENOENT;
	if (w < 0 || (size_t)w >= sizeof(dir))
		return -ENAMETOOLONG;
	if (create) {
		/* ~/.cache may not exist yet either. */
		char *slash = strrchr(dir, '/');
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	w = snprintf(buf, len, "%s/%llx-%llx.htri", dir,
		     (unsigned long long)st->st_dev,
		     (unsigned long long)st->st_ino);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* A digest of the trace's content (see the layout above): with the
 * file's size and times it tells a rewritten trace from the indexed one,
 * for the price of at most 256 KiB read. */
static int content_digest(const char *trace, const struct stat *st,
			  uint64_t *out)
{
	static uint8_t buf[SAMPLE_ALL];
	off_t size = st->st_size, at[SAMPLES];
	size_t len[SAMPLES], n = 0;
	uint64_t h = 0;
	int fd = open(trace, O_RDONLY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (size <= SAMPLE_ALL) {
		at[n] = 0;
		len[n++] = (size_t)size;
	} else {
		for (; n < SAMPLES; n++) {
			at[n] = (off_t)(((uint64_t)size - SAMPLE_BLOCK) * n /
					(SAMPLES - 1));
			len[n] = SAMPLE_BLOCK;
		}
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t k = pread(fd, buf, len[i], at[i]);
		if (k != (ssize_t)len[i]) {
			rc = k < 0 ? -errno : -EIO;
			break;
		}
		h = checksum(buf, len[i]) ^ (h * 0x9e3779b97f4a7c15ULL);
	}
	close(fd);
	*out = h;
	return rc;
}

static void w_key(wbuf_t *b, const struct stat *st, const struct stat *self,
		  uint64_t digest)
{
	w_v(b, st->st_dev);
	w_v(b, st->st_ino);
	w_v(b, (uint64_t)st->st_size);
	w_v(b, (uint64_t)st->st_mtim.tv_sec);
	w_v(b, (uint64_t)st->st_mtim.tv_nsec);
	w_v(b, (uint64_t)st->st_ctim.tv_sec);
	w_v(b, (uint64_t)st->st_ctim.tv_nsec);
	w_v(b, self->st_dev);
	w_v(b, self->st_ino);
	w_v(b, (uint64_t)self->st_size);
	w_v(b, (uint64_t)self->st_mtim.tv_sec);
	w_v(b, (uint64_t)self->st_mtim.tv_nsec);
	w_v(b, digest);
}

/* The fields of the index, each written and read by one list so the two
 * directions cannot disagree.  X(field, codec): U a varint, SIG a signal
 * number stored plus one (-1, an unknown number, too), STR a string.
 * Field by field rather than whole structs, so a layout change of a
 * struct can never be read back shifted. */
#define W_U(b, v) w_v(b, (uint64_t)(v))
#define R_U(b) r_v(b)
#define W_SIG(b, v) w_v(b, (uint64_t)((v) + 1))
#define R_SIG(b) ((int)(r_v(b) & 0xff) - 1)
#define W_STR(b, v) w_str(b, v)
#define R_STR(b) r_str(b)
#define W_FIELD(f, codec) W_##codec(b, s->f);
#define R_FIELD(f, codec) s->f = R_##codec(b);

/* heap_counters_t, then HT_KIND_COUNT and the per-kind counts. */
#define COUNTER_FIELDS(X)                                                   \
	X(allocs, U) X(frees, U) X(reallocs, U) X(unknown_frees, U)         \
	X(unknown_reallocs, U) X(double_allocs, U) X(temporary, U)          \
	X(temporary_bytes, U) X(bytes_allocated, U) X(heap_bytes, U)        \
	X(heap_blocks, U) X(peak_bytes, U) X(peak_blocks, U)                \
	X(peak_time_us, U) X(epoch, U)

/* heap_stack_stat_t: one stack's totals. */
#define STAT_FIELDS(X)                                                      \
	X(live_bytes, U) X(live_count, U) X(peak_bytes, U) X(peak_count, U) \
	X(peak_epoch, U) X(alloc_count, U) X(alloc_bytes, U)                \
	X(temp_count, U) X(temp_bytes, U) X(freed_count, U)               \
	X(freed_bytes, U) X(peak_alloc_bytes, U) X(peak_freed_bytes, U)     \
	X(freed_epoch, U)

/* analysis_summary_t up to its optional last warning and snapshots. */
#define SUMMARY_FIELDS(X)                                                   \
	X(pid, U) X(ppid, U) X(start_unix_ns, U) X(proc_flags, U)           \
	X(images, U) X(end_time_us, U) X(threads, U) X(lost_events, U)      \
	X(rss_max, U) X(rss_max_time_us, U) X(warnings, U)                  \
	X(truncated, U) X(has_end, U) X(fatal_signal, SIG)                  \
	X(end_events, U) X(recorder_peak, U) X(exe, STR) X(cmdline, STR)                        \
	X(recorder_version, STR) X(time_resolution_us, U) X(aggregated, U)   \
	X(lost_signal, U) X(lost_own_alloc, U)                              \
	X(attached, U) X(attach_proc_start_ns, U) X(detached, U) X(detach_time_us, U)

/* analysis_snapshot_t. */
#define SNAPSHOT_FIELDS(X)                                                  \
	X(index, U) X(origin, U) X(label, STR) X(time_us, U)                \
	X(heap_bytes, U) X(heap_blocks, U) X(startup_bytes, U)              \
	X(startup_blocks, U)

static void w_counters(wbuf_t *b, const heap_counters_t *s)
{
	COUNTER_FIELDS(W_FIELD)
	w_v(b, HT_KIND_COUNT);
	for (int k = 0; k < HT_KIND_COUNT; k++)
		w_v(b, s->alloc_kind[k]);
}

static void r_counters(rbuf_t *b, heap_counters_t *s)
{
	COUNTER_FIELDS(R_FIELD)
	if (r_v(b) != HT_KIND_COUNT)
		b->bad = true;
	for (int k = 0; k < HT_KIND_COUNT && !b->bad; k++)
		s->alloc_kind[k] = r_v(b);
}

static void w_stat(wbuf_t *b, const heap_stack_stat_t *s)
{
	STAT_FIELDS(W_FIELD)
}

static void r_stat(rbuf_t *b, heap_stack_stat_t *s)
{
	STAT_FIELDS(R_FIELD)
}

static void w_snapshot(wbuf_t *b, const analysis_snapshot_t *s)
{
	SNAPSHOT_FIELDS(W_FIELD)
}

static void r_snapshot(rbuf_t *b, analysis_snapshot_t *s)
{
	SNAPSHOT_FIELDS(R_FIELD)
}

static void w_summary(wbuf_t *b, const analysis_summary_t *s)
{
	SUMMARY_FIELDS(W_FIELD)
	w_v(b, s->last_warning != NULL);
	if (s->last_warning)
		w_str(b, s->last_warning);
	w_v(b, s->nsnapshots);
	for (size_t i = 0; i < s->nsnapshots; i++)
		w_snapshot(b, &s->snapshots[i]);
}

static void r_summary(rbuf_t *b, analysis_summary_t *s)
{
	SUMMARY_FIELDS(R_FIELD)
	if (r_v(b))
		s->last_warning = r_str(b);
	size_t n = r_count(b, 6);
	analysis_snapshot_t *sn = calloc(n ? n : 1, sizeof(*sn));
	if (!sn) {
		b->bad = true;
		return;
	}
	s->snapshots = sn;
	for (size_t i = 0; i < n && !b->bad; i++) {
		r_snapshot(b, &sn[i]);
		s->nsnapshots = i + 1; /* labels so far are freed on error */
	}
}

static int self_stat(struct stat *self)
{
	return stat("/proc/self/exe", self) < 0 ? -errno : 0;
}

/* Writes buf to path through a temporary file in the same directory. */
static int write_atomic(const char *path, const wbuf_t *b)
{
	char tmp[PATH_MAX + 16];
	int w = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (w < 0 || (size_t)w >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < b->n) {
		ssize_t k = write(fd, b->p + off, b->n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto fail;
		off += (size_t)k;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:;
	int err = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -err;
}

int index_save(const char *trace, const struct stat *st, const index_data_t *d)
{
	wbuf_t b = { 0 };
	struct stat self;
	uint64_t digest;
	char path[PATH_MAX];
	int rc;
	if (strcmp(trace, "-") == 0 || !S_ISREG(st->st_mode))
		return -EINVAL;
	if ((rc = self_stat(&self)) < 0 ||
	    (rc = content_digest(trace, st, &digest)) < 0)
		return rc;
	w_bytes(&b, INDEX_MAGIC, 8);
	uint8_t v[8];
	ht_put_u32le(v, INDEX_VERSION);
	ht_put_u32le(v + 4, 0);
	w_bytes(&b, v, 8);
	w_key(&b, st, &self, digest);
	w_summary(&b, &d->sum);
	w_counters(&b, &d->counters);
	/* The table's length, then its entries up to the last one used (the
	 * rest are zero: a stack's entry, once used, counts an allocation). */
	size_t used = d->nst;
	while (used && !d->st[used - 1].alloc_count &&
	       !memcmp(&d->st[used - 1], &(heap_stack_stat_t){ 0 }, sizeof(*d->st)))
		used--;
	w_v(&b, d->nst);
	w_v(&b, used);
	for (size_t i = 0; i < used; i++)
		w_stat(&b, &d->st[i]);
	w_v(&b, d->nids);
	for (size_t i = 0; i < d->nids; i++)
		w_v(&b, d->ids[i]);
	for (size_t i = 0, prev = 0; i < d->nids; i++) {
		w_v(&b, d->marks[i] - prev); /* nondecreasing */
		prev = d->marks[i];
	}
	w_v(&b, d->ndefs);
	for (size_t i = 0, prev = 0; i < d->ndefs; i++) {
		w_v(&b, d->defs[i] - prev); /* offsets ascend */
		prev = d->defs[i];
	}
	const analysis_states_t *ds = &d->states;
	w_v(&b, ds->states != NULL);
	for (size_t k = 0; ds->states && k < d->sum.nsnapshots; k++) {
		w_v(&b, ds->n[k]);
		w_v(&b, ds->at[k + 1] - ds->at[k]);
		for (uint64_t i = ds->at[k], prev = 0; i < ds->at[k + 1]; i++) {
			const analysis_state_t *e = &ds->states[i];
			w_v(&b, e->sidx - prev); /* ascending */
			w_v(&b, e->bytes);
			w_v(&b, e->count);
			prev = e->sidx;
		}
	}
	size_t notes_at = b.n;
	w_v(&b, d->nnotices);
	for (size_t i = 0; i < d->nnotices; i++)
		w_str(&b, d->notices[i]);
	w_need(&b, 12);
	if (b.oom) {
		rc = -ENOMEM;
		goto done;
	}
	ht_put_u32le(b.p + b.n, (uint32_t)(b.n - notes_at));
	b.n += 4;
	ht_put_u64le(b.p + b.n, checksum(b.p, b.n));
	b.n += 8;
	if ((rc = index_sidecar_path(trace, path, sizeof(path))) == 0 &&
	    (rc = write_atomic(path, &b)) == 0)
		goto done;
	/* The trace's directory is not writable: the cache directory. */
	if ((rc = cache_path(st, true, path, sizeof(path))) == 0)
		rc = write_atomic(path, &b);
done:
	free(b.p);
	return rc;
}

/* Reads a whole index file; NULL when missing or unreadable. */
static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < INDEX_HDR + 8 || (size_t)st.st_size > INDEX_MAX_BYTES)
		goto done;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		goto done;
	size_t off = 0;
	while (off < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + off, (size_t)st.st_size - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(buf);
			buf = NULL;
			goto done;
		}
		off += (size_t)k;
	}
	*len = off;
done:
	close(fd);
	return buf;
}

/* Checks an index file's header, checksum and key against `trace`;
 * *klen = the key's length, *notes = where the notices section starts.
 * Returns 0 or a negative errno. */
static int check(const uint8_t *buf, size_t len, const char *trace,
		 const struct stat *st, size_t *klen, size_t *notes)
{
	struct stat self;
	uint64_t digest;
	int rc;
	if (len < INDEX_HDR + 12 || memcmp(buf, INDEX_MAGIC, 8) != 0 ||
	    ht_get_u32le(buf + 8) != INDEX_VERSION ||
	    ht_get_u64le(buf + len - 8) != checksum(buf, len - 8))
		return -EBADMSG;
	if ((rc = self_stat(&self)) < 0 ||
	    (rc = content_digest(trace, st, &digest)) < 0)
		return rc;
	/* The key is compared as bytes: encode what it must be. */
	wbuf_t k = { 0 };
	w_key(&k, st, &self, digest);
	if (k.oom)
		return -ENOMEM;
	uint32_t nlen = ht_get_u32le(buf + len - 12);
	bool same = len - 12 - INDEX_HDR >= k.n + nlen &&
		    memcmp(buf + INDEX_HDR, k.p, k.n) == 0;
	*klen = k.n;
	*notes = len - 12 - nlen;
	free(k.p);
	return same ? 0 : -ESTALE;
}

/* The notices section [p, end) into d. */
static bool r_notices(rbuf_t *b, index_data_t *d)
{
	size_t n = r_count(b, 1);
	char **list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return false;
	d->notices = (const char *const *)list;
	d->nnotices = n;
	for (size_t i = 0; i < n && !b->bad; i++)
		list[i] = r_str(b);
	return !b->bad && b->p == b->end;
}

static int parse(const uint8_t *buf, size_t len, const char *trace,
		 const struct stat *st, index_data_t *d)
{
	size_t klen, notes;
	int rc = check(buf, len, trace, st, &klen, &notes);
	if (rc < 0)
		return rc;
	rbuf_t nb = { buf + notes, buf + len - 12, false };
	if (!r_notices(&nb, d))
		return -EBADMSG;
	rbuf_t b = { buf + INDEX_HDR + klen, buf + notes, false };
	r_summary(&b, &d->sum);
	r_counters(&b, &d->counters);
	uint64_t nst = r_v(&b);
	size_t n = r_count(&b, 9);
	/* The heap model's table is at most twice its last used entry or
	 * 1024: a larger length is damage (and must not be allocated). */
	if (b.bad || nst < n || nst > (n > 512 ? 2 * (uint64_t)n : 1024))
		return -EBADMSG;
	heap_stack_stat_t *sv = calloc(nst ? nst : 1, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	d->st = sv;
	d->nst = (size_t)nst;
	for (size_t i = 0; i < n && !b.bad; i++)
		r_stat(&b, &sv[i]);
	n = r_count(&b, 2);
	uint64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	uint64_t *marks = malloc((n ? n : 1) * sizeof(*marks));
	d->ids = ids;
	d->marks = marks;
	if (!ids || !marks)
		return -ENOMEM;
	d->nids = n;
	for (size_t i = 0; i < n && !b.bad; i++)
		ids[i] = r_v(&b);
	for (size_t i = 0, prev = 0; i < n && !b.bad; i++)
		prev = marks[i] = prev + r_v(&b);
	n = r_count(&b, 1);
	uint64_t *defs = malloc((n ? n : 1) * sizeof(*defs));
	if (!defs)
		return -ENOMEM;
	d->defs = defs;
	d->ndefs = n;
	for (size_t i = 0, prev = 0; i < n && !b.bad; i++)
		prev = defs[i] = prev + r_v(&b);
	if (r_v(&b) && !b.bad) {
		size_t ns = d->sum.nsnapshots, total = 0;
		uint64_t *at = malloc((ns + 1) * sizeof(*at));
		uint64_t *sn = malloc((ns ? ns : 1) * sizeof(*sn));
		analysis_state_t *st = NULL;
		d->states.at = at;
		d->states.n = sn;
		if (!at || !sn)
			return -ENOMEM;
		at[0] = 0;
		for (size_t k = 0; k < ns && !b.bad; k++) {
			sn[k] = r_v(&b);
			size_t m = r_count(&b, 3);
			analysis_state_t *nst = realloc(st, (total + m + 1) * sizeof(*st));
			if (!nst) {
				free(st);
				return -ENOMEM;
			}
			st = nst;
			for (uint64_t i = 0, prev = 0; i < m && !b.bad; i++) {
				uint64_t s = prev + r_v(&b);
				if (s >= sn[k] || s > UINT32_MAX)
					b.bad = true;
				st[total + i].sidx = (uint32_t)s;
				st[total + i].bytes = r_v(&b);
				st[total + i].count = r_v(&b);
				prev = s;
			}
			total += m;
			at[k + 1] = total;
		}
		d->states.states = st ? st : malloc(sizeof(*st));
		if (!d->states.states)
			return -ENOMEM;
	}
	if (b.bad || b.p != b.end)
		return -EBADMSG;
	return 0;
}

int index_load(const char *trace, const struct stat *st, index_data_t *d)
{
	char path[PATH_MAX];
	int rc = -ENOENT;
	memset(d, 0, sizeof(*d));
	if (strcmp(trace, "-") == 0 || !S_ISREG(st->st_mode))
		return -EINVAL;
	for (int where = 0; where < 2; where++) {
		size_t len = 0;
		uint8_t *buf;
		if (where == 0 ? index_sidecar_path(trace, path, sizeof(path)) :
				 cache_path(st, false, path, sizeof(path)))
			continue;
		if (!(buf = read_file(path, &len)))
			continue;
		rc = parse(buf, len, trace, st, d);
		free(buf);
		if (rc == 0)
			return 0;
		index_data_free(d);
	}
	return rc;
}

void index_data_free(index_data_t *d)
{
	free((char *)d->sum.exe);
	free((char *)d->sum.cmdline);
	free((char *)d->sum.recorder_version);
	free((char *)d->sum.last_warning);
	for (size_t i = 0; i < d->sum.nsnapshots; i++)
		free(d->sum.snapshots[i].label);
	free((void *)d->sum.snapshots);
	free((void *)d->st);
	free((void *)d->ids);
	free((void *)d->marks);
	free((void *)d->defs);
	free((void *)d->states.states);
	free((void *)d->states.at);
	free((void *)d->states.n);
	for (size_t i = 0; d->notices && i < d->nnotices; i++)
		free((char *)d->notices[i]);
	free((void *)d->notices);
	memset(d, 0, sizeof(*d));
}

/* The index file of `trace` that matches it: its path and bytes (free
 * them), the key's length and where the notices start.  NULL when none. */
static uint8_t *find_valid(const char *trace, const struct stat *st, char *path,
			   size_t *len, size_t *notes)
{
	if (strcmp(trace, "-") == 0 || !S_ISREG(st->st_mode))
		return NULL;
	for (int where = 0; where < 2; where++) {
		size_t klen;
		uint8_t *buf;
		if (where == 0 ? index_sidecar_path(trace, path, PATH_MAX) :
				 cache_path(st, false, path, PATH_MAX))
			continue;
		if (!(buf = read_file(path, len)))
			continue;
		if (check(buf, *len, trace, st, &klen, notes) == 0)
			return buf;
		free(buf);
	}
	return NULL;
}

int index_notices_load(const char *trace, const struct stat *st, char ***list, size_t *n)
{
	char path[PATH_MAX];
	size_t len, notes;
	index_data_t d = { 0 };
	*list = NULL;
	*n = 0;
	uint8_t *buf = find_valid(trace, st, path, &len, &notes);
	if (!buf)
		return -ENOENT;
	rbuf_t b = { buf + notes, buf + len - 12, false };
	bool ok = r_notices(&b, &d);
	free(buf);
	if (!ok) {
		index_data_free(&d);
		return -EBADMSG;
	}
	*list = (char **)d.notices;
	*n = d.nnotices;
	return 0;
}

int index_notices_set(const char *trace, const struct stat *st, const char *const *list,
		      size_t n)
{
	char path[PATH_MAX];
	size_t len, notes;
	uint8_t *buf = find_valid(trace, st, path, &len, &notes);
	if (!buf)
		return -ENOENT;
	wbuf_t b = { 0 };
	w_bytes(&b, buf, notes);
	free(buf);
	w_v(&b, n);
	for (size_t i = 0; i < n; i++)
		w_str(&b, list[i]);
	w_need(&b, 12);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	ht_put_u32le(b.p + b.n, (uint32_t)(b.n - notes));
	b.n += 4;
	ht_put_u64le(b.p + b.n, checksum(b.p, b.n));
	b.n += 8;
	int rc = write_atomic(path, &b);
	free(b.p);
	return rc;
}

/* --- an analysis through the index --------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void index_save_analysis(const analysis_t *an, const char *path,
			 const struct stat *before)
{
	const analysis_summary_t *s = analysis_summary(an);
	const stacks_t *stacks = analysis_stacks(an);
	const heap_t *heap = analysis_heap(an);
	struct stat now;
	index_data_t d = { 0 };
	uint64_t *ids;
	size_t nmarks;
	if (stat(path, &now) < 0 || !same_file(before, &now) ||
	    s->file_bytes != (uint64_t)now.st_size)
		return;
	d.nids = stacks_count(stacks);
	ids = malloc((d.nids ? d.nids : 1) * sizeof(*ids));
	if (!ids)
		return;
	for (size_t i = 0; i < d.nids; i++)
		ids[i] = stacks_get(stacks, (sidx_t)i)->id;
	d.ids = ids;
	d.sum = *s;
	d.counters = *heap_counters(heap);
	d.st = heap_stack_stats(heap, &d.nst);
	analysis_defs(an, &d.defs, &d.ndefs, &d.marks, &nmarks);
	if (nmarks != d.nids) {
		free(ids);
		return;
	}
	if (!analysis_states(an, &d.states))
		d.states.states = NULL;
	d.nnotices = notices_list(path, &d.notices);
	index_save(path, before, &d);
	free(ids);
}

analysis_t *index_open(const char *path, bool need_states)
{
	struct stat st;
	index_data_t d = { 0 };
	analysis_t *an = NULL;
	char err[1024];
	if (!index_enabled() || strcmp(path, "-") == 0 ||
	    stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    index_load(path, &st, &d) < 0)
		return NULL;
	int rc = -ENOENT;
	if (d.states.states || !need_states) {
		rc = analysis_open(&an, path, err, sizeof(err));
		if (rc == 0 &&
		    analysis_summary(an)->file_bytes == (uint64_t)st.st_size)
			rc = analysis_restore(an, &d);
		else if (rc == 0)
			rc = -ESTALE;
	}
	index_data_free(&d);
	if (rc == 0)
		return an;
	analysis_free(an);
	return NULL;
}
