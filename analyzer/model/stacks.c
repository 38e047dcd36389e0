/* Stack, PYCODE and module tables: see stacks.h.  Frames and strings live
 * in a chunked bump arena (freed at reset), ids are found through
 * open-addressing hash tables. */
#include "model/stacks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (256u << 10)

typedef struct chunk {
	struct chunk *next;
	size_t used, cap; /* bytes of data[] */
	uint8_t data[];
} chunk_t;

typedef struct idmap {
	uint64_t *keys; /* 0 = empty slot (ids are >= 1; id 0 kept aside) */
	uint32_t *vals;
	size_t cap; /* power of two */
	size_t n;
	bool has_zero;
	uint32_t zero_val;
} idmap_t;

typedef struct generation {
	uint64_t id;
	module_info_t *mods;
	size_t n;
} generation_t;

struct stacks {
	chunk_t *arena;
	stack_info_t *v; /* by sidx */
	size_t n, cap;
	idmap_t ids; /* stack id -> sidx */
	uint32_t *direct; /* cache of ids: direct[id] = sidx, or UINT32_MAX
			   * (not cached yet: ask `ids`); ndirect entries */
	size_t ndirect;
	pycode_info_t *codes;
	size_t ncodes, capcodes;
	idmap_t codeids; /* pycode id -> index in codes */
	generation_t *gens;
	size_t ngens, capgens;
	char *exe;
};

static void *arena_alloc(stacks_t *s, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (!s->arena || s->arena->cap - s->arena->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		chunk_t *c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = s->arena;
		c->used = 0;
		c->cap = cap;
		s->arena = c;
	}
	void *p = s->arena->data + s->arena->used;
	s->arena->used += n;
	return p;
}

static char *arena_strdup(stacks_t *s, const char *str)
{
	size_t n = strlen(str) + 1;
	char *p = arena_alloc(s, n);
	if (p)
		memcpy(p, str, n);
	return p;
}

static size_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (size_t)x;
}

static uint32_t idmap_get(const idmap_t *m, uint64_t key)
{
	if (key == 0)
		return m->has_zero ? m->zero_val : UINT32_MAX;
	if (!m->cap)
		return UINT32_MAX;
	for (size_t i = hash64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (m->keys[i] == 0)
			return UINT32_MAX;
	}
}

static int idmap_put(idmap_t *m, uint64_t key, uint32_t val)
{
	if (key == 0) {
		m->has_zero = true;
		m->zero_val = val;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 1024;
		uint64_t *nk = calloc(ncap, sizeof(*nk));
		uint32_t *nv = malloc(ncap * sizeof(*nv));
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = hash64(m->keys[i]) & (ncap - 1);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = m->keys[i];
			nv[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	size_t i = hash64(key) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

static void idmap_clear(idmap_t *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

stacks_t *stacks_new(void)
{
	return calloc(1, sizeof(stacks_t));
}

void stacks_reset(stacks_t *s)
{
	while (s->arena) {
		chunk_t *c = s->arena;
		s->arena = c->next;
		free(c);
	}
	free(s->v);
	free(s->codes);
	for (size_t i = 0; i < s->ngens; i++)
		free(s->gens[i].mods);
	free(s->gens);
	free(s->exe);
	idmap_clear(&s->ids);
	idmap_clear(&s->codeids);
	free(s->direct);
	memset(s, 0, sizeof(*s));
}

void stacks_free(stacks_t *s)
{
	if (!s)
		return;
	stacks_reset(s);
	free(s);
}

sidx_t stacks_find(const stacks_t *s, uint64_t id)
{
	if (id < s->ndirect && s->direct[id] != UINT32_MAX)
		return s->direct[id];
	return idmap_get(&s->ids, id);
}

/* The recorder numbers stacks 1, 2, 3...: ids up to a few times the
 * number of stacks are cached in a plain array (grown on demand, so a
 * hostile huge id only takes the hash table path). */
static void cache_id(stacks_t *s, uint64_t id, uint32_t i)
{
	if (id >= s->ndirect) {
		/* Bound the id before doubling up to it (no overflow). */
		if (id >= 4 * ((uint64_t)s->n + 1024))
			return;
		size_t n = s->ndirect ? s->ndirect : 4096;
		while (n <= id)
			n *= 2;
		uint32_t *nd = realloc(s->direct, n * sizeof(*nd));
		if (!nd)
			return;
		memset(nd + s->ndirect, 0xff, (n - s->ndirect) * sizeof(*nd));
		s->direct = nd;
		s->ndirect = n;
	}
	s->direct[id] = i;
}

sidx_t stacks_intern(stacks_t *s, uint64_t id)
{
	if (id < s->ndirect && s->direct[id] != UINT32_MAX)
		return s->direct[id];
	uint32_t i = idmap_get(&s->ids, id);
	if (i != UINT32_MAX) {
		cache_id(s, id, i);
		return i;
	}
	if (s->n >= UINT32_MAX - 1)
		return SIDX_NONE;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		stack_info_t *nv = realloc(s->v, ncap * sizeof(*nv));
		if (!nv)
			return SIDX_NONE;
		s->v = nv;
		s->cap = ncap;
	}
	if (idmap_put(&s->ids, id, (uint32_t)s->n) < 0)
		return SIDX_NONE;
	stack_info_t *st = &s->v[s->n];
	memset(st, 0, sizeof(*st));
	st->id = id;
	/* An undefined stack resolves against the newest module map. */
	st->generation = s->ngens ? s->gens[s->ngens - 1].id : 0;
	cache_id(s, id, (uint32_t)s->n);
	return (sidx_t)s->n++;
}

int stacks_add_stack(stacks_t *s, const rd_event_t *ev)
{
	sidx_t i = stacks_intern(s, ev->u.stack.id);
	if (i == SIDX_NONE)
		return -ENOMEM;
	size_t nips = ev->u.stack.nips, npy = ev->u.stack.npy;
	if (nips > UINT32_MAX || npy > UINT32_MAX)
		return -ENOMEM;
	uint64_t *ips = arena_alloc(s, nips * sizeof(*ips) + 1);
	rd_pyref_t *py = arena_alloc(s, npy * sizeof(*py) + 1);
	if (!ips || !py)
		return -ENOMEM;
	if (nips)
		memcpy(ips, ev->u.stack.ips, nips * sizeof(*ips));
	if (npy)
		memcpy(py, ev->u.stack.py, npy * sizeof(*py));
	stack_info_t *st = &s->v[i];
	st->flags = ev->u.stack.flags;
	st->generation = s->ngens ? s->gens[s->ngens - 1].id : 0;
	st->ips = ips;
	st->nips = (uint32_t)nips;
	st->py = py;
	st->npy = (uint32_t)npy;
	st->defined = true;
	return 0;
}

int stacks_add_pycode(stacks_t *s, const rd_event_t *ev)
{
	uint32_t i = idmap_get(&s->codeids, ev->u.pycode.id);
	if (i == UINT32_MAX) {
		if (s->ncodes == s->capcodes) {
			size_t ncap = s->capcodes ? s->capcodes * 2 : 256;
			pycode_info_t *nc = realloc(s->codes, ncap * sizeof(*nc));
			if (!nc)
				return -ENOMEM;
			s->codes = nc;
			s->capcodes = ncap;
		}
		i = (uint32_t)s->ncodes;
		if (idmap_put(&s->codeids, ev->u.pycode.id, i) < 0)
			return -ENOMEM;
		s->ncodes++;
	}
	pycode_info_t *c = &s->codes[i];
	c->id = ev->u.pycode.id;
	c->file = arena_strdup(s, ev->u.pycode.file);
	c->function = arena_strdup(s, ev->u.pycode.function);
	c->firstline = ev->u.pycode.firstline;
	if (!c->file || !c->function)
		return -ENOMEM;
	return 0;
}

int stacks_add_modules(stacks_t *s, const rd_event_t *ev)
{
	size_t n = ev->u.modules.count;
	if (s->ngens == s->capgens) {
		size_t ncap = s->capgens ? s->capgens * 2 : 8;
		generation_t *ng = realloc(s->gens, ncap * sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		s->gens = ng;
		s->capgens = ncap;
	}
	module_info_t *mods = calloc(n ? n : 1, sizeof(*mods));
	if (!mods)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const rd_module_t *rm = &ev->u.modules.mods[i];
		module_info_t *m = &mods[i];
		m->path = arena_strdup(s, rm->path);
		m->bias = rm->bias;
		m->build_id_len = rm->build_id_len;
		uint8_t *bid = arena_alloc(s, rm->build_id_len + 1);
		rd_segment_t *segs = arena_alloc(s, rm->nsegs * sizeof(*segs) + 1);
		if (!m->path || !bid || !segs) {
			free(mods);
			return -ENOMEM;
		}
		if (rm->build_id_len)
			memcpy(bid, rm->build_id, rm->build_id_len);
		if (rm->nsegs)
			memcpy(segs, rm->segs, rm->nsegs * sizeof(*segs));
		m->build_id = bid;
		m->segs = segs;
		m->nsegs = rm->nsegs;
		m->lo = UINT64_MAX;
		m->hi = 0;
		for (size_t k = 0; k < rm->nsegs; k++) {
			uint64_t lo = rm->bias + rm->segs[k].vaddr;
			uint64_t hi = lo + rm->segs[k].memsz;
			if (lo < m->lo)
				m->lo = lo;
			if (hi > m->hi)
				m->hi = hi;
		}
	}
	s->gens[s->ngens].id = ev->u.modules.generation;
	s->gens[s->ngens].mods = mods;
	s->gens[s->ngens].n = n;
	s->ngens++;
	return 0;
}

int stacks_set_exe(stacks_t *s, const char *exe)
{
	char *e = strdup(exe ? exe : "");
	if (!e)
		return -ENOMEM;
	free(s->exe);
	s->exe = e;
	return 0;
}

const char *stacks_exe(const stacks_t *s)
{
	return s->exe ? s->exe : "";
}

size_t stacks_count(const stacks_t *s)
{
	return s->n;
}

const stack_info_t *stacks_get(const stacks_t *s, sidx_t i)
{
	return i < s->n ? &s->v[i] : NULL;
}

const pycode_info_t *stacks_pycode(const stacks_t *s, uint64_t id)
{
	uint32_t i = idmap_get(&s->codeids, id);
	return i == UINT32_MAX ? NULL : &s->codes[i];
}

static const module_info_t *find_in(const generation_t *g, uint64_t ip)
{
	for (size_t i = 0; i < g->n; i++) {
		const module_info_t *m = &g->mods[i];
		if (ip < m->lo || ip >= m->hi)
			continue;
		for (size_t k = 0; k < m->nsegs; k++) {
			uint64_t lo = m->bias + m->segs[k].vaddr;
			if (ip >= lo && ip - lo < m->segs[k].memsz)
				return m;
		}
	}
	return NULL;
}

const module_info_t *stacks_module_at(const stacks_t *s, uint64_t gen,
				      uint64_t ip)
{
	/* Newest map not newer than the stack's, then any other. */
	const generation_t *best = NULL;
	for (size_t i = 0; i < s->ngens; i++)
		if (s->gens[i].id <= gen)
			best = &s->gens[i];
	if (best) {
		const module_info_t *m = find_in(best, ip);
		if (m)
			return m;
	}
	for (size_t i = s->ngens; i-- > 0;) {
		const module_info_t *m = find_in(&s->gens[i], ip);
		if (m)
			return m;
	}
	return NULL;
}

size_t stacks_generations(const stacks_t *s)
{
	return s->ngens;
}

uint64_t stacks_generation_id(const stacks_t *s, size_t i)
{
	return i < s->ngens ? s->gens[i].id : 0;
}

size_t stacks_generation_modules(const stacks_t *s, size_t i,
				 const module_info_t **mods)
{
	if (i >= s->ngens) {
		*mods = NULL;
		return 0;
	}
	*mods = s->gens[i].mods;
	return s->gens[i].n;
}
