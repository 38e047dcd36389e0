/* pprof export: see export_pprof.h.
 *
 * The encoder is hand-written and covers only the protobuf wire format
 * this message needs: varints (wire type 0), length-delimited fields
 * (wire type 2: strings, sub-messages, packed repeated integers).  A
 * sub-message is encoded into a scratch buffer first, then copied behind
 * its length.  Example, ValueType{type=1, unit=2} as field 1 of Profile:
 *
 *   0a 04  08 01  10 02
 *   |  |   |      `- field 2 (unit), varint 2
 *   |  |   `- field 1 (type), varint 1
 *   |  `- length 4
 *   `- field 1, wire type 2
 *
 * The whole profile is then gzipped with zlib (deflate, gzip header). */
#include "render/export_pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "render/report.h"

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
} buf_t;

static void b_put(buf_t *b, const void *data, size_t len)
{
	if (b->oom)
		return;
	if (b->n + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + len)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
}

static void b_varint(buf_t *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t k = 0;
	do {
		tmp[k] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[k] |= 0x80;
		k++;
	} while (v);
	b_put(b, tmp, k);
}

/* Field `num` with a varint value (omitted when 0, as proto3 does). */
static void f_varint(buf_t *b, unsigned num, uint64_t v)
{
	if (!v)
		return;
	b_varint(b, (uint64_t)num << 3);
	b_varint(b, v);
}

/* Field `num`, length-delimited. */
static void f_bytes(buf_t *b, unsigned num, const void *data, size_t len)
{
	b_varint(b, (uint64_t)num << 3 | 2);
	b_varint(b, len);
	b_put(b, data, len);
}

/* --- string and id tables ------------------------------------------- */

/* Interning: string -> index (string_table), and key -> id for functions
 * (name, file) and locations (function, line, address).  Open addressing
 * over FNV-1a hashes of the key bytes. */
typedef struct intern {
	char **keys; /* owned copies, NULL = empty slot */
	size_t *keylen;
	uint64_t *ids; /* 0-based order of insertion */
	size_t cap, n;
} intern_t;

static uint64_t fnv(const void *k, size_t len)
{
	const uint8_t *p = k;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int in_grow(intern_t *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	char **keys = calloc(cap, sizeof(*keys));
	size_t *kl = calloc(cap, sizeof(*kl));
	uint64_t *ids = calloc(cap, sizeof(*ids));
	if (!keys || !kl || !ids) {
		free(keys);
		free(kl);
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->keys[i])
			continue;
		size_t j = fnv(t->keys[i], t->keylen[i]) & (cap - 1);
		while (keys[j])
			j = (j + 1) & (cap - 1);
		keys[j] = t->keys[i];
		kl[j] = t->keylen[i];
		ids[j] = t->ids[i];
	}
	free(t->keys);
	free(t->keylen);
	free(t->ids);
	t->keys = keys;
	t->keylen = kl;
	t->ids = ids;
	t->cap = cap;
	return 0;
}

/* Id of key (new ones get t->n, and *added is set).  Negative errno. */
static int64_t in_get(intern_t *t, const void *key, size_t len, bool *added)
{
	*added = false;
	if ((t->n + 1) * 2 > t->cap && in_grow(t) < 0)
		return -ENOMEM;
	size_t j = fnv(key, len) & (t->cap - 1);
	while (t->keys[j]) {
		if (t->keylen[j] == len && memcmp(t->keys[j], key, len) == 0)
			return (int64_t)t->ids[j];
		j = (j + 1) & (t->cap - 1);
	}
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, len);
	t->keys[j] = copy;
	t->keylen[j] = len;
	t->ids[j] = t->n;
	*added = true;
	return (int64_t)t->n++;
}

static void in_free(intern_t *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->keylen);
	free(t->ids);
}

typedef struct pp {
	buf_t out; /* Profile message */
	buf_t tmp, tmp2; /* scratch for sub-messages */
	intern_t strs, funcs, locs;
} pp_t;

/* string_table index of s (appending it to the profile when new). */
static int64_t str_id(pp_t *p, const char *s)
{
	bool added;
	size_t len = strlen(s);
	int64_t id = in_get(&p->strs, s, len, &added);
	if (id >= 0 && added)
		f_bytes(&p->out, 6, s, len);
	return id;
}

/* Function id (1-based) for (name, file). */
static int64_t func_id(pp_t *p, const char *name, const char *file)
{
	char key[1024];
	int len = snprintf(key, sizeof(key), "%s%c%s", name, 0, file);
	if (len < 0 || (size_t)len >= sizeof(key))
		len = sizeof(key) - 1;
	bool added;
	int64_t id = in_get(&p->funcs, key, (size_t)len, &added);
	if (id < 0 || !added)
		return id < 0 ? id : id + 1;
	int64_t sn = str_id(p, name), sf = str_id(p, file);
	if (sn < 0 || sf < 0)
		return -ENOMEM;
	p->tmp.n = 0;
	f_varint(&p->tmp, 1, (uint64_t)id + 1);
	f_varint(&p->tmp, 2, (uint64_t)sn);
	f_varint(&p->tmp, 3, (uint64_t)sn);
	f_varint(&p->tmp, 4, (uint64_t)sf);
	f_bytes(&p->out, 5, p->tmp.p, p->tmp.n);
	return id + 1;
}

/* Location id (1-based) of a display frame. */
static int64_t loc_id(pp_t *p, frames_t *f, const frame_t *fr)
{
	char name[512];
	report_frame_key(name, sizeof(name), f, fr, BY_FUNCTION);
	const char *file = fr->file ? fr->file : "";
	int64_t fid = func_id(p, name, file);
	if (fid < 0)
		return fid;
	struct {
		int64_t fid;
		uint64_t line, addr;
	} key = { fid, fr->line, fr->address };
	bool added;
	int64_t id = in_get(&p->locs, &key, sizeof(key), &added);
	if (id < 0 || !added)
		return id < 0 ? id : id + 1;
	buf_t *line = &p->tmp, *loc = &p->tmp2;
	line->n = loc->n = 0;
	f_varint(line, 1, (uint64_t)fid);
	f_varint(line, 2, fr->line);
	f_varint(loc, 1, (uint64_t)id + 1);
	f_varint(loc, 3, fr->address);
	f_bytes(loc, 4, line->p ? line->p : (uint8_t *)"", line->n);
	f_bytes(&p->out, 4, loc->p, loc->n);
	return id + 1;
}

/* ValueType{type, unit} as field `num` of Profile. */
static int value_type(pp_t *p, unsigned num, const char *type, const char *unit)
{
	int64_t t = str_id(p, type), u = str_id(p, unit);
	if (t < 0 || u < 0)
		return -ENOMEM;
	p->tmp.n = 0;
	f_varint(&p->tmp, 1, (uint64_t)t);
	f_varint(&p->tmp, 2, (uint64_t)u);
	f_bytes(&p->out, num, p->tmp.p, p->tmp.n);
	return 0;
}

static int gzip_out(FILE *out, const buf_t *b)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer, not zlib's. */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	uint8_t chunk[65536];
	z.next_in = b->p;
	z.avail_in = (uInt)b->n;
	int zr;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			break;
		fwrite(chunk, 1, sizeof(chunk) - z.avail_out, out);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	if (zr != Z_STREAM_END)
		return -EIO;
	return ferror(out) ? -EIO : 0;
}

int pprof_write(FILE *out, const pprof_input_t *in)
{
	pp_t p;
	memset(&p, 0, sizeof(p));
	int rc = -ENOMEM;
	/* The profile exceeds 4 GiB only for absurd inputs; deflate's
	 * avail_in is 32-bit. */
	if (str_id(&p, "") < 0)
		goto fail;
	if (value_type(&p, 1, "alloc_objects", "count") < 0 ||
	    value_type(&p, 1, "alloc_space", "bytes") < 0 ||
	    value_type(&p, 1, "inuse_objects", "count") < 0 ||
	    value_type(&p, 1, "inuse_space", "bytes") < 0)
		goto fail;
	size_t n = in->nst > in->ninuse ? in->nst : in->ninuse;
	uint64_t *ids = NULL;
	size_t idcap = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t v[4] = {
			i < in->nst ? in->st[i].alloc_count : 0,
			i < in->nst ? in->st[i].alloc_bytes : 0,
			i < in->ninuse ? in->inuse_count[i] : 0,
			i < in->ninuse ? in->inuse_bytes[i] : 0,
		};
		if (!(v[0] | v[1] | v[2] | v[3]))
			continue;
		const frame_t *fr;
		int k = frames_get(in->frames, (sidx_t)i, &fr);
		if (k < 0) {
			rc = k;
			free(ids);
			goto fail;
		}
		frame_t unknown = { 0 };
		if (k == 0) {
			fr = &unknown;
			k = 1;
		}
		if ((size_t)k > idcap) {
			uint64_t *q = realloc(ids, (size_t)k * sizeof(*ids));
			if (!q) {
				free(ids);
				goto fail;
			}
			ids = q;
			idcap = (size_t)k;
		}
		for (int j = 0; j < k; j++) {
			int64_t id = loc_id(&p, in->frames, &fr[j]);
			if (id < 0) {
				free(ids);
				goto fail;
			}
			ids[j] = (uint64_t)id;
		}
		/* Sample: location_id (1, packed, leaf first), value (2, packed). */
		buf_t *packed = &p.tmp, *smp = &p.tmp2;
		smp->n = 0;
		packed->n = 0;
		for (int j = 0; j < k; j++)
			b_varint(packed, ids[j]);
		f_bytes(smp, 1, packed->p, packed->n);
		packed->n = 0;
		for (int j = 0; j < 4; j++)
			b_varint(packed, v[j]);
		f_bytes(smp, 2, packed->p, packed->n);
		f_bytes(&p.out, 2, smp->p, smp->n);
	}
	free(ids);
	f_varint(&p.out, 9, in->time_unix_ns);
	f_varint(&p.out, 10, in->duration_ns);
	if (value_type(&p, 11, "space", "bytes") < 0)
		goto fail;
	int64_t def = str_id(&p, "inuse_space");
	if (def < 0)
		goto fail;
	f_varint(&p.out, 14, (uint64_t)def);
	if (p.out.oom || p.tmp.oom || p.tmp2.oom)
		goto fail;
	rc = gzip_out(out, &p.out);
fail:
	free(p.out.p);
	free(p.tmp.p);
	free(p.tmp2.p);
	in_free(&p.strs);
	in_free(&p.funcs);
	in_free(&p.locs);
	return rc;
}
