/* decode_helper: a tiny .htr decoder for the recorder's unit tests, written
 * from include/heaptrail_format.h (independent of the analyzer's reader).
 * Header-only; single-threaded. */
#ifndef HT_TEST_DECODE_HELPER_H
#define HT_TEST_DECODE_HELPER_H

#include "heaptrail_format.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* kind: HT_OP_* for hot ops, DREC_REC + HT_REC_* for extended records. */
#define DREC_REC 100

typedef struct drec {
	int kind;
	uint64_t a, b, c, d, e; /* fields in record order (see decode_one) */
	char s[256]; /* first string field */
	uint64_t frames[8]; /* STACK: first native frames */
} drec_t;

static inline int dec_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	uint64_t n;
	if (ht_get_varint(p, end, &n) || n > (uint64_t)(end - *p))
		return -1;
	if (out) {
		size_t k = n < cap - 1 ? n : cap - 1;
		memcpy(out, *p, k);
		out[k] = 0;
	}
	*p += n;
	return 0;
}

/* The version 2 address model, as the format header describes it. */
typedef struct dmodel {
	uint64_t ord, thread;
	ht_lifo_t lifo;
	uint64_t win_addr[HT_AGE_WINDOW];
	uint8_t win_cls[HT_AGE_WINDOW];
} dmodel_t;

static inline void dmodel_new_block(dmodel_t *m, uint64_t addr, uint64_t size)
{
	uint64_t s = m->ord++ & (HT_AGE_WINDOW - 1);
	m->win_addr[s] = addr;
	m->win_cls[s] = (uint8_t)ht_size_class(size);
}

/* Decodes one address payload of a FREE (size unused) or an allocation of
 * size; -1 on a reference the model does not have. */
static inline int dmodel_addr(dmodel_t *m, int is_free, uint64_t pl, uint64_t size,
			      uint64_t *prev)
{
	if (!(pl & 1)) {
		*prev = ht_addr_decode(pl >> 1, *prev);
		return 0;
	}
	if (is_free) {
		uint64_t age = pl >> 1;
		if (!age || age > m->ord || age > HT_AGE_WINDOW)
			return -1;
		uint64_t s = (m->ord - age) & (HT_AGE_WINDOW - 1);
		*prev = m->win_addr[s];
		if (m->win_cls[s] != HT_NO_CLASS)
			ht_lifo_push(ht_lifo_row(&m->lifo, (uint32_t)m->thread, m->win_cls[s]), *prev);
		return 0;
	}
	unsigned cls = ht_size_class(size);
	if (cls == HT_NO_CLASS || (pl >> 1) >= HT_LIFO_DEPTH)
		return -1;
	uint64_t *row = ht_lifo_row(&m->lifo, (uint32_t)m->thread, cls);
	if (!row[pl >> 1])
		return -1;
	*prev = ht_lifo_take(row, (unsigned)(pl >> 1));
	return 0;
}

/* Decodes the whole file image (header included); returns the record count
 * or -1 on malformed input. */
static inline int decode_all(const uint8_t *buf, size_t len, drec_t *out, int max)
{
	if (len < HT_HEADER_LEN || memcmp(buf, HT_MAGIC, HT_MAGIC_LEN) ||
	    ht_get_u32le(buf + 8) != HT_FORMAT_VERSION)
		return -1;
	const uint8_t *p = buf + HT_HEADER_LEN, *end = buf + len;
	uint64_t prev = 0;
	static dmodel_t md; /* 25 MB: static, one decode at a time */
	memset(&md, 0, sizeof(md));
	int n = 0;
	while (p < end && n < max) {
		drec_t *r = &out[n++];
		memset(r, 0, sizeof(*r));
		uint64_t head, v;
		if (ht_get_varint(&p, end, &head))
			return -1;
		unsigned op = head & 7;
		uint64_t pl = head >> 3;
		r->kind = (int)op;
		switch (op) {
		case HT_OP_FREE:
			if (dmodel_addr(&md, 1, pl, 0, &prev))
				return -1;
			r->a = prev;
			break;
		case HT_OP_MALLOC:
			if (ht_get_varint(&p, end, &r->b) || ht_get_varint(&p, end, &r->c) ||
			    dmodel_addr(&md, 0, pl, r->b, &prev))
				return -1;
			r->a = prev;
			dmodel_new_block(&md, prev, r->b);
			break;
		case HT_OP_REALLOC:
			r->a = ht_addr_decode(pl, prev);
			if (ht_get_varint(&p, end, &v))
				return -1;
			prev = r->b = ht_addr_decode(v, r->a);
			if (ht_get_varint(&p, end, &r->c) || ht_get_varint(&p, end, &r->d))
				return -1;
			dmodel_new_block(&md, prev, r->c);
			break;
		case HT_OP_ALLOC:
			if (p >= end)
				return -1;
			r->d = *p++;
			if (ht_get_varint(&p, end, &r->b) || ht_get_varint(&p, end, &r->c) ||
			    dmodel_addr(&md, 0, pl, r->b, &prev))
				return -1;
			r->a = prev;
			dmodel_new_block(&md, prev, r->b);
			if ((r->d == HT_KIND_MEMALIGN || r->d == HT_KIND_POSIX_MEMALIGN ||
			     r->d == HT_KIND_ALIGNED_ALLOC) &&
			    ht_get_varint(&p, end, &r->e))
				return -1;
			break;
		case HT_OP_THREAD:
			md.thread = pl;
			r->a = pl;
			break;
		case HT_OP_TIME:
			r->a = pl;
			break;
		case HT_OP_RECORD: {
			uint64_t blen;
			if (ht_get_varint(&p, end, &blen) || blen > (uint64_t)(end - p))
				return -1;
			const uint8_t *q = p, *bend = p + blen;
			p = bend;
			r->kind = DREC_REC + (int)pl;
			switch (pl) {
			case HT_REC_PROCESS: {
				uint64_t ppid, st, ps, argc;
				if (ht_get_varint(&q, bend, &r->a) || ht_get_varint(&q, bend, &ppid) ||
				    ht_get_varint(&q, bend, &st) || ht_get_varint(&q, bend, &ps) ||
				    dec_str(&q, bend, NULL, 0) || dec_str(&q, bend, r->s, sizeof(r->s)) ||
				    ht_get_varint(&q, bend, &argc))
					return -1;
				for (uint64_t i = 0; i < argc; i++)
					if (dec_str(&q, bend, NULL, 0))
						return -1;
				if (ht_get_varint(&q, bend, &r->b))
					return -1;
				r->c = argc;
				prev = 0;
				md.ord = 0;
				md.thread = 0;
				memset(&md.lifo, 0, sizeof(md.lifo));
				break;
			}
			case HT_REC_MODULES:
				if (ht_get_varint(&q, bend, &r->a) || ht_get_varint(&q, bend, &r->b))
					return -1;
				q = bend;
				break;
			case HT_REC_STACK: {
				if (ht_get_varint(&q, bend, &r->a) || ht_get_varint(&q, bend, &r->b) ||
				    ht_get_varint(&q, bend, &r->c))
					return -1;
				uint64_t ip = 0;
				for (uint64_t i = 0; i < r->c; i++) {
					if (ht_get_varint(&q, bend, &v))
						return -1;
					ip = i == 0 ? v : ip + (uint64_t)ht_unzigzag(v);
					if (i < 8)
						r->frames[i] = ip;
				}
				if (ht_get_varint(&q, bend, &r->e))
					return -1;
				for (uint64_t i = 0; i < 2 * r->e; i++)
					if (ht_get_varint(&q, bend, &v))
						return -1;
				break;
			}
			case HT_REC_PYCODE:
				if (ht_get_varint(&q, bend, &r->a) || dec_str(&q, bend, r->s, sizeof(r->s)))
					return -1;
				q = bend;
				break;
			case HT_REC_THREAD:
				if (ht_get_varint(&q, bend, &r->a) || ht_get_varint(&q, bend, &r->b) ||
				    dec_str(&q, bend, r->s, sizeof(r->s)))
					return -1;
				break;
			case HT_REC_SNAPSHOT:
				if (ht_get_varint(&q, bend, &r->a) || ht_get_varint(&q, bend, &r->b) ||
				    dec_str(&q, bend, r->s, sizeof(r->s)))
					return -1;
				break;
			case HT_REC_RSS:
				if (ht_get_varint(&q, bend, &r->a))
					return -1;
				break;
			case HT_REC_MEMORY:
			case HT_REC_LOST:
				if (ht_get_varint(&q, bend, &r->a) || ht_get_varint(&q, bend, &r->b))
					return -1;
				break;
			case HT_REC_EXEC:
			case HT_REC_WARNING:
				if (dec_str(&q, bend, r->s, sizeof(r->s)))
					return -1;
				break;
			case HT_REC_END:
				if (blen != HT_END_BODY_LEN || memcmp(q + 24, HT_END_MAGIC, 8))
					return -1;
				r->a = ht_get_u64le(q);
				r->b = ht_get_u64le(q + 8);
				r->c = ht_get_u64le(q + 16);
				q = bend;
				break;
			default:
				q = bend;
			}
			if (q != bend)
				return -1; /* body length disagrees with its fields */
			break;
		}
		default:
			return -1;
		}
	}
	return n;
}

/* Reads a whole file into a malloc'd buffer. */
static inline uint8_t *slurp_fd(int fd, size_t *len)
{
	FILE *f = fdopen(dup(fd), "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

/* Index of the first record of kind at or after from, -1 if none. */
static inline int find_kind(const drec_t *r, int n, int from, int kind)
{
	for (int i = from; i < n; i++)
		if (r[i].kind == kind)
			return i;
	return -1;
}

#endif /* HT_TEST_DECODE_HELPER_H */
