/* Heap model: see heap.h.  Live blocks sit in a linear-probing hash table
 * of blocks keyed by their address (addr 0 = empty slot: no allocator
 * returns NULL for a success, so a recorded address 0 is an anomaly and is
 * ignored), one slot = one block, so a lookup touches one line; deletion
 * shifts the following run back, so there are no tombstones and lookups
 * stay short however many frees there were.  The home slot keeps the
 * allocator's locality (hash_addr).  Without a sink (info, the index)
 * the replay builds no heap_event_t (the lean_* functions), and
 * heap_apply_run is its inner loop.
 *
 * Peak attribution ("top --at peak") costs O(1) per event: each stack
 * keeps its live totals plus a copy taken at its first change after the
 * latest peak (peak_epoch says which peak the copy belongs to).  A stack
 * not changed since the latest peak still has its peak values in live_*. */
#include "model/heap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

_Static_assert(sizeof(heap_block_t) == 32, "two blocks per cache line");

struct heap {
	stacks_t *stacks;
	heap_sink_fn sink;
	void *arg;
	heap_block_t *t; /* hash table by t[i].addr; addr 0 = empty slot */
	size_t cap; /* power of two */
	size_t n; /* live blocks */
	bool mixed; /* hash_addr mixes every bit (see there) */
	heap_stack_stat_t *st; /* by sidx */
	size_t nst;
	uint64_t last_alloc; /* address of the newest allocation while it is
			      * live, else 0: freeing it is a temporary */
	uint32_t *sid; /* stack id -> sidx + 1 (0 = ask stacks_intern), nsid
			* entries: spares a call per allocation */
	size_t nsid;
	heap_counters_t c;
};

/* Home slot of an address.  Normally it keeps the allocator's locality:
 * within each 4 MiB region, consecutive 16-byte granules get consecutive
 * slots, and each region starts at a pseudo-random slot.  Blocks the
 * program allocated near each other, or one after another, then share
 * cache lines of the table as they shared them in the program, instead of
 * costing a cache miss each (most of a replay's time).  A trace whose
 * addresses pile up into long probe runs anyway (hostile, or an allocator
 * striding by a multiple of the table) switches the table to a full mix
 * (h->mixed), which spreads every address. */
#define REGION_SHIFT 22
/* Probes an insert may take before the table switches to the full mix. */
#define MAX_PROBES 64

static inline size_t hash_addr(const heap_t *h, uint64_t a)
{
	if (h->mixed) {
		a ^= a >> 29;
		a *= 0xbf58476d1ce4e5b9ULL;
		a ^= a >> 32;
		return (size_t)a;
	}
	uint64_t r = (a >> REGION_SHIFT) * 0x9e3779b97f4a7c15ULL;
	return (size_t)((a >> 4) + (r >> 32));
}

/* Tables from this size on are mapped on their own, in huge pages where
 * the kernel gives them: a replay touches the table at random, and with 4
 * KiB pages nearly every touch of a large table also missed the TLB. */
#define HUGE_FROM ((size_t)2 << 20)

static heap_block_t *table_alloc(size_t bytes)
{
	if (bytes < HUGE_FROM) {
		/* Line-aligned, so no 32-byte slot straddles two lines. */
		heap_block_t *t = aligned_alloc(64, bytes);
		if (t)
			memset(t, 0, bytes);
		return t;
	}
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	madvise(m, bytes, MADV_HUGEPAGE);
	return m; /* zero-filled */
}

static void table_free(heap_block_t *t, size_t cap)
{
	size_t bytes = cap * sizeof(heap_block_t);
	if (!t)
		return;
	if (bytes < HUGE_FROM)
		free(t);
	else
		munmap(t, bytes);
}

heap_t *heap_new(stacks_t *stacks, heap_sink_fn sink, void *arg)
{
	heap_t *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->stacks = stacks;
	h->sink = sink;
	h->arg = arg;
	return h;
}

void heap_set_sink(heap_t *h, heap_sink_fn sink, void *arg)
{
	h->sink = sink;
	h->arg = arg;
}

void heap_reset(heap_t *h)
{
	table_free(h->t, h->cap);
	free(h->st);
	h->t = NULL;
	h->st = NULL;
	h->cap = h->n = h->nst = 0;
	h->mixed = false;
	h->last_alloc = 0;
	free(h->sid); /* the stack table is emptied with the heap */
	h->sid = NULL;
	h->nsid = 0;
	memset(&h->c, 0, sizeof(h->c));
}

void heap_free(heap_t *h)
{
	if (!h)
		return;
	heap_reset(h);
	free(h);
}

/* Rebuilds the table with capacity ncap (h->mixed says how to hash). */
static int rehash(heap_t *h, size_t ncap)
{
	if (ncap > SIZE_MAX / 2 / sizeof(heap_block_t))
		return -ENOMEM;
	heap_block_t *nt = table_alloc(ncap * sizeof(heap_block_t));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->t[i].addr)
			continue;
		size_t j = hash_addr(h, h->t[i].addr) & (ncap - 1);
		while (nt[j].addr)
			j = (j + 1) & (ncap - 1);
		nt[j] = h->t[i];
	}
	table_free(h->t, h->cap);
	h->t = nt;
	h->cap = ncap;
	return 0;
}

static int grow_table(heap_t *h)
{
	return rehash(h, h->cap ? h->cap * 2 : 4096);
}

static inline __attribute__((always_inline)) heap_block_t *find_slot(const heap_t *h, uint64_t addr)
{
	if (!h->cap)
		return NULL;
	size_t mask = h->cap - 1;
	for (size_t i = hash_addr(h, addr) & mask;; i = (i + 1) & mask) {
		if (h->t[i].addr == addr)
			return &h->t[i];
		if (!h->t[i].addr)
			return NULL;
	}
}

/* Inserts b, or returns the live block already at b->addr (then nothing
 * is inserted: the caller drops the stale block and inserts again). */
static inline __attribute__((always_inline)) int insert(heap_t *h, const heap_block_t *b, heap_block_t **stale)
{
	*stale = NULL;
	if ((h->n + 1) * 10 > h->cap * 7 && grow_table(h) < 0)
		return -ENOMEM;
	size_t mask = h->cap - 1;
	size_t i;
	unsigned probes;
again:
	i = hash_addr(h, b->addr) & mask;
	probes = 0;
	while (h->t[i].addr) {
		if (h->t[i].addr == b->addr) {
			*stale = &h->t[i];
			return 0;
		}
		i = (i + 1) & mask;
		if (++probes == MAX_PROBES && !h->mixed) {
			/* Long runs: spread every address from now on. */
			h->mixed = true;
			if (rehash(h, h->cap) < 0)
				return -ENOMEM;
			goto again;
		}
	}
	h->t[i] = *b;
	h->n++;
	return 0;
}

static inline __attribute__((always_inline)) void remove_slot(heap_t *h, heap_block_t *slot)
{
	size_t mask = h->cap - 1;
	size_t i = (size_t)(slot - h->t), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!h->t[j].addr)
			break;
		size_t k = hash_addr(h, h->t[j].addr) & mask;
		/* Move slot j back to i unless its home lies cyclically in
		 * (i, j]. */
		bool stay = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (!stay) {
			h->t[i] = h->t[j];
			i = j;
		}
	}
	h->t[i].addr = 0;
	h->n--;
}

static __attribute__((noinline)) heap_stack_stat_t *
grow_stats(heap_t *h, sidx_t s)
{
	size_t n = h->nst ? h->nst : 1024;
	while (n <= s)
		n *= 2;
	heap_stack_stat_t *nv = realloc(h->st, n * sizeof(*nv));
	if (!nv)
		return NULL;
	memset(nv + h->nst, 0, (n - h->nst) * sizeof(*nv));
	h->st = nv;
	h->nst = n;
	return &h->st[s];
}

static inline heap_stack_stat_t *stat_of(heap_t *h, sidx_t s)
{
	return __builtin_expect(s < h->nst, 1) ? &h->st[s] : grow_stats(h, s);
}

/* Changes a stack's live totals, first saving them for the current peak
 * if this is the stack's first change since that peak. */
/* stack_change returning the stack's totals (NULL: out of memory). */
static inline __attribute__((always_inline)) heap_stack_stat_t *
stack_change_st(heap_t *h, sidx_t s, uint64_t bytes, bool add)
{
	heap_stack_stat_t *st = stat_of(h, s);
	if (!st)
		return NULL;
	if (st->peak_epoch != h->c.epoch) {
		st->peak_bytes = st->live_bytes;
		st->peak_count = st->live_count;
		st->peak_alloc_bytes = st->alloc_bytes;
		st->peak_epoch = h->c.epoch;
	}
	if (add) {
		st->live_bytes += bytes;
		st->live_count++;
		st->alloc_count++;
		st->alloc_bytes += bytes;
	} else {
		st->live_bytes -= bytes;
		st->live_count--;
	}
	return st;
}

static inline __attribute__((always_inline)) int
stack_change(heap_t *h, sidx_t s, uint64_t bytes, bool add)
{
	return stack_change_st(h, s, bytes, add) ? 0 : -ENOMEM;
}

/* Charges a free of `bytes` to its site s (SIDX_NONE: nothing), first
 * saving the site's freed total for the current peak. */
static inline int charge_free(heap_t *h, sidx_t s, uint64_t bytes)
{
	if (s == SIDX_NONE)
		return 0;
	heap_stack_stat_t *st = stat_of(h, s);
	if (!st)
		return -ENOMEM;
	if (st->freed_epoch != h->c.epoch) {
		st->peak_freed_bytes = st->freed_bytes;
		st->freed_epoch = h->c.epoch;
	}
	st->freed_bytes += bytes;
	st->freed_count++;
	return 0;
}

static void check_peak(heap_t *h, heap_event_t *ev)
{
	ev->heap_bytes = h->c.heap_bytes;
	ev->heap_blocks = h->c.heap_blocks;
	if (h->c.heap_bytes > h->c.peak_bytes) {
		h->c.peak_bytes = h->c.heap_bytes;
		h->c.peak_blocks = h->c.heap_blocks;
		h->c.peak_time_us = ev->time_us;
		h->c.epoch++;
		ev->new_peak = true;
	}
}

/* Removes a live block from the totals (not from the table). */
static int account_free(heap_t *h, const heap_block_t *b)
{
	h->c.heap_bytes -= b->size;
	h->c.heap_blocks--;
	return stack_change(h, b->stack, b->size, false);
}

static int account_alloc(heap_t *h, const heap_block_t *b)
{
	h->c.heap_bytes += b->size;
	h->c.heap_blocks++;
	h->c.bytes_allocated += b->size;
	return stack_change(h, b->stack, b->size, true);
}

/* Starts an event field by field: a `= { 0 }` of the whole struct
 * compiles to `rep stos`, which costs more than the rest of a free. */
static inline void ev_init(heap_event_t *ev, heap_ev_kind_t kind,
			   const rd_event_t *rev)
{
	static const heap_block_t none;
	ev->kind = kind;
	ev->block = none;
	ev->old = none;
	ev->old_known = false;
	ev->temporary = false;
	ev->site = SIDX_NONE;
	ev->new_peak = false;
	ev->time_us = rev->time_us;
	ev->thread = rev->thread;
	ev->heap_bytes = ev->heap_blocks = 0;
}

static int emit(heap_t *h, const heap_event_t *ev)
{
	return h->sink ? h->sink(h->arg, ev) : 0;
}

/* Moves the live block in slot out of the table (into *out) and out of the
 * totals: the first half of a free, a realloc, or a dropped stale block. */
static int take_block(heap_t *h, heap_block_t *slot, heap_block_t *out)
{
	*out = *slot;
	remove_slot(h, slot);
	return account_free(h, out);
}

/* A still-live block at the address of a new allocation: the free was
 * lost (or not recorded).  Deliver it as freed so totals stay right. */
static int drop_stale(heap_t *h, heap_block_t *slot, const rd_event_t *rev)
{
	heap_event_t ev;
	int rc;
	h->c.double_allocs++;
	ev_init(&ev, HEAP_EV_FREE, rev);
	if ((rc = take_block(h, slot, &ev.block)) < 0)
		return rc;
	ev.heap_bytes = h->c.heap_bytes;
	ev.heap_blocks = h->c.heap_blocks;
	return emit(h, &ev);
}

/* Inserts a new block; a stale live block at its address is delivered as
 * freed first. */
static int insert_fresh(heap_t *h, const heap_block_t *b,
			const rd_event_t *rev)
{
	heap_block_t *stale;
	int rc = insert(h, b, &stale);
	if (rc || !stale)
		return rc;
	if ((rc = drop_stale(h, stale, rev)) != 0)
		return rc;
	rc = insert(h, b, &stale);
	return rc ? rc : (stale ? -EIO : 0);
}

/* stacks_intern, remembering ids below a few times the number of stacks
 * (the recorder numbers them 1, 2, 3...; a hostile huge id is not). */
static __attribute__((noinline)) sidx_t intern_slow(heap_t *h, uint64_t id)
{
	sidx_t s = stacks_intern(h->stacks, id);
	if (s == SIDX_NONE || id >= 4 * ((uint64_t)stacks_count(h->stacks) + 1024))
		return s;
	if (id >= h->nsid) {
		size_t n = h->nsid ? h->nsid : 4096;
		while (n <= id)
			n *= 2;
		uint32_t *ns = realloc(h->sid, n * sizeof(*ns));
		if (!ns)
			return s;
		memset(ns + h->nsid, 0, (n - h->nsid) * sizeof(*ns));
		h->sid = ns;
		h->nsid = n;
	}
	h->sid[id] = s + 1;
	return s;
}

static inline sidx_t intern(heap_t *h, uint64_t id)
{
	if (id < h->nsid && h->sid[id])
		return h->sid[id] - 1;
	return intern_slow(h, id);
}

static int new_block(heap_t *h, heap_block_t *b, uint64_t addr,
		     uint64_t size, uint64_t stack_id, uint8_t kind,
		     const rd_event_t *rev)
{
	b->addr = addr;
	b->size = size;
	b->time_us = rev->time_us;
	b->kind = kind;
	b->stack = intern(h, stack_id);
	if (b->stack == SIDX_NONE)
		return -ENOMEM;
	h->last_alloc = addr;
	return 0;
}

/* The second half of an alloc or a realloc: the new block goes into the
 * table and the totals, then ev (with the peak noted) to the sink. */
static int add_block(heap_t *h, heap_event_t *ev, uint64_t addr,
		     uint64_t size, uint64_t stack_id, uint8_t kind,
		     const rd_event_t *rev)
{
	int rc;
	if ((rc = new_block(h, &ev->block, addr, size, stack_id, kind, rev)) < 0)
		return rc;
	if ((rc = insert_fresh(h, &ev->block, rev)) != 0)
		return rc;
	if ((rc = account_alloc(h, &ev->block)) < 0)
		return rc;
	check_peak(h, ev);
	return emit(h, ev);
}

static int do_alloc(heap_t *h, const rd_event_t *rev)
{
	heap_event_t ev;
	h->c.allocs++;
	if (rev->u.alloc.kind < HT_KIND_COUNT)
		h->c.alloc_kind[rev->u.alloc.kind]++;
	if (!rev->u.alloc.addr) {
		h->c.double_allocs++;
		return 0;
	}
	ev_init(&ev, HEAP_EV_ALLOC, rev);
	return add_block(h, &ev, rev->u.alloc.addr, rev->u.alloc.size,
			 rev->u.alloc.stack, rev->u.alloc.kind, rev);
}

static int do_free(heap_t *h, const rd_event_t *rev)
{
	heap_event_t ev;
	heap_block_t *slot;
	int rc;
	h->c.frees++;
	slot = rev->u.free.addr ? find_slot(h, rev->u.free.addr) : NULL;
	if (!slot) {
		h->c.unknown_frees++;
		return 0;
	}
	ev_init(&ev, HEAP_EV_FREE, rev);
	if ((rc = take_block(h, slot, &ev.block)) < 0)
		return rc;
	ev.site = rev->u.free.site ? intern(h, rev->u.free.site) : SIDX_NONE;
	if ((rc = charge_free(h, ev.site, ev.block.size)) < 0)
		return rc;
	if (ev.block.addr == h->last_alloc) {
		h->last_alloc = 0;
		heap_stack_stat_t *st = stat_of(h, ev.block.stack);
		ev.temporary = true;
		h->c.temporary++;
		h->c.temporary_bytes += ev.block.size;
		if (st) {
			st->temp_count++;
			st->temp_bytes += ev.block.size;
		}
	}
	ev.heap_bytes = h->c.heap_bytes;
	ev.heap_blocks = h->c.heap_blocks;
	return emit(h, &ev);
}

static int do_realloc(heap_t *h, const rd_event_t *rev)
{
	heap_event_t ev;
	heap_block_t *slot;
	uint64_t oldaddr = rev->u.realloc.old_addr;
	uint64_t newaddr = rev->u.realloc.new_addr;
	int rc;
	h->c.reallocs++;
	ev_init(&ev, HEAP_EV_REALLOC, rev);
	slot = oldaddr ? find_slot(h, oldaddr) : NULL;
	if (slot) {
		ev.old_known = true;
		if ((rc = take_block(h, slot, &ev.old)) < 0)
			return rc;
		ev.site = intern(h, rev->u.realloc.stack);
		if (ev.site == SIDX_NONE)
			return -ENOMEM;
		if ((rc = charge_free(h, ev.site, ev.old.size)) < 0)
			return rc;
	} else {
		h->c.unknown_reallocs++;
	}
	if (!newaddr) {
		h->c.double_allocs++;
		return 0;
	}
	return add_block(h, &ev, newaddr, rev->u.realloc.size,
			 rev->u.realloc.stack, HT_KIND_REALLOC, rev);
}

/* ---- the same without a sink: no heap_event_t is built -------------- */

/* A live block leaves the table and the totals; returns its stack's
 * totals (NULL: out of memory), *size and *addr its size and address. */
static inline __attribute__((always_inline)) heap_stack_stat_t *lean_take(heap_t *h, heap_block_t *slot,
					   uint64_t *size, uint64_t *addr)
{
	sidx_t s = slot->stack;
	*size = slot->size;
	*addr = slot->addr;
	remove_slot(h, slot);
	h->c.heap_bytes -= *size;
	h->c.heap_blocks--;
	return stack_change_st(h, s, *size, false);
}

static inline __attribute__((always_inline)) int lean_add(heap_t *h, uint64_t addr, uint64_t size,
		    uint64_t stack_id, uint8_t kind, uint64_t time_us)
{
	heap_block_t b, *stale;
	uint64_t sz, a;
	int rc;
	b.addr = addr;
	b.size = size;
	b.time_us = time_us;
	b.kind = kind;
	b.stack = intern(h, stack_id);
	if (b.stack == SIDX_NONE)
		return -ENOMEM;
	h->last_alloc = addr;
	if ((rc = insert(h, &b, &stale)) < 0)
		return rc;
	if (stale) {
		/* A still-live block at this address: its free was lost. */
		h->c.double_allocs++;
		if (!lean_take(h, stale, &sz, &a))
			return -ENOMEM;
		if ((rc = insert(h, &b, &stale)) < 0)
			return rc;
		if (stale)
			return -EIO;
	}
	h->c.heap_bytes += size;
	h->c.heap_blocks++;
	h->c.bytes_allocated += size;
	if ((rc = stack_change(h, b.stack, size, true)) < 0)
		return rc;
	if (h->c.heap_bytes > h->c.peak_bytes) {
		h->c.peak_bytes = h->c.heap_bytes;
		h->c.peak_blocks = h->c.heap_blocks;
		h->c.peak_time_us = time_us;
		h->c.epoch++;
	}
	return 0;
}

static inline __attribute__((always_inline)) int lean_apply(heap_t *h, const rd_event_t *ev)
{
	heap_block_t *slot;
	heap_stack_stat_t *st;
	uint64_t size, addr;
	switch (ev->kind) {
	case RD_ALLOC:
		h->c.allocs++;
		if (ev->u.alloc.kind < HT_KIND_COUNT)
			h->c.alloc_kind[ev->u.alloc.kind]++;
		if (!ev->u.alloc.addr) {
			h->c.double_allocs++;
			return 0;
		}
		return lean_add(h, ev->u.alloc.addr, ev->u.alloc.size,
				ev->u.alloc.stack, ev->u.alloc.kind, ev->time_us);
	case RD_FREE:
		h->c.frees++;
		slot = ev->u.free.addr ? find_slot(h, ev->u.free.addr) : NULL;
		if (!slot) {
			h->c.unknown_frees++;
			return 0;
		}
		sidx_t bs = slot->stack;
		if (!(st = lean_take(h, slot, &size, &addr)))
			return -ENOMEM;
		if (ev->u.free.site &&
		    charge_free(h, intern(h, ev->u.free.site), size) < 0)
			return -ENOMEM;
		/* The site's first charge may have grown (moved) the table. */
		st = &h->st[bs];
		if (addr == h->last_alloc) {
			h->last_alloc = 0;
			h->c.temporary++;
			h->c.temporary_bytes += size;
			st->temp_count++;
			st->temp_bytes += size;
		}
		return 0;
	case RD_REALLOC:
		h->c.reallocs++;
		slot = ev->u.realloc.old_addr ?
			find_slot(h, ev->u.realloc.old_addr) : NULL;
		if (slot) {
			sidx_t site = intern(h, ev->u.realloc.stack);
			if (!lean_take(h, slot, &size, &addr) || site == SIDX_NONE ||
			    charge_free(h, site, size) < 0)
				return -ENOMEM;
		} else {
			h->c.unknown_reallocs++;
		}
		if (!ev->u.realloc.new_addr) {
			h->c.double_allocs++;
			return 0;
		}
		return lean_add(h, ev->u.realloc.new_addr, ev->u.realloc.size,
				ev->u.realloc.stack, HT_KIND_REALLOC, ev->time_us);
	default:
		return 0;
	}
}

int heap_apply(heap_t *h, const rd_event_t *ev)
{
	if (!h->sink)
		return lean_apply(h, ev);
	switch (ev->kind) {
	case RD_ALLOC:
		return do_alloc(h, ev);
	case RD_FREE:
		return do_free(h, ev);
	case RD_REALLOC:
		return do_realloc(h, ev);
	default:
		return 0;
	}
}

/* The epoch trick's first half (see stack_change_st) for a change that is
 * neither an allocation nor a free. */
static heap_stack_stat_t *stat_for_move(heap_t *h, sidx_t s)
{
	heap_stack_stat_t *st = stat_of(h, s);
	if (st && st->peak_epoch != h->c.epoch) {
		st->peak_bytes = st->live_bytes;
		st->peak_count = st->live_count;
		st->peak_epoch = h->c.epoch;
	}
	return st;
}

int heap_move_live(heap_t *h, sidx_t to, uint64_t time_us)
{
	if (!stat_of(h, to))
		return -ENOMEM;
	/* The latest peak came before the mark: all it held was start-up's. */
	uint64_t pb = 0, pc = 0;
	for (size_t s = 0; s < h->nst; s++) {
		heap_stack_stat_t *st = &h->st[s];
		bool saved = st->peak_epoch == h->c.epoch;
		pb += saved ? st->peak_bytes : st->live_bytes;
		pc += saved ? st->peak_count : st->live_count;
		st->peak_bytes = st->peak_count = 0;
		st->peak_epoch = h->c.epoch;
	}
	h->st[to].peak_bytes = pb;
	h->st[to].peak_count = pc;
	for (size_t i = 0; i < h->cap; i++) {
		heap_block_t *b = &h->t[i];
		if (!b->addr || b->stack == to)
			continue;
		heap_stack_stat_t *from = stat_for_move(h, b->stack);
		if (!from)
			return -ENOMEM;
		from->live_bytes -= b->size;
		from->live_count--;
		heap_stack_stat_t *dst = stat_for_move(h, to);
		dst->live_bytes += b->size;
		dst->live_count++;
		heap_event_t ev = {
			.kind = HEAP_EV_MOVE,
			.block = *b,
			.old = *b,
			.old_known = true,
			.time_us = time_us,
			.heap_bytes = h->c.heap_bytes,
			.heap_blocks = h->c.heap_blocks,
		};
		ev.block.stack = to;
		b->stack = to;
		int rc = emit(h, &ev);
		if (rc)
			return rc;
	}
	/* Everything allocated so far was start-up's, freed or not. */
	heap_stack_stat_t *dst = &h->st[to];
	for (size_t s = 0; s < h->nst; s++) {
		if (s == to)
			continue;
		heap_stack_stat_t *st = &h->st[s];
		dst->alloc_count += st->alloc_count;
		dst->alloc_bytes += st->alloc_bytes;
		dst->temp_count += st->temp_count;
		dst->temp_bytes += st->temp_bytes;
		st->alloc_count = st->alloc_bytes = 0;
		st->temp_count = st->temp_bytes = 0;
	}
	h->last_alloc = 0;
	return 0;
}

int heap_restore(heap_t *h, const heap_counters_t *c,
		 const heap_stack_stat_t *st, size_t n)
{
	heap_reset(h);
	if (n) {
		h->st = malloc(n * sizeof(*h->st));
		if (!h->st)
			return -ENOMEM;
		memcpy(h->st, st, n * sizeof(*h->st));
		h->nst = n;
	}
	h->c = *c;
	return 0;
}

static inline __attribute__((always_inline)) void
prefetch_ev(const heap_t *h, const rd_event_t *ev)
{
	if (!h->cap)
		return;
	size_t mask = h->cap - 1, i;
	switch (ev->kind) {
	case RD_ALLOC:
		__builtin_prefetch(&h->t[hash_addr(h, ev->u.alloc.addr) & mask], 1);
		break;
	case RD_FREE:
		/* The slot, and the next line, which deletion looks at. */
		i = hash_addr(h, ev->u.free.addr) & mask;
		__builtin_prefetch(&h->t[i], 1);
		__builtin_prefetch(&h->t[(i + 2) & mask], 1);
		break;
	case RD_REALLOC:
		__builtin_prefetch(&h->t[hash_addr(h, ev->u.realloc.old_addr) & mask], 1);
		__builtin_prefetch(&h->t[hash_addr(h, ev->u.realloc.new_addr) & mask], 1);
		break;
	default:
		break;
	}
}

const heap_counters_t *heap_counters(const heap_t *h)
{
	return &h->c;
}

const heap_stack_stat_t *heap_stack_stats(const heap_t *h, size_t *n)
{
	*n = h->nst;
	return h->st;
}

void heap_stack_at_peak(const heap_t *h, sidx_t i, uint64_t *bytes,
			uint64_t *count)
{
	*bytes = *count = 0;
	if (i >= h->nst)
		return;
	const heap_stack_stat_t *st = &h->st[i];
	if (st->peak_epoch == h->c.epoch) {
		*bytes = st->peak_bytes;
		*count = st->peak_count;
	} else {
		*bytes = st->live_bytes;
		*count = st->live_count;
	}
}

int64_t heap_stack_net(const heap_t *h, sidx_t i)
{
	if (i >= h->nst)
		return 0;
	return (int64_t)(h->st[i].alloc_bytes - h->st[i].freed_bytes);
}

int64_t heap_stack_net_at_peak(const heap_t *h, sidx_t i)
{
	if (i >= h->nst)
		return 0;
	const heap_stack_stat_t *st = &h->st[i];
	uint64_t a = st->peak_epoch == h->c.epoch ? st->peak_alloc_bytes : st->alloc_bytes;
	uint64_t f = st->freed_epoch == h->c.epoch ? st->peak_freed_bytes : st->freed_bytes;
	return (int64_t)(a - f);
}

const heap_block_t *heap_lookup(const heap_t *h, uint64_t addr)
{
	return addr ? find_slot(h, addr) : NULL;
}

/* Events fetched ahead by heap_apply_run. */
#define RUN_AHEAD 16

/* Tables up to this size stay in the cache: fetching ahead would only
 * cost its instructions. */
#define PREFETCH_FROM ((size_t)1 << 20)

int heap_apply_run(heap_t *h, const rd_event_t *ev, size_t n,
		   size_t *failed)
{
	if (!h->sink && h->cap * sizeof(heap_block_t) < PREFETCH_FROM) {
		/* Until the table grows past that (then the rest of the
		 * run takes the loop below). */
		size_t i = 0;
		for (; i < n && h->cap * sizeof(heap_block_t) < PREFETCH_FROM; i++) {
			int rc = lean_apply(h, &ev[i]);
			if (rc) {
				*failed = i;
				return rc;
			}
		}
		if (i == n)
			return 0;
		int rc = heap_apply_run(h, ev + i, n - i, failed);
		if (rc)
			*failed += i;
		return rc;
	}
	for (size_t i = 0; i < n && i < RUN_AHEAD; i++)
		prefetch_ev(h, &ev[i]);
	for (size_t i = 0; i < n; i++) {
		if (i + RUN_AHEAD < n)
			prefetch_ev(h, &ev[i + RUN_AHEAD]);
		int rc = h->sink ? heap_apply(h, &ev[i]) : lean_apply(h, &ev[i]);
		if (rc) {
			*failed = i;
			return rc;
		}
	}
	return 0;
}

/* ---- aggregated traces ------------------------------------------------ */

/* The recorder's start-up stack is the analyzer's `<interpreter startup>`. */
static uint64_t agg_id(uint64_t id)
{
	return id == HT_AGG_STARTUP_ID ? STACKS_ID_STARTUP : id;
}

int heap_agg_state(heap_t *h, const rd_event_t *rev)
{
	const rd_agg_site_t *s = rev->u.agg_state.sites;
	h->c.heap_bytes = rev->u.agg_state.heap_bytes;
	h->c.heap_blocks = rev->u.agg_state.heap_blocks;
	h->c.allocs = rev->u.agg_state.allocs;
	h->c.frees = rev->u.agg_state.frees;
	h->c.reallocs = rev->u.agg_state.reallocs;
	h->c.unknown_frees = rev->u.agg_state.unknown_frees;
	h->c.bytes_allocated = rev->u.agg_state.bytes_allocated;
	memcpy(h->c.alloc_kind, rev->u.agg_state.by_kind, sizeof(h->c.alloc_kind));
	for (size_t i = 0; i < rev->u.agg_state.n; i++) {
		sidx_t x = intern(h, agg_id(s[i].stack));
		heap_stack_stat_t *st = x == SIDX_NONE ? NULL : stat_of(h, x);
		if (!st)
			return -ENOMEM;
		/* The epoch trick's first half: a stack first changed after
		 * the latest AGG_PEAK keeps what it had then (new stacks: 0). */
		if (st->peak_epoch != h->c.epoch) {
			st->peak_bytes = st->live_bytes;
			st->peak_count = st->live_count;
			st->peak_alloc_bytes = st->alloc_bytes;
			st->peak_epoch = h->c.epoch;
		}
		st->live_bytes = s[i].live_bytes;
		st->live_count = s[i].live_count;
		st->alloc_count = s[i].alloc_count;
		st->alloc_bytes = s[i].alloc_bytes;
		heap_event_t ev = {
			.kind = HEAP_EV_SET,
			.block = { .size = s[i].live_bytes, .stack = x, .time_us = rev->time_us },
			.site = SIDX_NONE,
			.time_us = rev->time_us,
			.thread = rev->thread,
			.heap_bytes = h->c.heap_bytes,
			.heap_blocks = h->c.heap_blocks,
			.count = s[i].live_count,
		};
		int rc = emit(h, &ev);
		if (rc)
			return rc;
	}
	return 0;
}

int heap_agg_peak(heap_t *h, const rd_event_t *rev)
{
	const rd_agg_site_t *s = rev->u.agg_peak.sites;
	/* Every listed stack has its totals entry before the epoch moves. */
	for (size_t i = 0; i < rev->u.agg_peak.n; i++) {
		sidx_t x = intern(h, agg_id(s[i].stack));
		if (x == SIDX_NONE || !stat_of(h, x))
			return -ENOMEM;
	}
	h->c.peak_bytes = rev->u.agg_peak.bytes;
	h->c.peak_blocks = rev->u.agg_peak.blocks;
	h->c.peak_time_us = rev->u.agg_peak.time_us;
	h->c.epoch++;
	for (size_t i = 0; i < h->nst; i++) {
		heap_stack_stat_t *st = &h->st[i];
		st->peak_bytes = st->peak_count = 0;
		st->peak_alloc_bytes = 0;
		st->peak_epoch = h->c.epoch;
	}
	for (size_t i = 0; i < rev->u.agg_peak.n; i++) {
		heap_stack_stat_t *st = &h->st[intern(h, agg_id(s[i].stack))];
		st->peak_bytes = s[i].live_bytes;
		st->peak_count = s[i].live_count;
		st->peak_alloc_bytes = s[i].alloc_bytes;
	}
	return 0;
}

int heap_agg_heap(heap_t *h, const rd_event_t *rev)
{
	/* For the timeline only: the heap's totals stay those of the last
	 * AGG_STATE, the sum of its stacks' (a trace cut short between two
	 * states still adds up). */
	heap_event_t ev = {
		.kind = HEAP_EV_SAMPLE,
		.site = SIDX_NONE,
		.time_us = rev->time_us,
		.thread = rev->thread,
		.heap_bytes = rev->u.agg_heap.bytes,
		.heap_blocks = rev->u.agg_heap.blocks,
	};
	ev.block.stack = SIDX_NONE;
	return emit(h, &ev);
}
