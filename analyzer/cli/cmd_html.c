/* `heaptrail html`: see cmd_html.h.  One replay feeds the series (heap
 * and RSS over time), a point aggregator for each precomputed flamegraph
 * (the peak, the end, the first HTML_MAX_SNAPS snapshot marks and
 * HTML_NTIMES evenly spaced times, all in one point set), leaks and
 * growth; the allocation
 * counts and the temporary allocations come from the heap's per-stack
 * totals.  The data is
 * aggregated by stack here; the page builds its trees from it. */
#include "cli/cmd_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/growth.h"
#include "agg/leaks.h"
#include "agg/point.h"
#include "agg/pointset.h"
#include "agg/series.h"
#include "cli/args.h"
#include "cli/opts.h"
#include "cli/run.h"
#include "model/analysis.h"
#include "render/fmt.h"
#include "render/html.h"
#include "render/json.h"
#include "render/report.h"

/* The precomputed flamegraphs: peak, end, the marks (a later mark shows
 * the nearest point, and the page says so) and evenly spaced times.
 * Each costs at most 1000 stacks of the page (HTML_OTHER_PERMILLE). */
#define HTML_MAX_SNAPS 64
#define HTML_NTIMES 16 /* a power of two (see the order of the times) */
/* The page's bound: once the flamegraphs of the points take this many
 * bytes, the later points (marks, then times) are left out; the page
 * then shows the nearest point that is there, and says so. */
#define HTML_POINTS_BUDGET ((long)5 << 19) /* 2.5 MiB */
#define HTML_MAX_POINTS (2 + HTML_MAX_SNAPS + HTML_NTIMES)
/* A frame below this share of a flamegraph's total (per mille) goes into
 * an "other" node under its parent: at most 1000 nodes per level. */
#define HTML_OTHER_PERMILLE 1
/* Frames kept per stack on the page (deeper ones are cut). */
#define STACKS_MAX_DEPTH_HTML 512
/* Points per series on the page (a bucket keeps its maximum). */
#define HTML_SERIES_POINTS 2000
#define HTML_TOP_LEAKS 20
#define HTML_TOP_GROWTH 20

/* Frame strings interned into the page's frame table. */
typedef struct intern {
	char **keys; /* "name\x1floc\x1fsys", malloc'd; NULL = empty slot */
	uint32_t *ids;
	size_t cap, n;
} intern_t;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The id of key (added when new), or -1 on ENOMEM. */
static long intern_id(intern_t *t, const char *key)
{
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char **keys = calloc(cap, sizeof(*keys));
		uint32_t *ids = calloc(cap, sizeof(*ids));
		if (!keys || !ids) {
			free(keys);
			free(ids);
			return -1;
		}
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->keys[i])
				continue;
			size_t k = hash_str(t->keys[i]) & (cap - 1);
			while (keys[k])
				k = (k + 1) & (cap - 1);
			keys[k] = t->keys[i];
			ids[k] = t->ids[i];
		}
		free(t->keys);
		free(t->ids);
		t->keys = keys;
		t->ids = ids;
		t->cap = cap;
	}
	size_t k = hash_str(key) & (t->cap - 1);
	while (t->keys[k]) {
		if (strcmp(t->keys[k], key) == 0)
			return t->ids[k];
		k = (k + 1) & (t->cap - 1);
	}
	if (!(t->keys[k] = strdup(key)))
		return -1;
	t->ids[k] = (uint32_t)t->n;
	return (long)t->n++;
}

static void intern_free(intern_t *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->ids);
}

/* The frame table in id order: [name, location, system 0/1]. */
static void intern_json(json_t *j, const intern_t *t)
{
	const char **by_id = calloc(t->n ? t->n : 1, sizeof(*by_id));
	json_key(j, "frames");
	json_arr_begin(j);
	if (by_id) {
		for (size_t i = 0; i < t->cap; i++)
			if (t->keys[i])
				by_id[t->ids[i]] = t->keys[i];
		for (size_t i = 0; i < t->n; i++) {
			char buf[1024];
			snprintf(buf, sizeof(buf), "%s", by_id[i]);
			char *a = strchr(buf, '\x1f'), *b = a ? strchr(a + 1, '\x1f') : NULL;
			if (!a || !b)
				continue;
			*a = *b = 0;
			json_arr_begin(j);
			json_str(j, buf);
			json_str(j, a + 1);
			json_u64(j, b[1] == '1');
			json_arr_end(j);
		}
	}
	json_arr_end(j);
	free((void *)by_id);
}

/* Stack i as frame ids, outermost first, into ids (cap entries; grown
 * as needed).  Returns the count or -errno. */
static int stack_ids(frames_t *f, intern_t *t, size_t i, uint32_t **ids, size_t *cap)
{
	const frame_t *fr;
	int k = frames_get(f, (sidx_t)i, &fr);
	if (k < 0)
		return k;
	if ((size_t)k > *cap) {
		uint32_t *n = realloc(*ids, (size_t)k * sizeof(*n));
		if (!n)
			return -ENOMEM;
		*ids = n;
		*cap = (size_t)k;
	}
	for (int d = k - 1; d >= 0; d--) {
		char name[512], loc[512], key[1100];
		if (fr[d].marker)
			frames_marker_text(name, sizeof(name), f, &fr[d]);
		else
			report_frame_key(name, sizeof(name), f, &fr[d], BY_FUNCTION);
		if (fr[d].file)
			snprintf(loc, sizeof(loc), "%s:%" PRIu32, fr[d].file, fr[d].line);
		else if (fr[d].module)
			snprintf(loc, sizeof(loc), "%s", frames_module_name(f, &fr[d]));
		else
			loc[0] = 0;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%d", name, loc,
			 !fr[d].marker && frames_is_system(f, &fr[d]));
		long id = intern_id(t, key);
		if (id < 0)
			return -ENOMEM;
		(*ids)[k - 1 - d] = (uint32_t)id;
	}
	return k;
}

/* The flamegraph's tree, before the tiny frames are merged: node 0 is the
 * root (no frame); children are found by (parent, frame id) in a hash. */
typedef struct fnode {
	uint32_t frame, parent;
	uint32_t child, sibling; /* first child, next sibling; 0 = none */
	uint64_t bytes, blocks; /* of every stack through this node */
	uint64_t self_bytes, self_blocks; /* of the stacks ending here */
	uint64_t other_bytes, other_blocks; /* children merged into "other" */
} fnode_t;

typedef struct ftree {
	fnode_t *n;
	size_t len, cap;
	uint32_t *slot; /* hash of (parent, frame) -> node index + 1 */
	size_t nslot;
} ftree_t;

static uint64_t fkey_hash(uint32_t parent, uint32_t frame)
{
	return ((uint64_t)parent << 32 | frame) * 0x9e3779b97f4a7c15ull;
}

/* The child of parent for frame, added when new; (uint32_t)-1 on ENOMEM. */
static uint32_t ftree_child(ftree_t *t, uint32_t parent, uint32_t frame)
{
	if (2 * (t->len + 1) > t->nslot) {
		size_t ns = t->nslot ? t->nslot * 2 : 4096;
		uint32_t *sl = calloc(ns, sizeof(*sl));
		if (!sl)
			return (uint32_t)-1;
		for (size_t i = 1; i < t->len; i++) {
			size_t h = fkey_hash(t->n[i].parent, t->n[i].frame) & (ns - 1);
			while (sl[h])
				h = (h + 1) & (ns - 1);
			sl[h] = (uint32_t)i + 1;
		}
		free(t->slot);
		t->slot = sl;
		t->nslot = ns;
	}
	size_t h = fkey_hash(parent, frame) & (t->nslot - 1);
	while (t->slot[h]) {
		const fnode_t *x = &t->n[t->slot[h] - 1];
		if (x->parent == parent && x->frame == frame)
			return t->slot[h] - 1;
		h = (h + 1) & (t->nslot - 1);
	}
	if (t->len == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 1024;
		fnode_t *nn = realloc(t->n, nc * sizeof(*nn));
		if (!nn)
			return (uint32_t)-1;
		t->n = nn;
		t->cap = nc;
	}
	uint32_t id = (uint32_t)t->len++;
	t->n[id] = (fnode_t){ .frame = frame, .parent = parent, .sibling = t->n[parent].child };
	t->n[parent].child = id;
	t->slot[h] = id + 1;
	return id;
}

/* Writes [bytes, blocks, [frame ids]] for the path from the root to x
 * (plus `last` when it is not (uint32_t)-1). */
static void path_json(json_t *j, const ftree_t *t, uint32_t x, uint64_t bytes, uint64_t blocks,
		      uint32_t last)
{
	uint32_t path[STACKS_MAX_DEPTH_HTML];
	size_t k = 0;
	for (uint32_t y = x; y && k < STACKS_MAX_DEPTH_HTML; y = t->n[y].parent)
		path[k++] = t->n[y].frame;
	json_arr_begin(j);
	json_u64(j, bytes);
	json_u64(j, blocks);
	json_arr_begin(j);
	while (k)
		json_u64(j, path[--k]);
	if (last != (uint32_t)-1)
		json_u64(j, last);
	json_arr_end(j);
	json_arr_end(j);
}

/* Node x and what is under it, its children below thr merged into its
 * "other" (frame id other_id). */
static void ftree_emit(json_t *j, ftree_t *t, uint32_t x, uint64_t thr, uint32_t other_id)
{
	fnode_t *n = &t->n[x];
	if (x && (n->self_bytes || n->self_blocks))
		path_json(j, t, x, n->self_bytes, n->self_blocks, (uint32_t)-1);
	for (uint32_t c = n->child; c; c = t->n[c].sibling) {
		fnode_t *cn = &t->n[c];
		if (cn->bytes < thr || !cn->bytes) {
			n->other_bytes += cn->bytes;
			n->other_blocks += cn->blocks;
			continue;
		}
		ftree_emit(j, t, c, thr, other_id);
		n = &t->n[x];
	}
	if (n->other_bytes || n->other_blocks)
		path_json(j, t, x, n->other_bytes, n->other_blocks, other_id);
}

/* One flamegraph: the stacks merged into a tree by frame, and under each
 * node, the children below the threshold's share of the total (per
 * mille of `weight`) merged into one "other" frame, then written back as
 * [bytes, blocks, [frame ids]] paths (the page rebuilds the tree). */
static int flame_json(json_t *j, frames_t *f, intern_t *t, const uint64_t *bytes,
		      const uint64_t *count, size_t n)
{
	uint64_t total = 0, tblocks = 0;
	for (size_t i = 0; i < n; i++) {
		total += bytes[i];
		tblocks += count[i];
	}
	uint64_t thr = total / 1000 * HTML_OTHER_PERMILLE;
	ftree_t tr = { 0 };
	uint32_t *ids = NULL;
	size_t cap = 0;
	int rc = -ENOMEM;
	char okey[128];
	snprintf(okey, sizeof(okey), "other (frames below %g%% each)\x1f\x1f" "0",
		 HTML_OTHER_PERMILLE / 10.0);
	long other_id = intern_id(t, okey);
	if (other_id < 0 || !(tr.n = calloc(1024, sizeof(*tr.n))))
		goto out;
	tr.cap = 1024;
	tr.len = 1; /* the root */
	for (size_t i = 0; i < n; i++) {
		if (!bytes[i] && !count[i])
			continue;
		int k = stack_ids(f, t, i, &ids, &cap);
		if (k < 0) {
			rc = k;
			goto out;
		}
		uint32_t x = 0;
		tr.n[0].bytes += bytes[i];
		tr.n[0].blocks += count[i];
		for (int d = 0; d < k && d < STACKS_MAX_DEPTH_HTML - 1; d++) {
			if ((x = ftree_child(&tr, x, ids[d])) == (uint32_t)-1)
				goto out;
			tr.n[x].bytes += bytes[i];
			tr.n[x].blocks += count[i];
		}
		tr.n[x].self_bytes += bytes[i];
		tr.n[x].self_blocks += count[i];
	}
	json_key(j, "total_bytes");
	json_u64(j, total);
	json_key(j, "total_blocks");
	json_u64(j, tblocks);
	json_key(j, "stacks");
	json_arr_begin(j);
	ftree_emit(j, &tr, 0, thr, (uint32_t)other_id);
	json_arr_end(j);
	/* Kept for pages of older data: "other" is a frame now. */
	json_key(j, "other_bytes");
	json_u64(j, 0);
	json_key(j, "other_blocks");
	json_u64(j, 0);
	rc = 0;
out:
	free(ids);
	free(tr.n);
	free(tr.slot);
	return rc;
}

/* A series, at most HTML_SERIES_POINTS: [time_us, bytes] with each
 * bucket's maximum (so the peak stays). */
static void series_json(json_t *j, const char *key, const series_point_t *p, size_t n)
{
	json_key(j, key);
	json_arr_begin(j);
	size_t step = (n + HTML_SERIES_POINTS - 1) / HTML_SERIES_POINTS;
	if (!step)
		step = 1;
	for (size_t i = 0; i < n; i += step) {
		uint64_t mx = 0, t = p[i].time_us;
		for (size_t k = i; k < n && k < i + step; k++)
			if (p[k].max >= mx) {
				mx = p[k].max;
				t = step > 1 ? p[k].time_us : t;
			}
		json_arr_begin(j);
		json_u64(j, t);
		json_u64(j, step > 1 ? mx : p[i].last);
		json_u64(j, mx);
		json_arr_end(j);
	}
	json_arr_end(j);
}

typedef struct html_args {
	const char *out;
} html_args_t;

static int html_extra(const char *cmd, int argc, char **argv, int *i, void *ctx)
{
	html_args_t *a = ctx;
	const char *val;
	int m;
	if ((m = args_opt(cmd, argc, argv, i, "-o", &val)) ||
	    (m = args_opt(cmd, argc, argv, i, "--output", &val))) {
		if (m > 0)
			a->out = val;
		return m;
	}
	return 0;
}

int cmd_html(int argc, char **argv)
{
	const char *path = NULL;
	html_args_t ha = { 0 };
	opts_t o;
	opts_init(&o);
	o.by = BY_TRACEBACK;
	if (opts_args("html", OPT_NO_SYMBOLS | OPT_FRAMES, html_extra, &ha, argc,
		      argv, &o, &path))
		return 2;

	int rc = 1;
	point_t *pts[HTML_MAX_POINTS] = { 0 };
	char idx[HTML_MAX_SNAPS][24];
	size_t npts = 0, nsnaps;
	pointset_t *ps = NULL;
	series_t *se = series_new();
	leaks_t *lk = leaks_new();
	growth_t *gr = growth_new();
	leaks_result_t lres = { 0 };
	growth_result_t gres = { 0 };
	group_t *g = NULL;
	char *data = NULL;
	size_t len = 0;
	FILE *out = NULL;
	intern_t tab = { 0 };
	/* The summary first (from the index when there is one): the marks and
	 * the end time choose the points. */
	analysis_t *an = run_file_indexed(path, NULL, 0, false);
	if (!an)
		goto done;
	const analysis_summary_t *s = analysis_summary(an);
	nsnaps = s->nsnapshots < HTML_MAX_SNAPS ? s->nsnapshots : HTML_MAX_SNAPS;
	uint64_t end_us = s->end_time_us;
	if (!se || !lk || !gr)
		goto nomem;
	for (size_t k = 0; k < 2 + nsnaps + HTML_NTIMES; k++) {
		point_spec_t spec = { .kind = k == 0 ? POINT_PEAK : POINT_END };
		if (k >= 2 && k < 2 + nsnaps) {
			snprintf(idx[k - 2], sizeof(idx[0]), "%" PRIu64, s->snapshots[k - 2].index);
			spec.kind = POINT_SNAPSHOT;
			spec.snapshot = idx[k - 2];
		} else if (k >= 2 + nsnaps) {
			spec.kind = POINT_TIME;
			/* In bit-reversed order (8, 4, 12, 2, ... of 16), so the
			 * times the budget leaves out are spread evenly. */
			unsigned i = (unsigned)(k - 2 - nsnaps), r = 0;
			for (unsigned b = 1; b < HTML_NTIMES; b <<= 1, i >>= 1)
				r = r << 1 | (i & 1);
			spec.time_us = end_us * (r + 1) / (HTML_NTIMES + 1);
			/* On the clock's own digits, so the point's name
			 * ("time 0.0229s") claims no finer time than it has
			 * (the first analysis set the resolution). */
			uint64_t t = fmt_round_us(spec.time_us, 1);
			spec.time_us = t <= end_us ? t : spec.time_us;
		}
		if (!(pts[npts++] = point_new(&spec)))
			goto nomem;
	}
	analysis_free(an);
	if (!(ps = pointset_new(pts, npts)))
		goto nomem;
	agg_t *aggs[4] = { series_agg(se), leaks_agg(lk), growth_agg(gr), pointset_agg(ps) };
	leaks_set_by(lk, BY_TRACEBACK);
	if (!(an = run_file(path, aggs, 4)))
		goto done;
	s = analysis_summary(an);
	frames_t *fs = analysis_frames(an, o.fmode, o.raw);
	if (!fs || !(g = opts_group(&o, fs)))
		goto nomem;
	if (leaks_grouped(lk, g, HTML_TOP_LEAKS, &lres) < 0 ||
	    growth_result(gr, HTML_TOP_GROWTH, &gres) < 0)
		goto nomem;

	FILE *m = open_memstream(&data, &len);
	if (!m)
		goto nomem;
	json_t j;
	json_init(&j, m);
	json_obj_begin(&j);
	json_summary_fields(&j, s);
	json_key(&j, "aggregated");
	json_bool(&j, s->aggregated);
	json_key(&j, "other_permille");
	json_u64(&j, HTML_OTHER_PERMILLE);
	/* Times as the text reports print them: the fixed ones formatted
	 * here (fmt_seconds), the page's own (a chosen time, the chart's
	 * cursor) to the same decimals. */
	char tbuf[32];
	json_key(&j, "time_resolution_us");
	json_u64(&j, s->time_resolution_us);
	json_key(&j, "time_decimals");
	json_u64(&j, (uint64_t)fmt_time_decimals());
	const heap_counters_t *hc = heap_counters(analysis_heap(an));
	json_key(&j, "peak");
	json_obj_begin(&j);
	json_key(&j, "time_us");
	json_u64(&j, hc->peak_time_us);
	json_key(&j, "time");
	json_str(&j, fmt_seconds(tbuf, sizeof tbuf, hc->peak_time_us));
	json_key(&j, "bytes");
	json_u64(&j, hc->peak_bytes);
	json_obj_end(&j);
	json_key(&j, "marks");
	json_arr_begin(&j);
	for (size_t i = 0; i < s->nsnapshots; i++) {
		json_obj_begin(&j);
		json_key(&j, "index");
		json_u64(&j, s->snapshots[i].index);
		json_key(&j, "label");
		json_str(&j, s->snapshots[i].label);
		json_key(&j, "time_us");
		json_u64(&j, s->snapshots[i].time_us);
		json_key(&j, "time");
		json_str(&j, fmt_seconds(tbuf, sizeof tbuf, s->snapshots[i].time_us));
		json_key(&j, "heap_bytes");
		json_u64(&j, s->snapshots[i].heap_bytes);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	size_t n;
	const series_point_t *sp = series_heap(se, &n);
	series_json(&j, "heap", sp, n);
	sp = series_rss(se, &n);
	series_json(&j, "rss", sp, n);
	char err[512];
	json_key(&j, "points");
	json_arr_begin(&j);
	long points_at = ftell(m);
	size_t left_out = 0;
	for (size_t k = 0; k < npts; k++) {
		const uint64_t *bytes, *count;
		if (k >= 2 && ftell(m) - points_at > HTML_POINTS_BUDGET) {
			left_out++;
			continue;
		}
		if (run_point_result(pts[k], an, &bytes, &count, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "heaptrail: %s\n", err);
			fclose(m);
			goto done;
		}
		json_obj_begin(&j);
		json_key(&j, "name");
		json_str(&j, point_describe(pts[k]));
		json_key(&j, "kind");
		json_str(&j, k == 0 ? "peak" : k == 1 ? "end" : k < 2 + nsnaps ? "snapshot" : "time");
		if (k >= 2 && k < 2 + nsnaps) {
			json_key(&j, "mark");
			json_u64(&j, s->snapshots[k - 2].index);
		}
		json_key(&j, "time_us");
		json_u64(&j, point_time_us(pts[k]));
		json_key(&j, "time");
		json_str(&j, fmt_seconds(tbuf, sizeof tbuf, point_time_us(pts[k])));
		json_key(&j, "heap_bytes");
		json_u64(&j, point_heap_bytes(pts[k]));
		int w = flame_json(&j, fs, &tab, bytes, count, n);
		json_obj_end(&j);
		if (w < 0) {
			fclose(m);
			goto nomem;
		}
	}
	json_arr_end(&j);
	json_key(&j, "points_left_out");
	json_u64(&j, left_out);
	/* Allocations over the whole run, by count and by bytes. */
	size_t nst;
	const heap_stack_stat_t *st = heap_stack_stats(analysis_heap(an), &nst);
	uint64_t *ab = malloc((nst ? nst : 1) * sizeof(*ab));
	uint64_t *ac = malloc((nst ? nst : 1) * sizeof(*ac));
	if (!ab || !ac) {
		free(ab);
		free(ac);
		fclose(m);
		goto nomem;
	}
	for (size_t i = 0; i < nst; i++) {
		ab[i] = st[i].alloc_count; /* weighted by count */
		ac[i] = st[i].alloc_bytes;
	}
	json_key(&j, "allocations");
	json_obj_begin(&j);
	json_key(&j, "name");
	json_str(&j, "allocations (count)");
	json_key(&j, "kind");
	json_str(&j, "allocs");
	int w = flame_json(&j, fs, &tab, ab, ac, nst);
	json_obj_end(&j);
	/* Temporary allocations (freed before any other allocation), by
	 * bytes, as `top --temporary` counts them. */
	for (size_t i = 0; w == 0 && i < nst; i++) {
		ab[i] = st[i].temp_bytes;
		ac[i] = st[i].temp_count;
	}
	if (w == 0) {
		json_key(&j, "temporary");
		json_obj_begin(&j);
		json_key(&j, "name");
		json_str(&j, "temporary allocations (bytes)");
		json_key(&j, "kind");
		json_str(&j, "temporary");
		w = flame_json(&j, fs, &tab, ab, ac, nst);
		json_obj_end(&j);
	}
	free(ab);
	free(ac);
	if (w < 0) {
		fclose(m);
		goto nomem;
	}
	/* leaks and growth as `leaks --json` and `growth --json` give them. */
	json_key(&j, "leaks");
	json_obj_begin(&j);
	json_leaks(&j, &lres, fs);
	json_obj_end(&j);
	json_key(&j, "growth");
	json_obj_begin(&j);
	json_growth(&j, &gres, fs);
	json_obj_end(&j);
	intern_json(&j, &tab);
	json_obj_end(&j);
	json_finish(&j);
	if (fclose(m) != 0 || !data)
		goto nomem;

	const char *outname = ha.out && strcmp(ha.out, "-") ? ha.out : "standard output";
	out = outname == ha.out ? fopen(ha.out, "w") : stdout;
	if (!out) {
		fprintf(stderr, "heaptrail html: cannot write %s: %s\n", ha.out, strerror(errno));
		goto done;
	}
	int wr = html_write_page(out, data, len);
	if (out != stdout ? fclose(out) != 0 : fflush(out) != 0)
		wr = -EIO;
	if (wr < 0) {
		fprintf(stderr, "heaptrail html: %s: %s\n", outname, strerror(errno ? errno : EIO));
		if (out != stdout)
			remove(ha.out);
		goto done;
	}
	if (out != stdout)
		fprintf(stderr, "heaptrail html: wrote %s\n", ha.out);
	analysis_print_warnings(an);
	rc = 0;
	goto done;
nomem:
	rc = run_nomem();
done:
	intern_free(&tab);
	free(data);
	leaks_result_free(&lres);
	growth_result_free(&gres);
	group_free(g);
	analysis_free(an);
	pointset_free(ps);
	for (size_t k = 0; k < npts; k++)
		point_free(pts[k]);
	series_free(se);
	leaks_free(lk);
	growth_free(gr);
	return rc;
}
