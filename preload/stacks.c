/* stacks: see stacks.h.
 * Open addressing table of entry pointers; entries live in a bump arena of
 * 1 MiB mmap chunks and are never freed (ids stay valid for the writer and
 * across a followed fork). */
#include "stacks.h"

#include "heaptrail_format.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_CHUNK (1u << 20)

static stack_entry_t **table; /* 2^bits slots, published with release */
static uint64_t mask;
static stack_entry_t **by_id; /* id -> entry; max_ids slots */
static uint32_t max_ids; /* table fills at 3/4 */
static uint32_t next_id = 1;
static uint32_t full_id; /* the reserved "table full" stack, 0 until needed */
static int lock_word;
static char *arena;
static size_t arena_left;

static void *map(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

static unsigned table_bits;

int stacks_init(unsigned bits)
{
	if (table)
		return 0;
	table_bits = bits;
	size_t slots = (size_t)1 << bits;
	max_ids = (uint32_t)(slots / 4 * 3);
	table = map(slots * sizeof(*table));
	by_id = map(((size_t)max_ids + 2) * sizeof(*by_id));
	if (!table || !by_id)
		return -ENOMEM;
	mask = slots - 1;
	return 0;
}

static void stacks_lock(void)
{
	while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void stacks_unlock(void)
{
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
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
	__atomic_store_n(&by_id[s->id], s, __ATOMIC_RELEASE);
	__atomic_store_n(&next_id, next_id + 1, __ATOMIC_RELEASE);
	if (slot != (uint64_t)-1)
		__atomic_store_n(&table[slot], s, __ATOMIC_RELEASE);
	return s->id;
}

static uint32_t intern(const uint64_t *ips, unsigned n, const uint32_t *py_code,
		       const uint32_t *py_line, unsigned m, unsigned flags, uint32_t mod_gen,
		       int *is_new, int try)
{
	*is_new = 0;
	if (!table)
		return 0;
	uint64_t h = mix(flags, n * 131 + m);
	for (unsigned i = 0; i < n; i++)
		h = mix(h, ips[i]);
	for (unsigned i = 0; i < m; i++)
		h = mix(h, stacks_py_word(py_code[i], py_line[i]));
	h = finish(h);
	uint64_t i = h & mask;
	for (;;) {
		stack_entry_t *s = __atomic_load_n(&table[i], __ATOMIC_ACQUIRE);
		if (!s)
			break;
		if (same(s, h, ips, n, py_code, py_line, m, flags))
			return s->id;
		i = (i + 1) & mask;
	}
	if (!try) {
		stacks_lock();
	} else {
		/* The holder may be the code this signal handler interrupted. */
		int n_try = 0;
		while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE))
			if (++n_try == 1000)
				return 0;
	}
	/* Re-probe from where the lock-free scan stopped: only NULL slots can
	 * have been filled meanwhile. */
	for (;;) {
		stack_entry_t *s = table[i];
		if (!s)
			break;
		if (same(s, h, ips, n, py_code, py_line, m, flags)) {
			stacks_unlock();
			return s->id;
		}
		i = (i + 1) & mask;
	}
	uint32_t id;
	if (next_id <= max_ids) {
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
	if (!by_id || id == 0 || id > max_ids + 1)
		return NULL;
	return __atomic_load_n(&by_id[id], __ATOMIC_ACQUIRE);
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
	by_id = NULL;
	next_id = 1;
	full_id = 0;
	lock_word = 0;
	arena = NULL;
	arena_left = 0;
	stacks_init(table_bits);
}
