/* aggregate: see aggregate.h.
 *
 * The model follows analyzer/model/heap.c step for step, so that what an
 * aggregated trace says at a snapshot, the peak and the end is what the
 * replay of a full trace of the same run says there:
 *   - a free of an address not live is counted and ignored;
 *   - an allocation on a live address frees the stale block first;
 *   - a realloc frees the old block (when live), then allocates the new
 *     one at the realloc's stack;
 *   - the peak is the first moment the heap exceeds every earlier value,
 *     right after an allocation, and each stack's share then is kept by
 *     the epoch trick: a stack's totals are copied at its first change
 *     after the latest peak (peak_epoch says which peak the copy is of),
 *     so a stack unchanged since then still has its peak values live.
 * Costs O(1) per event (one table probe) and O(stacks changed) per
 * snapshot. */
#include "aggregate.h"

#include "heaptrail_format.h"
#include "mapmem.h"

#include <errno.h>
#include <string.h>

/* Address table: 2 words per slot, address (0 = empty) and size << 20 |
 * stack id.  Linear probing, deletion shifts the run back (no tombstones).
 * Grows at half full. */
#define ID_BITS 20
#define MAX_IDS ((uint32_t)1 << ID_BITS) /* the stack table's ids are below */
#define SIZE_MAX_KEPT (((uint64_t)1 << (64 - ID_BITS)) - 1) /* 16 TiB */
#define ADDR_BITS0 16
#define SITES0 4096u

typedef struct site {
	uint64_t live_bytes, live_count; /* now */
	uint64_t alloc_count, alloc_bytes; /* since the image start */
	uint64_t peak_bytes, peak_count, peak_alloc_bytes; /* at the latest peak,
							    * when peak_epoch == epoch */
	uint64_t peak_epoch;
	uint32_t dirty; /* on the dirty list (changed since the last AGG_STATE) */
	uint32_t pad;
} site_t;

static struct aggregate {
	uint64_t *slot; /* 2 << bits words */
	uint32_t bits;
	uint64_t used; /* live blocks in the table */
	site_t *sites; /* by stack id, cap entries */
	uint32_t *dirty; /* ids changed since the last AGG_STATE, ndirty of cap */
	uint32_t cap, ndirty;
	uint32_t top; /* 1 + the largest id seen */
	uint64_t allocs, frees, reallocs, unknown_frees, bytes_allocated;
	uint64_t by_kind[HT_KIND_COUNT]; /* allocations by HT_KIND_* */
	uint64_t heap_bytes, heap_blocks;
	uint64_t peak_bytes, peak_blocks, peak_time_us, epoch;
	uint64_t peak_written; /* epoch of the last AGG_PEAK written */
	uint64_t heap_written_bytes, heap_written_blocks; /* last AGG_HEAP */
	uint64_t now_us;
} a;

static inline uint64_t home(uint64_t addr, uint32_t bits)
{
	return (addr * 0x9e3779b97f4a7c15ull) >> (64 - bits);
}

static int map_addr(uint32_t bits)
{
	uint64_t *t = mapmem_map((size_t)16 << bits, MAPMEM_WRITER, 0);
	if (!t)
		return -ENOMEM;
	uint64_t *old = a.slot;
	uint32_t obits = a.bits;
	a.slot = t;
	a.bits = bits;
	if (old) {
		uint64_t mask = ((uint64_t)1 << bits) - 1;
		for (uint64_t i = 0; i < (uint64_t)1 << obits; i++) {
			if (!old[2 * i])
				continue;
			uint64_t j = home(old[2 * i], bits);
			while (t[2 * j])
				j = (j + 1) & mask;
			t[2 * j] = old[2 * i];
			t[2 * j + 1] = old[2 * i + 1];
		}
		mapmem_unmap(old, (size_t)16 << obits, MAPMEM_WRITER);
	}
	return 0;
}

static int map_sites(uint32_t cap)
{
	site_t *s;
	uint32_t *d;
	if (!a.sites) {
		s = mapmem_map(cap * sizeof(site_t), MAPMEM_WRITER, 0);
		d = s ? mapmem_map(cap * sizeof(uint32_t), MAPMEM_WRITER, 0) : NULL;
		if (!d) {
			mapmem_unmap(s, cap * sizeof(site_t), MAPMEM_WRITER);
			return -ENOMEM;
		}
	} else {
		/* An anonymous mapping grows zero-filled. */
		s = mapmem_remap(a.sites, a.cap * sizeof(site_t), cap * sizeof(site_t),
				 MAPMEM_WRITER);
		if (!s)
			return -ENOMEM;
		a.sites = s;
		d = mapmem_remap(a.dirty, a.cap * sizeof(uint32_t), cap * sizeof(uint32_t),
				 MAPMEM_WRITER);
		if (!d)
			return -ENOMEM;
	}
	a.sites = s;
	a.dirty = d;
	a.cap = cap;
	return 0;
}

int aggregate_begin(void)
{
	if (!a.slot && map_addr(ADDR_BITS0) < 0)
		return -ENOMEM;
	if (!a.sites && map_sites(SITES0) < 0)
		return -ENOMEM;
	memset(a.slot, 0, (size_t)16 << a.bits);
	memset(a.sites, 0, (size_t)a.cap * sizeof(site_t));
	uint64_t *slot = a.slot;
	uint32_t bits = a.bits, cap = a.cap;
	site_t *sites = a.sites;
	uint32_t *dirty = a.dirty;
	memset(&a, 0, sizeof(a));
	a.slot = slot;
	a.bits = bits;
	a.cap = cap;
	a.sites = sites;
	a.dirty = dirty;
	return 0;
}

void aggregate_clock(uint64_t us)
{
	if (us > a.now_us)
		a.now_us = us;
}

/* The stack's totals, about to change: first the copy for the current
 * peak (see the top), then onto the dirty list.  NULL: no memory. */
static site_t *change(uint32_t id)
{
	if (id >= MAX_IDS)
		id = MAX_IDS - 1; /* not an id the stack table hands out */
	if (id >= a.cap) {
		uint32_t cap = a.cap;
		while (cap <= id)
			cap *= 2;
		if (map_sites(cap) < 0)
			return NULL;
	}
	if (id >= a.top)
		a.top = id + 1;
	site_t *s = &a.sites[id];
	if (s->peak_epoch != a.epoch) {
		s->peak_bytes = s->live_bytes;
		s->peak_count = s->live_count;
		s->peak_alloc_bytes = s->alloc_bytes;
		s->peak_epoch = a.epoch;
	}
	if (!s->dirty) {
		s->dirty = 1;
		a.dirty[a.ndirty++] = id;
	}
	return s;
}

/* Removes the block in slot i (backward-shift deletion) and takes it out
 * of the totals. */
static int take(uint64_t i)
{
	uint64_t mask = ((uint64_t)1 << a.bits) - 1;
	uint64_t v = a.slot[2 * i + 1];
	uint64_t size = v >> ID_BITS;
	site_t *s = change((uint32_t)(v & (MAX_IDS - 1)));
	if (!s)
		return -ENOMEM;
	s->live_bytes -= size;
	s->live_count--;
	a.heap_bytes -= size;
	a.heap_blocks--;
	a.used--;
	uint64_t j = i;
	for (;;) {
		a.slot[2 * i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (!a.slot[2 * j])
				return 0;
			uint64_t h = home(a.slot[2 * j], a.bits);
			/* The entry at j may move to i when its home is not in
			 * the cyclic range (i, j]. */
			if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
				continue;
			break;
		}
		a.slot[2 * i] = a.slot[2 * j];
		a.slot[2 * i + 1] = a.slot[2 * j + 1];
		i = j;
	}
}

/* The slot of addr, or the empty slot where it would go (*found 0). */
static uint64_t find(uint64_t addr, int *found)
{
	uint64_t mask = ((uint64_t)1 << a.bits) - 1;
	uint64_t i = home(addr, a.bits);
	while (a.slot[2 * i] && a.slot[2 * i] != addr)
		i = (i + 1) & mask;
	*found = a.slot[2 * i] == addr;
	return i;
}

static int add(uint64_t addr, uint64_t size, uint32_t stack)
{
	int found, rc;
	if (!addr)
		return 0;
	uint64_t i = find(addr, &found);
	if (found) {
		/* A still-live block at this address: its free was lost. */
		if ((rc = take(i)) < 0)
			return rc;
		i = find(addr, &found);
	}
	if ((a.used + 1) * 2 > (uint64_t)1 << a.bits) {
		if (map_addr(a.bits + 1) < 0)
			return -ENOMEM;
		i = find(addr, &found);
	}
	if (stack >= MAX_IDS)
		stack = MAX_IDS - 1;
	site_t *s = change(stack);
	if (!s)
		return -ENOMEM;
	a.slot[2 * i] = addr;
	a.slot[2 * i + 1] = (size < SIZE_MAX_KEPT ? size : SIZE_MAX_KEPT) << ID_BITS | stack;
	a.used++;
	a.heap_bytes += size;
	a.heap_blocks++;
	a.bytes_allocated += size;
	s->live_bytes += size;
	s->live_count++;
	s->alloc_count++;
	s->alloc_bytes += size;
	if (a.heap_bytes > a.peak_bytes) {
		a.peak_bytes = a.heap_bytes;
		a.peak_blocks = a.heap_blocks;
		a.peak_time_us = a.now_us;
		a.epoch++;
	}
	return 0;
}

int aggregate_alloc(uint64_t addr, uint64_t size, uint32_t stack, unsigned kind)
{
	a.allocs++;
	if (kind < HT_KIND_COUNT)
		a.by_kind[kind]++;
	return add(addr, size, stack);
}

void aggregate_free(uint64_t addr)
{
	int found;
	a.frees++;
	uint64_t i = addr ? find(addr, &found) : 0;
	if (!addr || !found) {
		a.unknown_frees++;
		return;
	}
	take(i); /* a free never needs memory: the stack was seen before */
}

int aggregate_realloc(uint64_t old_addr, uint64_t new_addr, uint64_t size, uint32_t stack)
{
	int found, rc;
	a.reallocs++;
	uint64_t i = old_addr ? find(old_addr, &found) : 0;
	if (old_addr && found && (rc = take(i)) < 0)
		return rc;
	return add(new_addr, size, stack);
}

void aggregate_move_startup(void)
{
	const uint32_t to = HT_AGG_STARTUP_ID;
	if (!change(to))
		return;
	/* The latest peak came before the mark: all it held was start-up's. */
	uint64_t pb = 0, pc = 0;
	for (uint32_t id = 0; id < a.top; id++) {
		site_t *s = &a.sites[id];
		int saved = s->peak_epoch == a.epoch;
		pb += saved ? s->peak_bytes : s->live_bytes;
		pc += saved ? s->peak_count : s->live_count;
		s->peak_bytes = s->peak_count = 0;
		s->peak_epoch = a.epoch;
	}
	site_t *d = &a.sites[to];
	d->peak_bytes = pb;
	d->peak_count = pc;
	for (uint32_t id = 0; id < a.top; id++) {
		site_t *s = &a.sites[id];
		if (id == to || (!s->live_count && !s->alloc_count))
			continue;
		change(id); /* onto the dirty list (its table entry exists) */
		d->live_bytes += s->live_bytes;
		d->live_count += s->live_count;
		d->alloc_count += s->alloc_count;
		d->alloc_bytes += s->alloc_bytes;
		s->live_bytes = s->live_count = s->alloc_count = s->alloc_bytes = 0;
	}
	for (uint64_t i = 0; i < (uint64_t)1 << a.bits; i++)
		if (a.slot[2 * i])
			a.slot[2 * i + 1] = (a.slot[2 * i + 1] & ~(uint64_t)(MAX_IDS - 1)) | to;
}

void aggregate_put_mark(enc_t *e)
{
	size_t m = enc_rec_begin(e, HT_REC_AGGREGATE);
	enc_put_varint(e, 0);
	enc_rec_end(e, m);
}

/* Stacks are written in chunks: a record's body stays a few hundred KiB
 * at most, whatever the number of stacks (the reader applies each). */
#define CHUNK 8192u

static void put_peak(enc_t *e)
{
	uint32_t id = 0;
	do {
		size_t m = enc_rec_begin(e, HT_REC_AGG_PEAK);
		enc_put_varint(e, a.peak_bytes);
		enc_put_varint(e, a.peak_blocks);
		enc_put_varint(e, a.peak_time_us);
		/* Count first: the entries of this chunk. */
		uint32_t n = 0, end = id;
		for (; end < a.top && n < CHUNK; end++) {
			const site_t *s = &a.sites[end];
			uint64_t c = s->peak_epoch == a.epoch ? s->peak_count : s->live_count;
			n += c != 0;
		}
		enc_put_varint(e, n);
		for (; id < end; id++) {
			const site_t *s = &a.sites[id];
			int saved = s->peak_epoch == a.epoch;
			uint64_t c = saved ? s->peak_count : s->live_count;
			if (!c)
				continue;
			enc_put_varint(e, id);
			enc_put_varint(e, saved ? s->peak_bytes : s->live_bytes);
			enc_put_varint(e, c);
			enc_put_varint(e, saved ? s->peak_alloc_bytes : s->alloc_bytes);
		}
		enc_rec_end(e, m);
	} while (id < a.top);
	a.peak_written = a.epoch;
}

void aggregate_put_state(enc_t *e, int peak)
{
	uint32_t k = 0;
	do {
		size_t m = enc_rec_begin(e, HT_REC_AGG_STATE);
		enc_put_varint(e, a.heap_bytes);
		enc_put_varint(e, a.heap_blocks);
		enc_put_varint(e, a.allocs);
		enc_put_varint(e, a.frees);
		enc_put_varint(e, a.reallocs);
		enc_put_varint(e, a.unknown_frees);
		enc_put_varint(e, a.bytes_allocated);
		enc_put_varint(e, HT_KIND_COUNT);
		for (unsigned i = 0; i < HT_KIND_COUNT; i++)
			enc_put_varint(e, a.by_kind[i]);
		uint32_t n = a.ndirty - k < CHUNK ? a.ndirty - k : CHUNK;
		enc_put_varint(e, n);
		for (uint32_t i = 0; i < n; i++, k++) {
			uint32_t id = a.dirty[k];
			site_t *s = &a.sites[id];
			s->dirty = 0;
			enc_put_varint(e, id);
			enc_put_varint(e, s->live_bytes);
			enc_put_varint(e, s->live_count);
			enc_put_varint(e, s->alloc_count);
			enc_put_varint(e, s->alloc_bytes);
		}
		enc_rec_end(e, m);
	} while (k < a.ndirty);
	a.ndirty = 0;
	if (peak || a.peak_written != a.epoch)
		put_peak(e);
}

int aggregate_heap_changed(void)
{
	return a.heap_bytes != a.heap_written_bytes || a.heap_blocks != a.heap_written_blocks;
}

void aggregate_put_heap(enc_t *e)
{
	size_t m = enc_rec_begin(e, HT_REC_AGG_HEAP);
	enc_put_varint(e, a.heap_bytes);
	enc_put_varint(e, a.heap_blocks);
	enc_rec_end(e, m);
	a.heap_written_bytes = a.heap_bytes;
	a.heap_written_blocks = a.heap_blocks;
}
