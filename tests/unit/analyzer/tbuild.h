/* Test helper: builds .htr traces in memory with the format's own codec, so
 * analyzer tests feed exact synthetic event scripts (no process, no
 * preload).  Header-only; each test owns its tb_t. */
#ifndef HEAPTRAIL_TEST_TBUILD_H
#define HEAPTRAIL_TEST_TBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heaptrail_format.h"

typedef struct tb {
	uint8_t *buf;
	size_t len, cap;
	uint64_t prev; /* prev_addr of the decoder state */
	uint64_t site; /* free_site of the decoder state */
	uint8_t body[65536]; /* extended record body being built (tests keep
			      * bodies below this) */
	size_t blen;
} tb_t;

static inline void tb_need(tb_t *t, size_t n)
{
	if (t->len + n <= t->cap)
		return;
	size_t nc = t->cap ? t->cap * 2 : 4096;
	while (nc < t->len + n)
		nc *= 2;
	t->buf = realloc(t->buf, nc);
	t->cap = nc;
}

static inline void tb_bytes(tb_t *t, const void *p, size_t n)
{
	tb_need(t, n);
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static inline void tb_v(tb_t *t, uint64_t v)
{
	tb_need(t, HT_VARINT_MAX);
	t->len += ht_put_varint(t->buf + t->len, v);
}

static inline void tb_header_v(tb_t *t, uint32_t version)
{
	uint8_t h[HT_HEADER_LEN];
	memcpy(h, HT_MAGIC, HT_MAGIC_LEN);
	ht_put_u32le(h + 8, version);
	ht_put_u32le(h + 12, 0);
	tb_bytes(t, h, sizeof(h));
}

/* A fresh trace with a valid header: version 1, because the builders
 * below code every address as an addr code, as version 1 does (version 2's
 * address model is tested with hand-made bytes in test_reader.c). */
static inline void tb_init(tb_t *t)
{
	memset(t, 0, sizeof(*t));
	tb_header_v(t, 1);
}

static inline void tb_fini(tb_t *t)
{
	free(t->buf);
	t->buf = NULL;
}

/* --- hot ops ----------------------------------------------------------- */
static inline void tb_malloc(tb_t *t, uint64_t addr, uint64_t size,
			     uint64_t stack)
{
	tb_v(t, ht_addr_code(addr, t->prev) << 3 | HT_OP_MALLOC);
	t->prev = addr;
	tb_v(t, size);
	tb_v(t, stack);
}

static inline void tb_alloc(tb_t *t, uint8_t kind, uint64_t addr,
			    uint64_t size, uint64_t stack, uint64_t align)
{
	tb_v(t, ht_addr_code(addr, t->prev) << 3 | HT_OP_ALLOC);
	t->prev = addr;
	tb_bytes(t, &kind, 1);
	tb_v(t, size);
	tb_v(t, stack);
	if (kind == HT_KIND_MEMALIGN || kind == HT_KIND_POSIX_MEMALIGN ||
	    kind == HT_KIND_ALIGNED_ALLOC)
		tb_v(t, align);
}

static inline void tb_free(tb_t *t, uint64_t addr)
{
	tb_v(t, ht_addr_code(addr, t->prev) << 3 | HT_OP_FREE);
	t->prev = addr;
}

static inline void tb_realloc(tb_t *t, uint64_t old, uint64_t nw,
			      uint64_t size, uint64_t stack)
{
	tb_v(t, ht_addr_code(old, t->prev) << 3 | HT_OP_REALLOC);
	tb_v(t, ht_addr_code(nw, old));
	t->prev = nw;
	tb_v(t, size);
	tb_v(t, stack);
}

static inline void tb_thread(tb_t *t, uint64_t index)
{
	tb_v(t, index << 3 | HT_OP_THREAD);
}

static inline void tb_time(tb_t *t, uint64_t delta_us)
{
	tb_v(t, delta_us << 3 | HT_OP_TIME);
}

/* --- extended records ------------------------------------------------- */
static inline void tb_bv(tb_t *t, uint64_t v)
{
	t->blen += ht_put_varint(t->body + t->blen, v);
}

static inline void tb_bstr(tb_t *t, const char *s)
{
	size_t n = strlen(s);
	tb_bv(t, n);
	memcpy(t->body + t->blen, s, n);
	t->blen += n;
}

static inline void tb_record(tb_t *t, uint64_t type)
{
	tb_v(t, type << 3 | HT_OP_RECORD);
	tb_v(t, t->blen);
	tb_bytes(t, t->body, t->blen);
	t->blen = 0;
}

/* The site of the frees that follow (HT_REC_FREESITE). */
static inline void tb_free_site(tb_t *t, uint64_t stack)
{
	tb_bv(t, ht_zigzag((int64_t)(stack - t->site)));
	tb_record(t, HT_REC_FREESITE);
	t->site = stack;
}

static inline void tb_process(tb_t *t, uint64_t pid, const char *exe)
{
	tb_bv(t, pid);
	tb_bv(t, 1);
	tb_bv(t, 1700000000000000000ull);
	tb_bv(t, 4096);
	tb_bstr(t, "0.1.0");
	tb_bstr(t, exe);
	tb_bv(t, 1);
	tb_bstr(t, exe);
	tb_bv(t, 0);
	tb_record(t, HT_REC_PROCESS);
	/* A new image restarts the address state. */
	t->prev = 0;
	t->site = 0;
}

/* A module map with one module of one executable segment. */
static inline void tb_modules1(tb_t *t, uint64_t gen, const char *path,
			       uint64_t bias, uint64_t vaddr, uint64_t memsz)
{
	tb_bv(t, gen);
	tb_bv(t, 1);
	tb_bstr(t, path);
	tb_bv(t, bias);
	tb_bv(t, 0);
	tb_bv(t, 1);
	tb_bv(t, vaddr);
	tb_bv(t, memsz);
	tb_bv(t, 5);
	tb_record(t, HT_REC_MODULES);
}

/* py: pairs {code id, line}, npy pairs. */
static inline void tb_stack(tb_t *t, uint64_t id, size_t nips,
			    const uint64_t *ips, size_t npy,
			    const uint64_t *py)
{
	tb_bv(t, id);
	tb_bv(t, 0);
	tb_bv(t, nips);
	for (size_t i = 0; i < nips; i++)
		tb_bv(t, i ? ht_zigzag((int64_t)(ips[i] - ips[i - 1])) : ips[0]);
	tb_bv(t, npy);
	for (size_t i = 0; i < npy; i++) {
		tb_bv(t, py[2 * i]);
		tb_bv(t, py[2 * i + 1]);
	}
	tb_record(t, HT_REC_STACK);
}

/* A stack of one native frame. */
static inline void tb_stack1(tb_t *t, uint64_t id, uint64_t ip)
{
	tb_stack(t, id, 1, &ip, 0, NULL);
}

static inline void tb_pycode(tb_t *t, uint64_t id, const char *file,
			     const char *fn, uint64_t line)
{
	tb_bv(t, id);
	tb_bstr(t, file);
	tb_bstr(t, fn);
	tb_bv(t, line);
	tb_record(t, HT_REC_PYCODE);
}

static inline void tb_thread_rec(tb_t *t, uint64_t index, uint64_t tid,
				 const char *name)
{
	tb_bv(t, index);
	tb_bv(t, tid);
	tb_bstr(t, name);
	tb_record(t, HT_REC_THREAD);
}

static inline void tb_snapshot(tb_t *t, uint64_t index, uint64_t origin,
			       const char *label)
{
	tb_bv(t, index);
	tb_bv(t, origin);
	tb_bstr(t, label);
	tb_record(t, HT_REC_SNAPSHOT);
}

static inline void tb_rss(tb_t *t, uint64_t bytes)
{
	tb_bv(t, bytes);
	tb_record(t, HT_REC_RSS);
}

static inline void tb_lost(tb_t *t, uint64_t count, uint64_t reason)
{
	tb_bv(t, count);
	tb_bv(t, reason);
	tb_record(t, HT_REC_LOST);
}

static inline void tb_exec(tb_t *t, const char *path)
{
	tb_bstr(t, path);
	tb_record(t, HT_REC_EXEC);
}

static inline void tb_warning(tb_t *t, const char *text)
{
	tb_bstr(t, text);
	tb_record(t, HT_REC_WARNING);
}

static inline void tb_signal(tb_t *t, uint64_t sig, uint64_t time_us)
{
	tb_bv(t, sig);
	tb_bv(t, time_us);
	tb_record(t, HT_REC_SIGNAL);
}

static inline void tb_memory(tb_t *t, uint64_t peak, uint64_t now)
{
	tb_bv(t, peak);
	tb_bv(t, now);
	tb_record(t, HT_REC_MEMORY);
}

/* CLOCK: the resolution of event times, ns. */
static inline void tb_clock(tb_t *t, uint64_t resolution_ns)
{
	tb_bv(t, resolution_ns);
	tb_record(t, HT_REC_CLOCK);
}

/* ATTACH (after PROCESS) and DETACH (before END). */
static inline void tb_attach(tb_t *t, uint64_t proc_start_ns, uint64_t attacher)
{
	tb_bv(t, proc_start_ns);
	tb_bv(t, attacher);
	tb_record(t, HT_REC_ATTACH);
}

static inline void tb_detach(tb_t *t, uint64_t time_us)
{
	tb_bv(t, time_us);
	tb_record(t, HT_REC_DETACH);
}

static inline void tb_end(tb_t *t, uint64_t events, uint64_t lost,
			  uint64_t end_us)
{
	ht_put_u64le(t->body, events);
	ht_put_u64le(t->body + 8, lost);
	ht_put_u64le(t->body + 16, end_us);
	memcpy(t->body + 24, HT_END_MAGIC, 8);
	t->blen = HT_END_BODY_LEN;
	tb_record(t, HT_REC_END);
}

/* --- aggregated traces (record --aggregate) ----------------------------- */
typedef struct tb_site {
	uint64_t id, bytes, count, allocs, alloc_bytes;
} site_t;

static inline void tb_aggregate(tb_t *t)
{
	tb_bv(t, 0);
	tb_record(t, HT_REC_AGGREGATE);
}

static inline void tb_agg_state(tb_t *t, uint64_t heap_bytes, uint64_t heap_blocks, uint64_t allocs,
			 uint64_t frees, const site_t *s, size_t n)
{
	tb_bv(t, heap_bytes);
	tb_bv(t, heap_blocks);
	tb_bv(t, allocs);
	tb_bv(t, frees);
	tb_bv(t, 0); /* reallocs */
	tb_bv(t, 0); /* unknown frees */
	tb_bv(t, 1000); /* bytes allocated */
	tb_bv(t, HT_KIND_COUNT);
	for (unsigned k = 0; k < HT_KIND_COUNT; k++)
		tb_bv(t, k == HT_KIND_MALLOC ? allocs : 0);
	tb_bv(t, n);
	for (size_t i = 0; i < n; i++) {
		tb_bv(t, s[i].id);
		tb_bv(t, s[i].bytes);
		tb_bv(t, s[i].count);
		tb_bv(t, s[i].allocs);
		tb_bv(t, s[i].alloc_bytes);
	}
	tb_record(t, HT_REC_AGG_STATE);
}

static inline void tb_agg_peak(tb_t *t, uint64_t bytes, uint64_t blocks, uint64_t time_us,
			const site_t *s, size_t n)
{
	tb_bv(t, bytes);
	tb_bv(t, blocks);
	tb_bv(t, time_us);
	tb_bv(t, n);
	for (size_t i = 0; i < n; i++) {
		tb_bv(t, s[i].id);
		tb_bv(t, s[i].bytes);
		tb_bv(t, s[i].count);
		tb_bv(t, s[i].alloc_bytes);
	}
	tb_record(t, HT_REC_AGG_PEAK);
}

static inline void tb_agg_heap(tb_t *t, uint64_t bytes, uint64_t blocks)
{
	tb_bv(t, bytes);
	tb_bv(t, blocks);
	tb_record(t, HT_REC_AGG_HEAP);
}

#endif /* HEAPTRAIL_TEST_TBUILD_H */
