/* Growth chains; see growth.h.
 *
 * Memory: one chain per live block that has grown (found by its current
 * address in a small open-addressing table), per call site its totals
 * plus its heaviest (or longest) chain only, and the copy-step pairing
 * table (container.c: two marks per stack and thread).  A chain keeps at
 * most GROWTH_KEEP_HEAD + GROWTH_KEEP_TAIL steps (the tail is a ring), so
 * a block realloc'ed a million times costs the same as one realloc'ed
 * 65536 times.  Every event costs O(1) amortized: one probe of the chain
 * table, one of the pairing table. */
#include "agg/growth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/container.h"
#include "agg/topn.h"

#define KEEP (GROWTH_KEEP_HEAD + GROWTH_KEEP_TAIL)

struct chain {
	uint64_t addr; /* current address of the block */
	sidx_t site; /* first step's stack */
	sidx_t alloc_stack;
	uint64_t alloc_time_us;
	uint64_t initial_size;
	uint64_t final_size;
	uint64_t nsteps;
	uint64_t moved;
	uint64_t copied; /* bytes */
	uint64_t copies; /* copy steps (new block, copy, free) */
	sidx_t last_stack; /* the last step's stack */
	growth_end_t end;
	growth_step_t *steps; /* slot of step k: k < HEAD ? k :
			       * HEAD + (k - HEAD) % TAIL */
	size_t cap;
	growth_step_t *ordered; /* kept steps in order, built for reports */
};

struct site {
	uint64_t chains, steps, moved, copied;
	struct chain *best; /* longest ended chain, owned */
};

struct growth {
	agg_t base; /* first */
	struct chain **live; /* open addressing by addr; NULL = empty */
	size_t nlive, caplive;
	struct site *sites; /* by stack index */
	size_t nsites;
	uint64_t total_steps;
	uint64_t total_chains;
	uint64_t copy_steps; /* of total_steps */
	container_t pairs; /* copy-step pairing */
	growth_sort_t sort;
	uint64_t text_steps; /* 0 = all */
	bool (*keep)(void *arg, sidx_t stack); /* report filter, NULL = all */
	void *keep_arg;
	bool moved_startup; /* start-up's chains were dropped (HEAP_EV_MOVE) */
};

static uint64_t hash_addr(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	return x;
}

static size_t live_slot(const growth_t *g, uint64_t addr)
{
	size_t mask = g->caplive - 1;
	size_t j = hash_addr(addr) & mask;
	while (g->live[j] && g->live[j]->addr != addr)
		j = (j + 1) & mask;
	return j;
}

static struct chain *live_find(const growth_t *g, uint64_t addr)
{
	if (!g->caplive)
		return NULL;
	return g->live[live_slot(g, addr)];
}

static int live_insert(growth_t *g, struct chain *c)
{
	if (2 * (g->nlive + 1) > g->caplive) {
		size_t ocap = g->caplive, ncap = ocap ? 2 * ocap : 256;
		struct chain **old = g->live;
		g->live = calloc(ncap, sizeof *g->live);
		if (!g->live) {
			g->live = old;
			return -ENOMEM;
		}
		g->caplive = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				g->live[live_slot(g, old[i]->addr)] = old[i];
		free(old);
	}
	g->live[live_slot(g, c->addr)] = c;
	g->nlive++;
	return 0;
}

/* Removes the entry for addr (linear probing: backward shift). */
static void live_remove(growth_t *g, uint64_t addr)
{
	if (!g->caplive)
		return;
	size_t mask = g->caplive - 1;
	size_t j = live_slot(g, addr);
	if (!g->live[j])
		return;
	g->live[j] = NULL;
	g->nlive--;
	for (size_t k = (j + 1) & mask; g->live[k]; k = (k + 1) & mask) {
		size_t home = hash_addr(g->live[k]->addr) & mask;
		/* Move k into the hole j unless its home lies in (j, k]. */
		if ((k > j && (home <= j || home > k)) ||
		    (k < j && (home <= j && home > k))) {
			g->live[j] = g->live[k];
			g->live[k] = NULL;
			j = k;
		}
	}
}

static void chain_free(struct chain *c)
{
	if (!c)
		return;
	free(c->steps);
	free(c->ordered);
	free(c);
}

static int ensure_site(growth_t *g, sidx_t s)
{
	if (s < g->nsites)
		return 0;
	size_t n = g->nsites ? g->nsites : 64;
	while (n <= s)
		n *= 2;
	struct site *p = realloc(g->sites, n * sizeof *p);
	if (!p)
		return -ENOMEM;
	memset(p + g->nsites, 0, (n - g->nsites) * sizeof *p);
	g->sites = p;
	g->nsites = n;
	return 0;
}

/* final_size * (moved + 1), saturating. */
static uint64_t weight(const struct chain *c)
{
	uint64_t k = c->moved + 1;
	if (c->final_size && k > UINT64_MAX / c->final_size)
		return UINT64_MAX;
	return c->final_size * k;
}

static int better(const growth_t *g, const struct chain *a,
		  const struct chain *b)
{
	if (g->sort == GROWTH_SORT_BYTES && weight(a) != weight(b))
		return weight(a) > weight(b);
	if (a->nsteps != b->nsteps)
		return a->nsteps > b->nsteps;
	return a->final_size > b->final_size;
}

/* Ends chain c (already out of the live table): fold into its site. */
static void chain_end(growth_t *g, struct chain *c, growth_end_t why)
{
	c->end = why;
	g->total_chains++;
	if (c->site == SIDX_NONE || ensure_site(g, c->site)) {
		chain_free(c);
		return;
	}
	struct site *s = &g->sites[c->site];
	s->chains++;
	s->steps += c->nsteps;
	s->moved += c->moved;
	s->copied += c->copied;
	if (!s->best || better(g, c, s->best)) {
		chain_free(s->best);
		s->best = c;
	} else {
		chain_free(c);
	}
}

static int chain_step(struct chain *c, const growth_step_t *st)
{
	uint64_t k = c->nsteps;
	size_t slot = k < GROWTH_KEEP_HEAD
			      ? (size_t)k
			      : GROWTH_KEEP_HEAD +
					(size_t)((k - GROWTH_KEEP_HEAD) %
						 GROWTH_KEEP_TAIL);
	if (slot >= c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 2;
		if (cap > KEEP)
			cap = KEEP;
		growth_step_t *p = realloc(c->steps, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		c->steps = p;
		c->cap = cap;
	}
	c->steps[slot] = *st;
	c->nsteps++;
	if (st->moved) {
		c->moved++;
		c->copied += st->old_size;
	}
	c->copies += st->copy;
	c->last_stack = st->stack;
	c->final_size = st->new_size;
	return 0;
}

static int on_realloc(growth_t *g, const heap_event_t *ev)
{
	const heap_block_t *o = &ev->old, *n = &ev->block;
	struct chain *c = live_find(g, o->addr);
	if (n->size < o->size) {
		if (c) {
			live_remove(g, o->addr);
			chain_end(g, c, GROWTH_END_SHRUNK);
		}
		return 0;
	}
	if (n->size == o->size) {
		if (c && n->addr != o->addr) {
			live_remove(g, o->addr);
			c->addr = n->addr;
			return live_insert(g, c);
		}
		return 0;
	}
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return -ENOMEM;
		c->addr = o->addr;
		c->site = n->stack;
		c->alloc_stack = o->stack;
		c->alloc_time_us = o->time_us;
		c->initial_size = o->size;
		int rc = live_insert(g, c);
		if (rc) {
			chain_free(c);
			return rc;
		}
	}
	growth_step_t st = { .old_size = o->size, .new_size = n->size,
			     .time_us = ev->time_us,
			     .moved = n->addr != o->addr, .stack = n->stack };
	g->total_steps++;
	int rc = chain_step(c, &st);
	if (rc)
		return rc;
	if (st.moved) {
		live_remove(g, o->addr);
		c->addr = n->addr;
		return live_insert(g, c);
	}
	return 0;
}

/* Block o is freed now that n, allocated just before from the same site
 * by the same thread, took over (container.h): one copy step. */
static int on_copy(growth_t *g, const heap_block_t *o, const heap_block_t *n)
{
	struct chain *c = live_find(g, o->addr);
	if (c) {
		live_remove(g, o->addr);
	} else {
		c = calloc(1, sizeof *c);
		if (!c)
			return -ENOMEM;
		c->site = o->stack;
		c->alloc_stack = o->stack;
		c->alloc_time_us = o->time_us;
		c->initial_size = o->size;
	}
	growth_step_t st = { .old_size = o->size, .new_size = n->size,
			     .time_us = n->time_us, .moved = true,
			     .copy = true, .stack = n->stack };
	g->total_steps++;
	g->copy_steps++;
	int rc = chain_step(c, &st);
	c->addr = n->addr;
	if (!rc)
		rc = live_insert(g, c);
	if (rc)
		chain_free(c);
	return rc;
}

/* The free of ev's block, one of the last two its thread allocated at
 * its stack: a copy step, or 1 when it is not one.  Out of line: rare. */
static __attribute__((noinline)) int try_copy(growth_t *g,
					      const heap_event_t *ev, int way)
{
	heap_block_t succ;
	if (container_on_free(&g->pairs, &ev->block, way, g->base.heap, &succ))
		return on_copy(g, &ev->block, &succ);
	return 1;
}

static void clear(growth_t *g);

static int op_add(agg_t *a, const heap_event_t *ev)
{
	growth_t *g = (growth_t *)a;
	struct chain *c;
	int way, rc;
	switch (ev->kind) {
	case HEAP_EV_SET: /* aggregated traces have no chains */
	case HEAP_EV_SAMPLE:
		return 0;
	case HEAP_EV_REALLOC:
		if (ev->old_known)
			return on_realloc(g, ev);
		break;
	case HEAP_EV_FREE:
		way = container_free_way(&g->pairs, &ev->block, ev->thread);
		if (way >= 0 && (rc = try_copy(g, ev, way)) <= 0)
			return rc;
		/* fall through */
	case HEAP_EV_ALLOC: /* an ALLOC at a chain's address: stale */
		c = live_find(g, ev->block.addr);
		if (c) {
			live_remove(g, ev->block.addr);
			chain_end(g, c, GROWTH_END_FREED);
		}
		if (ev->kind == HEAP_EV_ALLOC)
			return container_on_alloc(&g->pairs, &ev->block,
						  ev->thread);
		break;
	case HEAP_EV_MOVE:
		/* The first of a Python start-up mark's moves (heap.h): the
		 * chains so far were the interpreter's start-up, not the
		 * program's; later reallocs start chains of their own. */
		if (!g->moved_startup) {
			clear(g);
			g->moved_startup = true;
		}
		break;
	}
	return 0;
}

static void clear(growth_t *g)
{
	for (size_t i = 0; i < g->caplive; i++)
		chain_free(g->live[i]);
	free(g->live);
	g->live = NULL;
	g->nlive = g->caplive = 0;
	for (size_t i = 0; i < g->nsites; i++)
		chain_free(g->sites[i].best);
	free(g->sites);
	g->sites = NULL;
	g->nsites = 0;
	g->total_steps = g->total_chains = g->copy_steps = 0;
	container_reset(&g->pairs);
}

static void op_reset(agg_t *a)
{
	clear((growth_t *)a);
	((growth_t *)a)->moved_startup = false;
}

static const agg_ops_t growth_ops = {
	.name = "growth",
	.add = op_add,
	.reset = op_reset,
};

growth_t *growth_new(void)
{
	growth_t *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->base.ops = &growth_ops;
	g->text_steps = GROWTH_TEXT_STEPS;
	container_init(&g->pairs);
	return g;
}

void growth_set_sort(growth_t *g, growth_sort_t sort)
{
	g->sort = sort;
}

void growth_set_text_steps(growth_t *g, uint64_t n)
{
	g->text_steps = n;
}

void growth_set_filter(growth_t *g, bool (*keep)(void *arg, sidx_t stack),
		       void *arg)
{
	g->keep = keep;
	g->keep_arg = arg;
}

uint64_t growth_copy_steps(const growth_t *g)
{
	return g->copy_steps;
}

void growth_free(growth_t *g)
{
	if (!g)
		return;
	clear(g);
	container_free(&g->pairs);
	free(g);
}

agg_t *growth_agg(growth_t *g)
{
	return &g->base;
}

void growth_finish(growth_t *g)
{
	for (size_t i = 0; i < g->caplive; i++) {
		struct chain *c = g->live[i];
		if (!c)
			continue;
		g->live[i] = NULL;
		chain_end(g, c, GROWTH_END_LIVE);
	}
	g->nlive = 0;
}

void growth_totals(const growth_t *g, uint64_t *steps, uint64_t *chains)
{
	*steps = g->total_steps;
	*chains = g->total_chains + g->nlive;
}

/* Fills c->ordered with the kept steps in order; returns their count and
 * where the omitted ones sit. */
static size_t chain_order(struct chain *c, size_t *omitted_after,
			  uint64_t *omitted)
{
	size_t n = c->nsteps < KEEP ? (size_t)c->nsteps : KEEP;
	*omitted_after = 0;
	*omitted = 0;
	free(c->ordered);
	c->ordered = malloc((n ? n : 1) * sizeof *c->ordered);
	if (!c->ordered)
		return 0;
	if (c->nsteps <= KEEP) {
		memcpy(c->ordered, c->steps, n * sizeof *c->ordered);
		return n;
	}
	memcpy(c->ordered, c->steps, GROWTH_KEEP_HEAD * sizeof *c->ordered);
	size_t o = GROWTH_KEEP_HEAD;
	for (uint64_t k = c->nsteps - GROWTH_KEEP_TAIL; k < c->nsteps; k++)
		c->ordered[o++] =
			c->steps[GROWTH_KEEP_HEAD +
				 (size_t)((k - GROWTH_KEEP_HEAD) %
					  GROWTH_KEEP_TAIL)];
	*omitted_after = GROWTH_KEEP_HEAD;
	*omitted = c->nsteps - KEEP;
	return n;
}

long growth_sites(growth_t *g, size_t limit, growth_site_t **out,
		  size_t *total)
{
	growth_finish(g);
	*out = NULL;
	size_t n = 0;
	for (size_t i = 0; i < g->nsites; i++)
		n += g->sites[i].best &&
		     g->sites[i].best->nsteps >= GROWTH_MIN_STEPS;
	topn_entry_t *v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < g->nsites; i++) {
		struct site *s = &g->sites[i];
		if (!s->best || s->best->nsteps < GROWTH_MIN_STEPS)
			continue;
		if (g->keep && !g->keep(g->keep_arg, (sidx_t)i))
			continue;
		const struct chain *c = s->best;
		v[n++] = g->sort == GROWTH_SORT_BYTES
				 ? (topn_entry_t){ .cost = { weight(c), c->nsteps,
							     s->steps,
							     UINT64_MAX - i },
						   .item = s }
				 : (topn_entry_t){ .cost = { c->nsteps, s->steps,
							     c->final_size,
							     UINT64_MAX - i },
						   .item = s };
	}
	if (total)
		*total = n;
	size_t k = topn_rank(v, n, limit);
	growth_site_t *res = calloc(k ? k : 1, sizeof *res);
	if (!res) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		struct site *s = v[i].item;
		struct chain *c = s->best;
		growth_site_t *o = &res[i];
		o->stack = (sidx_t)(s - g->sites);
		o->chains = s->chains;
		o->steps = s->steps;
		o->moved = s->moved;
		o->copied_bytes = s->copied;
		o->alloc_stack = c->alloc_stack;
		o->alloc_time_us = c->alloc_time_us;
		o->initial_size = c->initial_size;
		o->final_size = c->final_size;
		o->nsteps = c->nsteps;
		o->copies = c->copies;
		o->weight = weight(c);
		o->last_stack = c->last_stack;
		o->end = c->end;
		o->nshown = chain_order(c, &o->omitted_after, &o->omitted);
		o->shown = c->ordered;
	}
	free(v);
	*out = res;
	return (long)k;
}

const char *growth_end_name(growth_end_t e)
{
	switch (e) {
	case GROWTH_END_FREED:
		return "freed";
	case GROWTH_END_SHRUNK:
		return "shrunk";
	case GROWTH_END_LIVE:
		break;
	}
	return "live";
}

int growth_result(growth_t *g, size_t limit, growth_result_t *res)
{
	memset(res, 0, sizeof *res);
	long n = growth_sites(g, limit, &res->sites, &res->total);
	if (n < 0)
		return (int)n;
	res->n = (size_t)n;
	growth_totals(g, &res->steps, &res->chains);
	res->copy_steps = g->copy_steps;
	res->sort = g->sort;
	res->text_steps = g->text_steps;
	return 0;
}

void growth_result_free(growth_result_t *res)
{
	free(res->sites);
	memset(res, 0, sizeof *res);
}
