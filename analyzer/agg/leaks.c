/* Leaks aggregator and leak-candidate analysis; see leaks.h.
 *
 * Memory: per-stack live totals (sitelive) plus, per snapshot, the stacks
 * whose live bytes changed since the previous snapshot (so a long run with
 * many timer snapshots costs what changes, not stacks x snapshots).  The
 * candidate rule (leakrule.h) keeps a few counters per group and is fed
 * only the points where the group changed, so the analysis replays the
 * points once to judge every group, then once more to build the series of
 * the candidates only. */
#include "agg/leaks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/leakrule.h"
#include "agg/sitelive.h"
#include "agg/topn.h"

/* One snapshot point: the stacks whose live bytes changed since the
 * previous point, with their live bytes now. */
struct point {
	leaks_point_t pub;
	char *label; /* owned copy (pub.label points here) */
	sidx_t *stack;
	uint64_t *bytes;
	size_t n;
};

struct leaks {
	agg_t base; /* first: agg_t * casts back to leaks_t * */
	sitelive_t live;
	report_by_t by;
	struct point *pts;
	size_t npts, cappts;
	leaks_point_t *pub; /* view of pts[].pub for leaks_points() */
	int finished; /* the end point was considered */
	int at_exit; /* leaks_set_at_exit: ignore the teardown mark */
	int seen_main, seen_teardown; /* the image's Python marks */
	sidx_t startup; /* the <interpreter startup> stack (HEAP_EV_MOVE's),
			 * never a candidate; SIDX_NONE */
	int frozen; /* past the Python teardown mark (at_exit 0): later
		     * events and marks are not the program's */
	uint64_t last_time_us; /* time of the last event */
	uint8_t *dirty; /* per stack: changed since the last point */
	size_t capdirty;
	sidx_t *dlist; /* the dirty stacks */
	size_t ndlist, capdlist;
};

static int mark_dirty(leaks_t *l, sidx_t s)
{
	if (s == SIDX_NONE)
		return 0;
	if (s >= l->capdirty) {
		size_t cap = l->capdirty ? l->capdirty : 256;
		while (cap <= s)
			cap *= 2;
		uint8_t *d = realloc(l->dirty, cap);
		if (!d)
			return -ENOMEM;
		memset(d + l->capdirty, 0, cap - l->capdirty);
		l->dirty = d;
		l->capdirty = cap;
	}
	if (l->dirty[s])
		return 0;
	if (l->ndlist == l->capdlist) {
		size_t cap = l->capdlist ? 2 * l->capdlist : 256;
		sidx_t *d = realloc(l->dlist, cap * sizeof *d);
		if (!d)
			return -ENOMEM;
		l->dlist = d;
		l->capdlist = cap;
	}
	l->dirty[s] = 1;
	l->dlist[l->ndlist++] = s;
	return 0;
}

static int add_point(leaks_t *l, const char *label, uint64_t origin,
		     uint64_t time_us)
{
	if (l->npts == l->cappts) {
		size_t cap = l->cappts ? 2 * l->cappts : 16;
		struct point *p = realloc(l->pts, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		l->pts = p;
		l->cappts = cap;
	}
	struct point *p = &l->pts[l->npts];
	memset(p, 0, sizeof *p);
	size_t n = l->ndlist;
	p->label = strdup(label ? label : "");
	p->stack = malloc((n ? n : 1) * sizeof *p->stack);
	p->bytes = malloc((n ? n : 1) * sizeof *p->bytes);
	if (!p->label || !p->stack || !p->bytes)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sidx_t s = l->dlist[i];
		p->stack[i] = s;
		p->bytes[i] = sitelive_bytes(&l->live, s);
		l->dirty[s] = 0;
	}
	p->n = n;
	l->ndlist = 0;
	p->pub.label = p->label;
	p->pub.origin = origin;
	p->pub.time_us = time_us;
	p->pub.heap_bytes = l->live.total_bytes;
	l->npts++;
	return 0;
fail:
	free(p->label);
	free(p->stack);
	free(p->bytes);
	return -ENOMEM;
}

static void clear_points(leaks_t *l)
{
	for (size_t i = 0; i < l->npts; i++) {
		free(l->pts[i].label);
		free(l->pts[i].stack);
		free(l->pts[i].bytes);
	}
	l->npts = 0;
	l->finished = 0;
}

/* --- agg_ops ------------------------------------------------------------ */

static int op_add(agg_t *a, const heap_event_t *ev)
{
	leaks_t *l = (leaks_t *)a;
	if (l->frozen || ev->kind == HEAP_EV_SAMPLE)
		return 0;
	l->last_time_us = ev->time_us;
	if (l->finished) /* events after a report: reopen the series */
		l->finished = 0;
	if (ev->kind == HEAP_EV_MOVE)
		l->startup = ev->block.stack;
	int rc = mark_dirty(l, ev->block.stack);
	if (!rc && (ev->kind == HEAP_EV_REALLOC || ev->kind == HEAP_EV_MOVE) &&
	    ev->old_known)
		rc = mark_dirty(l, ev->old.stack);
	return rc ? rc : sitelive_apply(&l->live, ev);
}

static int op_snapshot(agg_t *a, const agg_snapshot_t *s)
{
	leaks_t *l = (leaks_t *)a;
	if (l->frozen)
		return 0;
	l->seen_main |= s->origin == HT_SNAP_PY_MAIN;
	l->seen_teardown |= s->origin == HT_SNAP_PY_TEARDOWN;
	if (s->origin == HT_SNAP_PY_TEARDOWN && !l->at_exit)
		l->frozen = 1;
	return add_point(l, s->label, s->origin, s->time_us);
}

static void op_reset(agg_t *a)
{
	leaks_t *l = (leaks_t *)a;
	sitelive_reset(&l->live);
	clear_points(l);
	l->frozen = 0;
	l->seen_main = l->seen_teardown = 0;
	l->startup = SIDX_NONE;
	for (size_t i = 0; i < l->ndlist; i++)
		l->dirty[l->dlist[i]] = 0;
	l->ndlist = 0;
}

static const agg_ops_t leaks_ops = {
	.name = "leaks",
	.add = op_add,
	.snapshot = op_snapshot,
	.reset = op_reset,
};

leaks_t *leaks_new(void)
{
	leaks_t *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->base.ops = &leaks_ops;
	l->by = BY_TRACEBACK;
	l->startup = SIDX_NONE;
	return l;
}

void leaks_free(leaks_t *l)
{
	if (!l)
		return;
	clear_points(l);
	free(l->pts);
	free(l->pub);
	free(l->dirty);
	free(l->dlist);
	sitelive_free(&l->live);
	free(l);
}

agg_t *leaks_agg(leaks_t *l)
{
	return &l->base;
}

void leaks_set_by(leaks_t *l, report_by_t by)
{
	l->by = by;
}

void leaks_set_at_exit(leaks_t *l, int at_exit)
{
	l->at_exit = at_exit;
}

int leaks_at_teardown(const leaks_t *l)
{
	return l->frozen;
}

int leaks_finish(leaks_t *l)
{
	if (l->finished)
		return 0;
	if (!l->frozen && (!l->npts || l->pts[l->npts - 1].pub.origin != HT_SNAP_EXIT)) {
		uint64_t t = l->last_time_us;
		if (l->npts && l->pts[l->npts - 1].pub.time_us > t)
			t = l->pts[l->npts - 1].pub.time_us;
		int rc = add_point(l, "end", LEAKS_POINT_END, t);
		if (rc)
			return rc;
	}
	l->finished = 1;
	return 0;
}

size_t leaks_points(const leaks_t *l, const leaks_point_t **points)
{
	leaks_t *m = (leaks_t *)l;
	free(m->pub);
	m->pub = malloc((l->npts ? l->npts : 1) * sizeof *m->pub);
	if (!m->pub) {
		*points = NULL;
		return 0;
	}
	for (size_t i = 0; i < l->npts; i++)
		m->pub[i] = l->pts[i].pub;
	*points = m->pub;
	return l->npts;
}

/* --- analysis ----------------------------------------------------------- */

static uint32_t group_id(const uint32_t *group_of, size_t ngroup_of,
			       size_t i)
{
	if (!group_of)
		return i < UINT32_MAX ? (uint32_t)i : UINT32_MAX;
	return i < ngroup_of ? group_of[i] : UINT32_MAX;
}

/* Number of groups: 1 + the largest group id in use. */
static size_t count_groups(const leaks_t *l, const uint32_t *group_of,
			   size_t ngroup_of)
{
	size_t n = 0, stacks = l->live.n;
	for (size_t p = 0; p < l->npts; p++)
		for (size_t k = 0; k < l->pts[p].n; k++)
			if (l->pts[p].stack[k] >= stacks)
				stacks = (size_t)l->pts[p].stack[k] + 1;
	for (size_t i = 0; i < stacks; i++) {
		uint32_t g = group_id(group_of, ngroup_of, i);
		if (g != UINT32_MAX && g >= n)
			n = (size_t)g + 1;
	}
	return n;
}

static int compute_stats(leaks_t *l, const uint32_t *group_of,
			 size_t ngroup_of, size_t ngroups, size_t limit,
			 leaks_result_t *res)
{
	int rc = -ENOMEM;
	leak_stat_t *g = calloc(ngroups ? ngroups : 1, sizeof *g);
	topn_entry_t *v = NULL;
	if (!g)
		goto fail;
	for (size_t i = 0; i < ngroups; i++)
		g[i].stack = SIDX_NONE;
	for (size_t i = 0; i < l->live.n; i++) {
		uint32_t gi = group_id(group_of, ngroup_of, i);
		if (gi == UINT32_MAX || (!l->live.bytes[i] && !l->live.count[i]))
			continue;
		leak_stat_t *s = &g[gi];
		if (s->stack == SIDX_NONE ||
		    l->live.bytes[i] > l->live.bytes[s->stack])
			s->stack = (sidx_t)i;
		s->group = gi;
		s->bytes += l->live.bytes[i];
		s->count += l->live.count[i];
		res->total_bytes += l->live.bytes[i];
		res->total_count += l->live.count[i];
	}
	size_t n = 0;
	for (size_t i = 0; i < ngroups; i++)
		n += g[i].stack != SIDX_NONE;
	v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		goto fail;
	n = 0;
	for (size_t i = 0; i < ngroups; i++) {
		if (g[i].stack == SIDX_NONE)
			continue;
		/* Ties: lower group id (first seen) first. */
		v[n++] = (topn_entry_t){ .cost = { g[i].bytes, g[i].count,
						   UINT64_MAX - i },
					 .item = &g[i] };
	}
	res->nsites = n;
	size_t k = topn_rank(v, n, limit);
	res->stats = malloc((k ? k : 1) * sizeof *res->stats);
	if (!res->stats)
		goto fail;
	for (size_t i = 0; i < k; i++)
		res->stats[i] = *(leak_stat_t *)v[i].item;
	res->nstats = k;
	rc = 0;
fail:
	free(g);
	free(v);
	return rc;
}

static int compute_cands(leaks_t *l, const uint32_t *group_of,
			 size_t ngroup_of, size_t ngroups, size_t limit,
			 leaks_result_t *res)
{
	size_t P = l->npts;
	if (P >= 2 && l->pts[P - 1].pub.origin == HT_SNAP_EXIT &&
	    l->pts[P - 1].pub.heap_bytes < l->pts[P - 2].pub.heap_bytes / 2) {
		P--;
		res->teardown = 1;
	}
	res->npoints = P;
	if (P < 3 || !ngroups)
		return 0;
	size_t nst = 0;
	for (size_t p = 0; p < P; p++)
		for (size_t k = 0; k < l->pts[p].n; k++)
			if (l->pts[p].stack[k] >= nst)
				nst = (size_t)l->pts[p].stack[k] + 1;
	uint64_t maxheap = 0;
	for (size_t p = 0; p < P; p++)
		if (l->pts[p].pub.heap_bytes > maxheap)
			maxheap = l->pts[p].pub.heap_bytes;
	res->min_growth = leakrule_min_growth(maxheap);
	int rc = -ENOMEM;
	uint64_t *cur = calloc(nst ? nst : 1, sizeof *cur); /* per stack */
	uint64_t *gsum = calloc(ngroups, sizeof *gsum); /* per group now */
	leakrule_site_t *rule = malloc(ngroups * sizeof *rule);
	leakrule_verdict_t *verdict = NULL;
	uint8_t *touched = calloc(ngroups, 1);
	uint32_t *tlist = malloc(ngroups * sizeof *tlist);
	uint32_t *alive = malloc(ngroups * sizeof *alive);
	uint32_t *slot = NULL; /* group -> index into c, or UINT32_MAX */
	uint64_t *repb = NULL; /* bytes of each candidate's representative */
	leak_cand_t *c = NULL;
	topn_entry_t *v = NULL;
	size_t nalive = 0, nc = 0;
	if (!cur || !gsum || !rule || !touched || !tlist || !alive)
		goto fail;
	/* Pass 1: the rule (leakrule.h) sees each group at the points where
	 * its bytes changed (a point lists only the stacks that changed). */
	for (size_t p = 0; p < P; p++) {
		const struct point *pt = &l->pts[p];
		size_t nt = 0;
		for (size_t k = 0; k < pt->n; k++) {
			sidx_t st = pt->stack[k];
			uint32_t gi = group_id(group_of, ngroup_of, st);
			uint64_t old = cur[st];
			cur[st] = pt->bytes[k];
			if (gi == UINT32_MAX || gi >= ngroups)
				continue;
			gsum[gi] += pt->bytes[k] - old;
			if (!touched[gi]) {
				touched[gi] = 1;
				tlist[nt++] = gi;
			}
		}
		if (p == 0)
			for (size_t gi = 0; gi < ngroups; gi++)
				leakrule_init(&rule[gi], gsum[gi]);
		for (size_t i = 0; i < nt; i++) {
			if (p)
				leakrule_point(&rule[tlist[i]], (uint32_t)p,
					       gsum[tlist[i]]);
			touched[tlist[i]] = 0;
		}
	}
	verdict = malloc(ngroups * sizeof *verdict);
	if (!verdict)
		goto fail;
	/* What the interpreter's start-up left is no leak of the program. */
	uint32_t startup_group = l->startup == SIDX_NONE ? UINT32_MAX :
				 group_id(group_of, ngroup_of, l->startup);
	for (size_t gi = 0; gi < ngroups; gi++) {
		verdict[gi] = leakrule_judge(&rule[gi], (uint32_t)P,
					     res->min_growth);
		if (verdict[gi].candidate && gi != startup_group)
			alive[nalive++] = (uint32_t)gi;
	}
	nc = nalive;
	slot = malloc(ngroups * sizeof *slot);
	c = calloc(nc ? nc : 1, sizeof *c);
	repb = calloc(nc ? nc : 1, sizeof *repb);
	if (!slot || !c || !repb)
		goto fail;
	for (size_t gi = 0; gi < ngroups; gi++)
		slot[gi] = UINT32_MAX;
	for (size_t i = 0; i < nc; i++) {
		slot[alive[i]] = (uint32_t)i;
		c[i].group = alive[i];
		c[i].stack = SIDX_NONE;
		c[i].start = verdict[alive[i]].start;
		c[i].grew = verdict[alive[i]].grew;
		c[i].intervals = verdict[alive[i]].intervals;
		c[i].series = calloc(P, sizeof *c[i].series);
		if (!c[i].series)
			goto fail;
	}
	/* Pass 2: replay for the survivors' series. */
	memset(cur, 0, (nst ? nst : 1) * sizeof *cur);
	memset(gsum, 0, ngroups * sizeof *gsum);
	for (size_t p = 0; nc && p < P; p++) {
		const struct point *pt = &l->pts[p];
		for (size_t k = 0; k < pt->n; k++) {
			sidx_t st = pt->stack[k];
			uint32_t gi = group_id(group_of, ngroup_of, st);
			uint64_t old = cur[st];
			cur[st] = pt->bytes[k];
			if (gi < ngroups && slot[gi] != UINT32_MAX)
				gsum[gi] += pt->bytes[k] - old;
		}
		for (size_t i = 0; i < nc; i++)
			c[i].series[p] = gsum[c[i].group];
	}
	/* Representative: the group's biggest stack at the last point. */
	for (size_t st = 0; nc && st < nst; st++) {
		uint32_t gi = group_id(group_of, ngroup_of, st);
		if (gi >= ngroups || slot[gi] == UINT32_MAX || !cur[st])
			continue;
		size_t i = slot[gi];
		if (c[i].stack == SIDX_NONE || cur[st] > repb[i]) {
			c[i].stack = (sidx_t)st;
			repb[i] = cur[st];
		}
	}
	v = malloc((nc ? nc : 1) * sizeof *v);
	if (!v)
		goto fail;
	for (size_t i = 0; i < nc; i++) {
		c[i].growth = verdict[c[i].group].growth;
		v[i] = (topn_entry_t){ .cost = { c[i].growth,
						 c[i].series[P - 1],
						 UINT64_MAX - c[i].group },
				       .item = &c[i] };
	}
	res->ncands_total = nc;
	size_t k = topn_rank(v, nc, limit);
	res->cands = malloc((k ? k : 1) * sizeof *res->cands);
	if (!res->cands)
		goto fail;
	for (size_t i = 0; i < k; i++) {
		leak_cand_t *x = v[i].item;
		res->cands[i] = *x;
		x->series = NULL; /* moved */
	}
	res->ncands = k;
	rc = 0;
fail:
	if (c)
		for (size_t i = 0; i < nc; i++)
			free(c[i].series);
	free(c);
	free(v);
	free(slot);
	free(repb);
	free(cur);
	free(gsum);
	free(rule);
	free(verdict);
	free(touched);
	free(tlist);
	free(alive);
	return rc;
}

int leaks_compute(leaks_t *l, const uint32_t *group_of, size_t ngroup_of,
		  size_t limit, leaks_result_t *res)
{
	memset(res, 0, sizeof *res);
	int rc = leaks_finish(l);
	res->at_teardown = l->frozen;
	res->has_teardown = l->seen_teardown;
	res->python = l->seen_main;
	if (rc)
		return rc;
	res->npoints_all = leaks_points(l, &res->points);
	res->by = l->by;
	size_t ngroups = count_groups(l, group_of, ngroup_of);
	rc = compute_stats(l, group_of, ngroup_of, ngroups, limit, res);
	if (!rc)
		rc = compute_cands(l, group_of, ngroup_of, ngroups, limit,
				   res);
	if (rc)
		leaks_result_free(res);
	return rc;
}

void leaks_result_free(leaks_result_t *res)
{
	free(res->stats);
	for (size_t i = 0; i < res->ncands; i++)
		free(res->cands[i].series);
	free(res->cands);
	memset(res, 0, sizeof *res);
}

/* --- grouped result ----------------------------------------------------- */

/* Group ids of every stack that has live bytes at the end or at any point
 * and passes g's filters (others: UINT32_MAX). */
static int build_groups(leaks_t *l, group_t *g, uint32_t **out, size_t *nout)
{
	size_t n = l->live.n;
	for (size_t p = 0; p < l->npts; p++)
		for (size_t k = 0; k < l->pts[p].n; k++)
			if (l->pts[p].stack[k] >= n)
				n = (size_t)l->pts[p].stack[k] + 1;
	uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
	uint8_t *used = calloc(n ? n : 1, 1);
	int rc = -ENOMEM;
	if (!ids || !used)
		goto fail;
	for (size_t i = 0; i < l->live.n; i++)
		used[i] = l->live.bytes[i] || l->live.count[i];
	for (size_t p = 0; p < l->npts; p++)
		for (size_t k = 0; k < l->pts[p].n; k++)
			if (l->pts[p].bytes[k])
				used[l->pts[p].stack[k]] = 1;
	for (size_t i = 0; i < n; i++) {
		ids[i] = UINT32_MAX;
		if (!used[i] || !group_stack_passes(g, (sidx_t)i))
			continue;
		ids[i] = group_of_stack(g, (sidx_t)i);
		if (ids[i] == GROUP_NONE)
			goto fail;
	}
	*out = ids;
	*nout = n;
	ids = NULL;
	rc = 0;
fail:
	free(ids);
	free(used);
	return rc;
}

int leaks_grouped(leaks_t *l, group_t *g, size_t limit, leaks_result_t *res)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	memset(res, 0, sizeof *res);
	int rc = leaks_finish(l);
	if (!rc)
		rc = build_groups(l, g, &ids, &n);
	if (!rc)
		rc = leaks_compute(l, ids, n, limit, res);
	free(ids);
	if (rc)
		return rc;
	res->group = g;
	return 0;
}
