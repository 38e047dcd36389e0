/* stacks: see stacks.h.
 * Open addressing table of entry pointers; entries live in a bump arena of
 * 256 KiB mmap chunks and are never freed (ids stay valid for the writer and
 * across a followed fork). */
#include "stacks.h"

#include "mapmem.h"

#include "heaptrail_format.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_CHUNK (256u << 10)

/* The probe table starts small and doubles at 3/4 load up to the size
 * stacks_init was given; a grown table replaces the old one with a release
 * store, and the old one stays mapped (a lock-free reader may be in it;
 * all of them together are smaller than the last). */
#define TABLE_MIN_BITS 12
typedef struct stab {
	uint64_t mask; /* slots - 1 */
	uint64_t used; /* filled slots (under the lock) */
	stack_entry_t *slot[];
} stab_t;
static stab_t *table; /* published with release */
/* id -> entry, in chunks mapped as ids are handed out (a reader only asks
 * for ids it was given, published after their chunk). */
#define BYID_CHUNK 4096u
#define BYID_CHUNKS 256u /* ids < 2^20 */
static stack_entry_t **by_id[BYID_CHUNKS];
static uint32_t max_ids; /* the largest table fills at 3/4 */
static uint32_t next_id = 1;
static uint32_t full_id; /* the reserved "table full" stack, 0 until needed */
static int lock_word;
static char *arena;
static size_t arena_left;

static void *map(size_t len)
{
	return mapmem_map(len, MAPMEM_STACKS, 0);
}

static unsigned table_bits;

static stab_t *stab_new(unsigned bits)
{
	stab_t *t = map(sizeof(stab_t) + ((size_t)8 << bits));
	if (t)
		t->mask = ((uint64_t)1 << bits) - 1;
	return t;
}

int stacks_init(unsigned bits)
{
	if (table)
		return 0;
	if (bits > 20)
		bits = 20; /* BYID_CHUNKS */
	table_bits = bits;
	max_ids = (uint32_t)(((size_t)1 << bits) / 4 * 3);
	stab_t *t = stab_new(bits < TABLE_MIN_BITS ? bits : TABLE_MIN_BITS);
	if (!t)
		return -ENOMEM;
	__atomic_store_n(&table, t, __ATOMIC_RELEASE);
	return 0;
}

/* Caller holds the lock: a table twice as large with every entry of t. */
static stab_t *stab_grow(stab_t *t)
{
	unsigned bits = (unsigned)__builtin_popcountll(t->mask) + 1;
	stab_t *n = stab_new(bits);
	if (!n)
		return NULL;
	for (uint64_t i = 0; i <= t->mask; i++) {
		stack_entry_t *s = t->slot[i];
		if (!s)
			continue;
		uint64_t j = s->hash & n->mask;
		while (n->slot[j])
			j = (j + 1) & n->mask;
		n->slot[j] = s;
		n->used++;
	}
	__atomic_store_n(&table, n, __ATOMIC_RELEASE);
	return n;
}

/* This thread holds the insert lock or is taking it.  Set before the
 * exchange and cleared after the release, so that a signal handler on
 * this thread that finds the lock taken knows when the holder is the code
 * it interrupted (which cannot go on until the handler returns). */
static __thread int lock_mine __attribute__((tls_model("initial-exec")));

static void stacks_lock(void)
{
	lock_mine = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void stacks_unlock(void)
{
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	lock_mine = 0;
}

/* The lock for a signal handler: STACKS_HELD at once when the code the
 * handler interrupted holds it; otherwise another thread does, and its
 * insert (memory work, no lock of its own) ends, so the handler waits for
 * it, giving up (0) only after a second (a holder stopped for good).
 * 1000 spins and giving up lost one handler event of sigalloc's 400 in a
 * third of its runs: the main thread's first inserts map memory, and a
 * signal is delivered as each of those system calls returns (issue 14). */
static uint32_t stacks_lock_nested(void)
{
	if (lock_mine)
		return STACKS_HELD;
	lock_mine = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	uint64_t since = 0;
	for (unsigned n_try = 1; __atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE); n_try++) {
		if (n_try % 1024)
			continue;
		uint64_t now = util_mono_ns();
		if (!since)
			since = now;
		else if (now - since > 1000000000ull) {
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			lock_mine = 0;
			return 0;
		}
		sched_yield();
	}
	return 1;
}

/* One multiply per frame on the hot path; fmix64 at the end spreads the
 * bits before the table index is taken. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x9e3779b97f4a7c15ull;
}

static inline uint64_t finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static int same(const stack_entry_t *s, uint64_t h, const uint64_t *ips, unsigned n,
		const uint32_t *pc, const uint32_t *pl, unsigned m, unsigned flags)
{
	if (s->hash != h || s->n != n || s->m != m || s->flags != flags)
		return 0;
	if (memcmp(s->w, ips, n * sizeof(uint64_t)))
		return 0;
	for (unsigned i = 0; i < m; i++)
		if (s->w[n + i] != stacks_py_word(pc[i], pl[i]))
			return 0;
	return 1;
}

static stack_entry_t *arena_alloc(size_t len)
{
	len = (len + 15) & ~(size_t)15;
	if (len > arena_left) {
		size_t chunk = len > ARENA_CHUNK ? len : ARENA_CHUNK;
		arena = map(chunk);
		if (!arena) {
			arena_left = 0;
			return NULL;
		}
		arena_left = chunk;
	}
	stack_entry_t *s = (stack_entry_t *)arena;
	arena += len;
	arena_left -= len;
	return s;
}

/* Caller holds the lock. */
static uint32_t add(uint64_t h, uint64_t slot, const uint64_t *ips, unsigned n,
		    const uint32_t *pc, const uint32_t *pl, unsigned m, unsigned flags,
		    uint32_t mod_gen)
{
	stack_entry_t *s = arena_alloc(sizeof(*s) + (n + m) * sizeof(uint64_t));
	if (!s)
		return 0;
	s->hash = h;
	s->id = next_id;
	s->n = (uint16_t)n;
	s->m = (uint16_t)m;
	s->flags = flags;
	s->mod_gen = mod_gen;
	if (n)
		memcpy(s->w, ips, n * sizeof(uint64_t));
	for (unsigned i = 0; i < m; i++)
		s->w[n + i] = stacks_py_word(pc[i], pl[i]);
	stack_entry_t ***chunk = &by_id[s->id / BYID_CHUNK];
	if (!*chunk) {
		stack_entry_t **c = map(BYID_CHUNK * sizeof(*c));
		if (!c)
			return 0; /* the arena bytes are lost: out of memory anyway */
		__atomic_store_n(chunk, c, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&(*chunk)[s->id % BYID_CHUNK], s, __ATOMIC_RELEASE);
	__atomic_store_n(&next_id, next_id + 1, __ATOMIC_RELEASE);
	if (slot != (uint64_t)-1) {
		table->used++;
		__atomic_store_n(&table->slot[slot], s, __ATOMIC_RELEASE);
	}
	return s->id;
}

static uint32_t intern(const uint64_t *ips, unsigned n, const uint32_t *py_code,
		       const uint32_t *py_line, unsigned m, unsigned flags, uint32_t mod_gen,
		       int *is_new, int try)
{
	*is_new = 0;
	stab_t *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
	if (!t)
		return 0;
	uint64_t h = mix(flags, n * 131 + m);
	for (unsigned i = 0; i < n; i++)
		h = mix(h, ips[i]);
	for (unsigned i = 0; i < m; i++)
		h = mix(h, stacks_py_word(py_code[i], py_line[i]));
	h = finish(h);
	uint64_t i = h & t->mask;
	for (;;) {
		stack_entry_t *s = __atomic_load_n(&t->slot[i], __ATOMIC_ACQUIRE);
		if (!s)
			break;
		if (same(s, h, ips, n, py_code, py_line, m, flags))
			return s->id;
		i = (i + 1) & t->mask;
	}
	if (!try) {
		stacks_lock();
	} else {
		uint32_t got = stacks_lock_nested();
		if (got != 1)
			return got;
	}
	/* Re-probe from where the lock-free scan stopped (only NULL slots can
	 * have been filled meanwhile), or from the start in a grown table. */
	if (t != table) {
		t = table;
		i = h & t->mask;
	}
	for (;;) {
		stack_entry_t *s = t->slot[i];
		if (!s)
			break;
		if (same(s, h, ips, n, py_code, py_line, m, flags)) {
			stacks_unlock();
			return s->id;
		}
		i = (i + 1) & t->mask;
	}
	if ((t->used + 1) * 4 > (t->mask + 1) * 3 &&
	    (unsigned)__builtin_popcountll(t->mask) < table_bits) {
		stab_t *g = stab_grow(t);
		if (g) {
			t = g;
			for (i = h & t->mask; t->slot[i]; i = (i + 1) & t->mask)
				;
		}
	}
	uint32_t id;
	if (next_id <= max_ids && t->used + 2 <= t->mask + 1) {
		id = add(h, i, ips, n, py_code, py_line, m, flags, mod_gen);
		*is_new = id != 0;
	} else {
		if (!full_id) {
			full_id = add(0, (uint64_t)-1, NULL, 0, NULL, NULL, 0,
				      HT_STACK_TRUNCATED | HT_STACK_UNWIND_ERROR, mod_gen);
			*is_new = full_id != 0;
		}
		id = full_id;
	}
	stacks_unlock();
	return id;
}

uint32_t stacks_intern(const uint64_t *ips, unsigned n, const uint32_t *py_code,
		       const uint32_t *py_line, unsigned m, unsigned flags, uint32_t mod_gen,
		       int *is_new)
{
	return intern(ips, n, py_code, py_line, m, flags, mod_gen, is_new, 0);
}

uint32_t stacks_intern_nested(const uint64_t *ips, unsigned n, unsigned flags, uint32_t mod_gen,
			      int *is_new)
{
	return intern(ips, n, NULL, NULL, 0, flags, mod_gen, is_new, 1);
}

const stack_entry_t *stacks_get(uint32_t id)
{
	if (id == 0 || id > max_ids + 1)
		return NULL;
	stack_entry_t **c = __atomic_load_n(&by_id[id / BYID_CHUNK], __ATOMIC_ACQUIRE);
	return c ? __atomic_load_n(&c[id % BYID_CHUNK], __ATOMIC_ACQUIRE) : NULL;
}

uint32_t stacks_count(void)
{
	return __atomic_load_n(&next_id, __ATOMIC_ACQUIRE) - 1;
}

void stacks_reset_child(void)
{
	/* Another thread may have been inserting at fork: start a new table
	 * (the old one stays mapped, untouched).  Ids restart at 1. */
	table = NULL;
	memset(by_id, 0, sizeof(by_id));
	next_id = 1;
	full_id = 0;
	lock_word = 0;
	lock_mine = 0;
	arena = NULL;
	arena_left = 0;
	stacks_init(table_bits);
}
