/* encoder: see encoder.h. */
#include "encoder.h"
#include "mapmem.h"

#include "heaptrail_format.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int enc_init(enc_t *e, size_t cap)
{
	memset(e, 0, sizeof(*e));
	cap = (cap + 4095) & ~(size_t)4095;
	void *m = mapmem_map(cap, MAPMEM_WRITER, 0);
	if (!m)
		return -ENOMEM;
	e->buf = m;
	e->cap = cap;
	/* Without the model's memory the trace is still exact, only larger:
	 * the model is an encoding choice, which the reader follows. */
	void *l = mapmem_map(sizeof(ht_lifo_t), MAPMEM_WRITER, 0);
	if (l && addrmap_init(&e->live) == 0)
		e->lifo = l;
	else
		mapmem_unmap(l, sizeof(ht_lifo_t), MAPMEM_WRITER);
	return 0;
}

void enc_free(enc_t *e)
{
	if (e->buf)
		mapmem_unmap(e->buf, e->cap, MAPMEM_WRITER);
	if (e->lifo)
		mapmem_unmap(e->lifo, sizeof(ht_lifo_t), MAPMEM_WRITER);
	addrmap_fini(&e->live);
	e->buf = NULL;
	e->lifo = NULL;
	e->cap = e->len = 0;
}

void enc_reset_state(enc_t *e)
{
	e->prev_addr = 0;
	e->thread = 0;
	e->ord = 0;
	e->free_site = 0;
	if (e->lifo) {
		memset(e->lifo, 0, sizeof(ht_lifo_t));
		addrmap_clear(&e->live);
		if (!e->live.slot) {
			mapmem_unmap(e->lifo, sizeof(ht_lifo_t), MAPMEM_WRITER);
			e->lifo = NULL;
		}
	}
}

int enc_reserve(enc_t *e, size_t n)
{
	if (e->len + n <= e->cap)
		return 0;
	size_t cap = e->cap * 2;
	while (cap < e->len + n)
		cap *= 2;
	void *m = mapmem_remap(e->buf, e->cap, cap, MAPMEM_WRITER);
	if (!m) {
		e->failed = 1;
		return -ENOMEM;
	}
	e->buf = m;
	e->cap = cap;
	return 0;
}

/* Hot records need at most 5 varints plus a kind byte. */
#define HOT_MAX (6 * HT_VARINT_MAX)

static inline void put(enc_t *e, uint64_t v)
{
	e->len += ht_put_varint(e->buf + e->len, v);
}

void enc_header(enc_t *e)
{
	if (enc_reserve(e, HT_HEADER_LEN))
		return;
	memcpy(e->buf + e->len, HT_MAGIC, HT_MAGIC_LEN);
	ht_put_u32le(e->buf + e->len + 8, HT_FORMAT_VERSION);
	ht_put_u32le(e->buf + e->len + 12, 0);
	e->len += HT_HEADER_LEN;
}

/* FREE: the block's age when it was allocated at most HT_AGE_WINDOW
 * allocations ago and is still known (its address then joins the lifo of
 * this thread and its class), else its addr code.
 *   example: the block allocated 3 allocations ago: payload 3<<1|1 = 7,
 *   head 7<<3|0 = 0x38 -> 38 */
void enc_free_op(enc_t *e, uint64_t addr)
{
	if (enc_reserve(e, HOT_MAX))
		return;
	uint64_t ord, payload;
	unsigned cls;
	if (e->lifo && !e->light && addrmap_take(&e->live, addr, &ord, &cls) &&
	    e->ord - ord <= HT_AGE_WINDOW) {
		payload = (e->ord - ord) << 1 | 1;
		if (cls != HT_NO_CLASS)
			ht_lifo_push(ht_lifo_row(e->lifo, e->thread, cls), addr);
	} else {
		payload = ht_addr_code(addr, e->prev_addr) << 1;
	}
	put(e, payload << 3 | HT_OP_FREE);
	e->prev_addr = addr;
}

/* FREESITE: head 13<<3|7 = 0x6f, body length, varint zigzag(stack -
 * previous site): sites that alternate were mostly interned together, so
 * their distance takes one byte where an id may take two or three.
 *   example: site 300 after site 9: zz(+291) = 582 -> 6f 02 c6 04 */
void enc_free_site(enc_t *e, uint32_t stack)
{
	if (stack == e->free_site)
		return;
	uint8_t id[HT_VARINT_MAX];
	size_t n = ht_put_varint(id, ht_zigzag((int64_t)stack - (int64_t)e->free_site));
	if (enc_reserve(e, 2 + HT_VARINT_MAX))
		return;
	put(e, (uint64_t)HT_REC_FREESITE << 3 | HT_OP_RECORD);
	put(e, n); /* a body of at most 5 bytes: one length byte */
	memcpy(e->buf + e->len, id, n);
	e->len += n;
	e->free_site = stack;
}

/* The payload of a new block's address (lifo position or addr code), and
 * the block noted with the next ordinal. */
static uint64_t new_block(enc_t *e, uint64_t addr, uint64_t size)
{
	if (!e->lifo)
		return ht_addr_code(addr, e->prev_addr) << 1;
	unsigned cls = ht_size_class(size);
	uint64_t payload = ht_addr_code(addr, e->prev_addr) << 1;
	if (cls != HT_NO_CLASS) {
		uint64_t *row = ht_lifo_row(e->lifo, e->thread, cls);
		int j = ht_lifo_find(row, addr);
		if (j >= 0) {
			ht_lifo_take(row, (unsigned)j);
			payload = (uint64_t)j << 1 | 1;
		}
	}
	/* Skipping the table is always safe: a block it does not know is
	 * freed as an address, and an entry left behind for an address still
	 * names a block of that address, which is all a reader resolves. */
	if (!e->light)
		addrmap_put(&e->live, addr, e->ord, cls);
	e->ord++;
	return payload;
}

/* MALLOC (or ALLOC with its kind byte): address, size, stack.
 *   example: malloc(100) at stack 3 returning the newest address this
 *   thread freed by age in class 7: payload 0<<1|1 -> 09 64 03 */
void enc_alloc(enc_t *e, unsigned kind, uint64_t addr, uint64_t size, uint32_t stack,
	       uint64_t align)
{
	if (enc_reserve(e, HOT_MAX))
		return;
	uint64_t code = new_block(e, addr, size);
	e->prev_addr = addr;
	if (kind == HT_KIND_MALLOC) {
		put(e, code << 3 | HT_OP_MALLOC);
	} else {
		put(e, code << 3 | HT_OP_ALLOC);
		e->buf[e->len++] = (uint8_t)kind;
	}
	put(e, size);
	put(e, stack);
	if (kind == HT_KIND_MEMALIGN || kind == HT_KIND_POSIX_MEMALIGN ||
	    kind == HT_KIND_ALIGNED_ALLOC)
		put(e, align);
}

void enc_realloc(enc_t *e, uint64_t old_addr, uint64_t new_addr, uint64_t size,
		 uint32_t stack)
{
	if (enc_reserve(e, HOT_MAX))
		return;
	put(e, ht_addr_code(old_addr, e->prev_addr) << 3 | HT_OP_REALLOC);
	put(e, ht_addr_code(new_addr, old_addr));
	e->prev_addr = new_addr;
	if (e->lifo) {
		/* The old block is gone (no lifo: a reader does not know its
		 * class); the new one gets an ordinal like any allocation. */
		uint64_t ord;
		unsigned cls;
		if (!e->light) {
			addrmap_take(&e->live, old_addr, &ord, &cls);
			addrmap_put(&e->live, new_addr, e->ord, ht_size_class(size));
		}
		e->ord++;
	}
	put(e, size);
	put(e, stack);
}

void enc_thread(enc_t *e, uint32_t t)
{
	if (t == e->thread || enc_reserve(e, HOT_MAX))
		return;
	put(e, (uint64_t)t << 3 | HT_OP_THREAD);
	e->thread = t;
}

void enc_time(enc_t *e, uint64_t delta_us)
{
	if (enc_reserve(e, HOT_MAX))
		return;
	put(e, delta_us << 3 | HT_OP_TIME);
}

/* The body is written after a gap of HT_VARINT_MAX bytes for the length;
 * enc_rec_end moves it down once the length is known. */
size_t enc_rec_begin(enc_t *e, unsigned type)
{
	if (enc_reserve(e, 2 * HT_VARINT_MAX + 64))
		return (size_t)-1;
	put(e, (uint64_t)type << 3 | HT_OP_RECORD);
	size_t mark = e->len;
	e->len += HT_VARINT_MAX;
	return mark;
}

void enc_rec_end(enc_t *e, size_t mark)
{
	if (mark == (size_t)-1)
		return;
	size_t body = mark + HT_VARINT_MAX;
	size_t blen = e->len - body;
	uint8_t tmp[HT_VARINT_MAX];
	size_t n = ht_put_varint(tmp, blen);
	memcpy(e->buf + mark, tmp, n);
	memmove(e->buf + mark + n, e->buf + body, blen);
	e->len = mark + n + blen;
}

void enc_put_varint(enc_t *e, uint64_t v)
{
	if (enc_reserve(e, HT_VARINT_MAX))
		return;
	put(e, v);
}

void enc_put_bytes(enc_t *e, const void *p, size_t n)
{
	if (enc_reserve(e, n))
		return;
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

void enc_put_str(enc_t *e, const char *s, size_t n)
{
	enc_put_varint(e, n);
	enc_put_bytes(e, s, n);
}

void enc_thread_rec(enc_t *e, uint32_t index, uint64_t tid, const char *name)
{
	size_t m = enc_rec_begin(e, HT_REC_THREAD);
	enc_put_varint(e, index);
	enc_put_varint(e, tid);
	enc_put_str(e, name, strlen(name));
	enc_rec_end(e, m);
}

void enc_snapshot(enc_t *e, uint64_t index, unsigned origin, const char *label, size_t len)
{
	size_t m = enc_rec_begin(e, HT_REC_SNAPSHOT);
	enc_put_varint(e, index);
	enc_put_varint(e, origin);
	enc_put_str(e, label, len);
	enc_rec_end(e, m);
}

void enc_rss(enc_t *e, uint64_t bytes)
{
	size_t m = enc_rec_begin(e, HT_REC_RSS);
	enc_put_varint(e, bytes);
	enc_rec_end(e, m);
}

void enc_lost(enc_t *e, uint64_t count, unsigned reason)
{
	size_t m = enc_rec_begin(e, HT_REC_LOST);
	enc_put_varint(e, count);
	enc_put_varint(e, reason);
	enc_rec_end(e, m);
}

void enc_signal(enc_t *e, int sig, uint64_t time_us)
{
	size_t m = enc_rec_begin(e, HT_REC_SIGNAL);
	enc_put_varint(e, (uint64_t)sig);
	enc_put_varint(e, time_us);
	enc_rec_end(e, m);
}

void enc_attach(enc_t *e, uint64_t proc_start_ns, uint64_t attacher)
{
	size_t m = enc_rec_begin(e, HT_REC_ATTACH);
	enc_put_varint(e, proc_start_ns);
	enc_put_varint(e, attacher);
	enc_rec_end(e, m);
}

void enc_detach(enc_t *e, uint64_t time_us)
{
	size_t m = enc_rec_begin(e, HT_REC_DETACH);
	enc_put_varint(e, time_us);
	enc_rec_end(e, m);
}

void enc_memory(enc_t *e, uint64_t peak, uint64_t now)
{
	size_t m = enc_rec_begin(e, HT_REC_MEMORY);
	enc_put_varint(e, peak);
	enc_put_varint(e, now);
	enc_rec_end(e, m);
}

void enc_exec(enc_t *e, const char *path)
{
	size_t m = enc_rec_begin(e, HT_REC_EXEC);
	enc_put_str(e, path, strlen(path));
	enc_rec_end(e, m);
}

void enc_warning(enc_t *e, const char *text)
{
	size_t m = enc_rec_begin(e, HT_REC_WARNING);
	enc_put_str(e, text, strlen(text));
	enc_rec_end(e, m);
}

void enc_end(enc_t *e, uint64_t events, uint64_t lost, uint64_t end_us)
{
	if (enc_reserve(e, HT_END_RECORD_LEN))
		return;
	uint8_t *p = e->buf + e->len;
	p[0] = HT_REC_END << 3 | HT_OP_RECORD;
	p[1] = HT_END_BODY_LEN;
	ht_put_u64le(p + 2, events);
	ht_put_u64le(p + 10, lost);
	ht_put_u64le(p + 18, end_us);
	memcpy(p + 26, HT_END_MAGIC, 8);
	e->len += HT_END_RECORD_LEN;
}

void enc_stack(enc_t *e, uint32_t id, unsigned flags, const uint64_t *ips, unsigned n,
	       const uint64_t *py, unsigned m)
{
	size_t mk = enc_rec_begin(e, HT_REC_STACK);
	if (enc_reserve(e, (size_t)(n + 2 * m + 4) * HT_VARINT_MAX))
		return;
	put(e, id);
	put(e, flags);
	put(e, n);
	for (unsigned i = 0; i < n; i++)
		put(e, i == 0 ? ips[0] : ht_zigzag((int64_t)(ips[i] - ips[i - 1])));
	put(e, m);
	for (unsigned i = 0; i < m; i++) {
		put(e, py[i] >> 32);
		put(e, py[i] & 0xffffffffu);
	}
	enc_rec_end(e, mk);
}
