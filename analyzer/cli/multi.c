/* Reports over several traces of one run: see multi.h.  Each trace is
 * read by the single-trace machinery (run.h: the index, the point
 * aggregators), grouped by the command's key and freed; only its rows'
 * key texts and totals stay, merged into one table per point. */
#include "cli/multi.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/group.h"
#include "agg/point.h"
#include "agg/stats.h"
#include "cli/args.h"
#include "cli/run.h"
#include "model/analysis.h"
#include "render/fmt.h"
#include "render/json.h"
#include "read/notices.h"
#include "render/report.h"

#define MULTI_PIDS 4 /* pids named per row (text: then "...") */

/* One process (one trace). */
typedef struct mproc {
	const char *path; /* argv string */
	uint64_t pid, ppid;
	char *cmd, *exe; /* command line, executable (malloc'd) */
	uint32_t images; /* > 1: an exec chain, the final image reported */
	bool has_end, truncated;
	int fatal_signal; /* > 0: died of it */
	uint64_t lost; /* events lost */
	uint64_t events; /* allocations + frees + reallocs */
	uint64_t peak_bytes, peak_blocks, peak_time_us; /* its own peak */
	uint64_t end_bytes, end_blocks, end_time_us; /* live at its end */
	uint64_t at_bytes, at_blocks, at_time_us; /* at the command's point */
} mproc_t;

/* One merged row: a key's totals summed over the processes. */
typedef struct mrow {
	char *key; /* group key text (malloc'd) */
	uint64_t bytes, count;
	uint32_t nproc; /* processes with this key */
	uint64_t pids[MULTI_PIDS]; /* the first of them */
} mrow_t;

/* Rows by key: an open-addressing table of row indexes. */
typedef struct mset {
	mrow_t *rows;
	size_t n, cap;
	uint32_t *slot; /* row index + 1, 0 = empty; hcap entries */
	size_t hcap; /* power of two, > 2 n */
	uint64_t total_bytes, total_count;
} mset_t;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int mset_grow(mset_t *m)
{
	size_t ncap = m->hcap ? m->hcap * 2 : 256;
	uint32_t *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		size_t h = hash_str(m->rows[i].key) & (ncap - 1);
		while (ns[h])
			h = (h + 1) & (ncap - 1);
		ns[h] = (uint32_t)i + 1;
	}
	free(m->slot);
	m->slot = ns;
	m->hcap = ncap;
	return 0;
}

/* Adds one process's totals of key to the set.  0 or -1 (no memory). */
static int mset_add(mset_t *m, const char *key, uint64_t bytes, uint64_t count,
		    uint64_t pid)
{
	if (2 * (m->n + 1) > m->hcap && mset_grow(m) < 0)
		return -1;
	size_t h = hash_str(key) & (m->hcap - 1);
	while (m->slot[h] && strcmp(m->rows[m->slot[h] - 1].key, key))
		h = (h + 1) & (m->hcap - 1);
	mrow_t *r;
	if (m->slot[h]) {
		r = &m->rows[m->slot[h] - 1];
	} else {
		if (m->n == m->cap) {
			size_t ncap = m->cap ? m->cap * 2 : 64;
			mrow_t *nr = realloc(m->rows, ncap * sizeof(*nr));
			if (!nr)
				return -1;
			m->rows = nr;
			m->cap = ncap;
		}
		r = &m->rows[m->n];
		memset(r, 0, sizeof(*r));
		if (!(r->key = strdup(key)))
			return -1;
		m->slot[h] = (uint32_t)++m->n;
	}
	r->bytes += bytes;
	r->count += count;
	if (r->nproc < MULTI_PIDS)
		r->pids[r->nproc] = pid;
	r->nproc++;
	m->total_bytes += bytes;
	m->total_count += count;
	return 0;
}

static void mset_free(mset_t *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->rows[i].key);
	free(m->rows);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* Bytes, then count, descending; then the key: a stable order. */
static int row_cmp(const void *a, const void *b)
{
	const mrow_t *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void mset_rank(mset_t *m)
{
	/* The table's indexes go stale: no more adds after this. */
	if (m->n)
		qsort(m->rows, m->n, sizeof(*m->rows), row_cmp);
	free(m->slot);
	m->slot = NULL;
	m->hcap = 0;
}

/* --- loading ------------------------------------------------------------- */

typedef struct multi {
	const opts_t *o;
	mproc_t *procs;
	size_t n;
	mset_t sets[RUN_MAX_POINTS]; /* one per point asked for */
	/* The symbolizer's warnings of all the traces, each once (a module
	 * without debug info is the same in every process). */
	char **warns;
	size_t nwarns, capwarns;
} multi_t;

static void keep_warnings(multi_t *m, const analysis_t *an, const char *path)
{
	const char *const *list;
	size_t n = analysis_warnings(an, &list);
	for (size_t i = 0; i < n; i++) {
		/* As analysis_print_warnings: a missing debug info once per trace. */
		if (strstr(list[i], ": no debug info (") && !notices_show(path, list[i]))
			continue;
		size_t k = 0;
		while (k < m->nwarns && strcmp(m->warns[k], list[i]))
			k++;
		if (k < m->nwarns)
			continue;
		if (m->nwarns == m->capwarns) {
			size_t ncap = m->capwarns ? m->capwarns * 2 : 8;
			char **nw = realloc(m->warns, ncap * sizeof(*nw));
			if (!nw)
				return;
			m->warns = nw;
			m->capwarns = ncap;
		}
		if ((m->warns[m->nwarns] = strdup(list[i])))
			m->nwarns++;
	}
}

static void print_warnings(const multi_t *m)
{
	fflush(stdout);
	for (size_t i = 0; i < m->nwarns; i++)
		fprintf(stderr, "heaptrail: warning: %s\n", m->warns[i]);
}

static void multi_free(multi_t *m)
{
	print_warnings(m);
	analysis_share_symbols(false); /* every analysis is freed by now */
	for (size_t i = 0; i < m->n; i++) {
		free(m->procs[i].cmd);
		free(m->procs[i].exe);
	}
	free(m->procs);
	for (size_t k = 0; k < RUN_MAX_POINTS; k++)
		mset_free(&m->sets[k]);
	for (size_t i = 0; i < m->nwarns; i++)
		free(m->warns[i]);
	free(m->warns);
}

/* Reads trace p->path: its summary into p and, for each of the npts
 * points, its rows grouped by o->by into m->sets[k] (the first point's
 * heap totals into p->at_*).  Returns 0, 1 after printing an error. */
static int load_one(multi_t *m, mproc_t *p, const char *const *at, size_t npts)
{
	const opts_t *o = m->o;
	point_t *pts[RUN_MAX_POINTS] = { 0 };
	analysis_t *an = NULL;
	group_t *g = NULL;
	int rc = 1;
	char err[512];
	for (size_t k = 0; k < npts; k++) {
		point_spec_t spec;
		args_parse_point(at[k], &spec);
		if (!(pts[k] = point_new(&spec)))
			goto nomem;
	}
	an = npts ? run_file_points(p->path, pts, npts) : run_file_indexed(p->path, NULL, 0, false);
	if (!an)
		goto done;
	const analysis_summary_t *s = analysis_summary(an);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	p->pid = s->pid;
	p->ppid = s->ppid;
	p->cmd = strdup(s->cmdline);
	p->exe = strdup(s->exe);
	if (!p->cmd || !p->exe)
		goto nomem;
	p->images = s->images;
	p->has_end = s->has_end;
	p->truncated = s->truncated;
	p->fatal_signal = s->fatal_signal;
	p->lost = s->lost_events;
	p->events = c->allocs + c->frees + c->reallocs;
	p->peak_bytes = c->peak_bytes;
	p->peak_blocks = c->peak_blocks;
	p->peak_time_us = c->peak_time_us;
	p->end_bytes = c->heap_bytes;
	p->end_blocks = c->heap_blocks;
	p->end_time_us = s->end_time_us;
	if (npts) {
		g = opts_group(o, analysis_frames(an, o->fmode, o->raw));
		if (!g)
			goto nomem;
	}
	for (size_t k = 0; k < npts; k++) {
		const uint64_t *bytes, *count;
		size_t n;
		stat_set_t set = { 0 };
		if (run_point_result(pts[k], an, &bytes, &count, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "heaptrail: %s\n", err);
			goto done;
		}
		if (k == 0) {
			p->at_bytes = point_heap_bytes(pts[k]);
			p->at_blocks = point_heap_blocks(pts[k]);
			p->at_time_us = point_time_us(pts[k]);
		}
		if (o->by_process) {
			/* One row: the process, its filtered total. */
			uint64_t tb = 0, tc = 0;
			for (size_t i = 0; i < n; i++)
				if (group_stack_passes(g, (sidx_t)i)) {
					tb += bytes[i];
					tc += count[i];
				}
			char key[64];
			snprintf(key, sizeof(key), "pid %" PRIu64, p->pid);
			if (mset_add(&m->sets[k], key, tb, tc, p->pid) < 0)
				goto nomem;
			continue;
		}
		if (stats_compute(g, bytes, count, n, o->cumulative, &set) < 0)
			goto nomem;
		for (size_t i = 0; i < set.n; i++)
			if (mset_add(&m->sets[k], set.rows[i].key, set.rows[i].bytes,
				     set.rows[i].count, p->pid) < 0) {
				stats_free(&set);
				goto nomem;
			}
		if (o->cumulative) {
			/* Cumulative rows overlap: the totals count each block once. */
			m->sets[k].total_bytes += set.total_bytes;
			m->sets[k].total_count += set.total_count;
			uint64_t rb = 0, rcn = 0;
			for (size_t i = 0; i < set.n; i++) {
				rb += set.rows[i].bytes;
				rcn += set.rows[i].count;
			}
			m->sets[k].total_bytes -= rb;
			m->sets[k].total_count -= rcn;
		}
		stats_free(&set);
	}
	keep_warnings(m, an, p->path);
	rc = 0;
	goto done;
nomem:
	rc = run_nomem();
done:
	group_free(g);
	analysis_free(an);
	for (size_t k = 0; k < npts; k++)
		point_free(pts[k]);
	return rc;
}

static int load_all(multi_t *m, const opts_t *o, const char *const *at, size_t npts)
{
	memset(m, 0, sizeof(*m));
	m->o = o;
	m->procs = calloc(o->ntraces, sizeof(*m->procs));
	if (!m->procs)
		return run_nomem();
	/* The processes of a run load the same modules: open each once. */
	analysis_share_symbols(true);
	for (size_t i = 0; i < o->ntraces; i++) {
		m->procs[i].path = o->traces[i];
		m->n = i + 1;
		if (load_one(m, &m->procs[i], at, npts))
			return 1;
	}
	for (size_t k = 0; k < npts; k++)
		mset_rank(&m->sets[k]);
	return 0;
}

/* --- rendering ----------------------------------------------------------- */

static const char *status_text(const mproc_t *p, char *buf, size_t len)
{
	const char *sig = p->fatal_signal > 0 ? sigabbrev_np(p->fatal_signal) : NULL;
	if (p->has_end && p->fatal_signal)
		snprintf(buf, len, "died of SIG%s", sig ? sig : "?");
	else if (p->has_end)
		snprintf(buf, len, "ended");
	else
		snprintf(buf, len, "TRUNCATED (no END: killed?)");
	return buf;
}

/* What the combined point is, for the headers. */
static const char *point_words(const char *at, char *buf, size_t len)
{
	if (strcmp(at, "peak") == 0)
		snprintf(buf, len, "each process's own peak");
	else if (strcmp(at, "end") == 0)
		snprintf(buf, len, "each process's end");
	else
		snprintf(buf, len, "%s in each process", at);
	return buf;
}

static void warn_traces(const multi_t *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const mproc_t *p = &m->procs[i];
		if (p->truncated)
			printf("warning: %s (pid %" PRIu64 ") is truncated (no END record): its figures cover the events that were written\n",
			       p->path, p->pid);
		if (p->lost)
			printf("warning: %s (pid %" PRIu64 "): %" PRIu64 " events were lost by the recorder; figures undercount\n",
			       p->path, p->pid, p->lost);
	}
}

static const mproc_t *find_pid(const multi_t *m, uint64_t pid)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

static void text_rows(const multi_t *m, const mset_t *set, size_t k, report_by_t by)
{
	char a[32], c[32];
	for (size_t i = 0; i < k && i < set->n; i++) {
		const mrow_t *r = &set->rows[i];
		if (m->o->by_process) {
			uint64_t pid = r->pids[0];
			const mproc_t *p = find_pid(m, pid);
			printf("pid %" PRIu64 " (parent %" PRIu64 "): size=%s, count=%" PRIu64,
			       pid, p ? p->ppid : 0, fmt_size(a, sizeof(a), (double)r->bytes, false),
			       r->count);
			if (r->count)
				printf(", average=%s",
				       fmt_size(c, sizeof(c), (double)r->bytes / (double)r->count, false));
			printf(", at %s: %s\n", p ? fmt_seconds(c, sizeof(c), p->at_time_us) : "?",
			       p ? (p->cmd[0] ? p->cmd : p->exe) : "?");
			continue;
		}
		/* A traceback key spans lines: its first is the heading. */
		size_t head = by == BY_TRACEBACK ? strcspn(r->key, "\n") : strlen(r->key);
		printf("%.*s: size=%s, count=%" PRIu64, (int)head, r->key,
		       fmt_size(a, sizeof(a), (double)r->bytes, false), r->count);
		if (r->count)
			printf(", average=%s",
			       fmt_size(c, sizeof(c), (double)r->bytes / (double)r->count, false));
		printf(", processes=%" PRIu32 " (pid", r->nproc);
		for (uint32_t j = 0; j < r->nproc && j < MULTI_PIDS; j++)
			printf("%s %" PRIu64, j ? "," : "", r->pids[j]);
		printf("%s)\n", r->nproc > MULTI_PIDS ? ", ..." : "");
		if (by == BY_TRACEBACK)
			for (const char *l = r->key; *l;) {
				size_t len = strcspn(l, "\n");
				printf("    %.*s\n", (int)len, l);
				l += len;
				if (*l)
					l++;
			}
	}
	if (k < set->n) {
		uint64_t ob = 0, oc = 0;
		for (size_t i = k; i < set->n; i++) {
			ob += set->rows[i].bytes;
			oc += set->rows[i].count;
		}
		if (!m->o->cumulative)
			printf("%zu other: size=%s, count=%" PRIu64 "\n", set->n - k,
			       fmt_size(a, sizeof(a), (double)ob, false), oc);
	}
}

static void json_rows(json_t *j, const multi_t *m, const mset_t *set, size_t k)
{
	json_key(j, "total_bytes");
	json_u64(j, set->total_bytes);
	json_key(j, "total_count");
	json_u64(j, set->total_count);
	json_key(j, "groups");
	json_u64(j, set->n);
	json_key(j, "stats");
	json_arr_begin(j);
	for (size_t i = 0; i < k && i < set->n; i++) {
		const mrow_t *r = &set->rows[i];
		json_obj_begin(j);
		json_key(j, "key");
		json_str(j, r->key);
		if (m->o->by_process) {
			json_key(j, "pid");
			json_u64(j, r->pids[0]);
		}
		json_key(j, "bytes");
		json_u64(j, r->bytes);
		json_key(j, "count");
		json_u64(j, r->count);
		json_key(j, "average");
		json_double(j, r->count ? (double)r->bytes / (double)r->count : 0);
		json_key(j, "processes");
		json_u64(j, r->nproc);
		json_key(j, "pids");
		json_arr_begin(j);
		for (uint32_t q = 0; q < r->nproc && q < MULTI_PIDS; q++)
			json_u64(j, r->pids[q]);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (!m->o->cumulative) {
		uint64_t ob = 0, oc = 0;
		for (size_t i = k; i < set->n; i++) {
			ob += set->rows[i].bytes;
			oc += set->rows[i].count;
		}
		json_key(j, "other");
		json_obj_begin(j);
		json_key(j, "groups");
		json_u64(j, set->n > k ? set->n - k : 0);
		json_key(j, "bytes");
		json_u64(j, ob);
		json_key(j, "count");
		json_u64(j, oc);
		json_obj_end(j);
	}
}

/* The traces array every JSON form starts with. */
static void json_procs(json_t *j, const multi_t *m, bool with_at)
{
	json_key(j, "processes");
	json_u64(j, m->n);
	json_key(j, "traces");
	json_arr_begin(j);
	for (size_t i = 0; i < m->n; i++) {
		const mproc_t *p = &m->procs[i];
		char st[64];
		json_obj_begin(j);
		json_key(j, "path");
		json_str(j, p->path);
		json_key(j, "pid");
		json_u64(j, p->pid);
		json_key(j, "ppid");
		json_u64(j, p->ppid);
		json_key(j, "exe");
		json_str(j, p->exe);
		json_key(j, "cmdline");
		json_str(j, p->cmd);
		json_key(j, "images");
		json_u64(j, p->images);
		json_key(j, "status");
		json_str(j, p->has_end ? (p->fatal_signal ? "signal" : "ended") : "truncated");
		json_key(j, "status_text");
		json_str(j, status_text(p, st, sizeof(st)));
		json_key(j, "fatal_signal");
		json_i64(j, p->fatal_signal);
		json_key(j, "events");
		json_u64(j, p->events);
		json_key(j, "lost_events");
		json_u64(j, p->lost);
		json_key(j, "peak_bytes");
		json_u64(j, p->peak_bytes);
		json_key(j, "peak_blocks");
		json_u64(j, p->peak_blocks);
		json_key(j, "peak_time_us");
		json_u64(j, p->peak_time_us);
		json_key(j, "end_bytes");
		json_u64(j, p->end_bytes);
		json_key(j, "end_blocks");
		json_u64(j, p->end_blocks);
		json_key(j, "end_time_us");
		json_u64(j, p->end_time_us);
		if (with_at) {
			json_key(j, "at_bytes");
			json_u64(j, p->at_bytes);
			json_key(j, "at_blocks");
			json_u64(j, p->at_blocks);
			json_key(j, "at_time_us");
			json_u64(j, p->at_time_us);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static const char *by_name(const opts_t *o)
{
	return o->by_process ? "process" : report_by_name((report_by_t)o->by);
}

/* top and leaks: one point, one table. */
static int multi_table(const opts_t *o, const char *at, const char *what)
{
	multi_t m;
	const char *pts[1] = { at };
	int rc = load_all(&m, o, pts, 1);
	if (rc)
		goto done;
	mset_t *set = &m.sets[0];
	size_t k = o->limit && (size_t)o->limit < set->n ? (size_t)o->limit : set->n;
	char words[128], a[32];
	point_words(at, words, sizeof(words));
	uint64_t hb = 0, hn = 0;
	for (size_t i = 0; i < m.n; i++) {
		hb += m.procs[i].at_bytes;
		hn += m.procs[i].at_blocks;
	}
	if (o->json) {
		json_t j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_procs(&j, &m, true);
		json_key(&j, "at");
		json_str(&j, at);
		json_key(&j, "point");
		json_str(&j, words);
		json_key(&j, "combined");
		json_str(&j, "the sum over the processes of each process's own point");
		json_key(&j, "by");
		json_str(&j, by_name(o));
		json_key(&j, "cumulative");
		json_bool(&j, o->cumulative);
		json_key(&j, "heap_bytes");
		json_u64(&j, hb);
		json_key(&j, "heap_blocks");
		json_u64(&j, hn);
		json_rows(&j, &m, set, k);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		warn_traces(&m);
		printf("%s %zu of %zu by %s%s at %s, summed over %zu processes: %s live in %" PRIu64 " blocks\n",
		       what, k, set->n, by_name(o), o->cumulative ? " (cumulative)" : "", words, m.n,
		       fmt_size(a, sizeof(a), (double)set->total_bytes, false), set->total_count);
		text_rows(&m, set, k, (report_by_t)o->by);
	}
	fflush(stdout);
done:
	multi_free(&m);
	return rc;
}

int multi_top(const opts_t *o, const char *at)
{
	return multi_table(o, at, "Top");
}

int multi_leaks(const opts_t *o)
{
	return multi_table(o, "end", "Leaks: top");
}

int multi_info(const opts_t *o)
{
	multi_t m;
	int rc = load_all(&m, o, NULL, 0);
	if (rc)
		goto done;
	uint64_t ev = 0, peak = 0, pblk = 0, end = 0, eblk = 0, lost = 0, trunc = 0;
	for (size_t i = 0; i < m.n; i++) {
		const mproc_t *p = &m.procs[i];
		ev += p->events;
		peak += p->peak_bytes;
		pblk += p->peak_blocks;
		end += p->end_bytes;
		eblk += p->end_blocks;
		lost += p->lost;
		trunc += !p->has_end;
	}
	if (o->json) {
		json_t j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_procs(&j, &m, false);
		json_key(&j, "events");
		json_u64(&j, ev);
		json_key(&j, "peak_bytes");
		json_u64(&j, peak);
		json_key(&j, "peak_blocks");
		json_u64(&j, pblk);
		json_key(&j, "peak_definition");
		json_str(&j, "the sum of each process's own peak");
		json_key(&j, "end_bytes");
		json_u64(&j, end);
		json_key(&j, "end_blocks");
		json_u64(&j, eblk);
		json_key(&j, "lost_events");
		json_u64(&j, lost);
		json_key(&j, "truncated");
		json_u64(&j, trunc);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		char a[32], b[32], st[64];
		warn_traces(&m);
		printf("traces:       %zu (one per process)\n", m.n);
		for (size_t i = 0; i < m.n; i++) {
			const mproc_t *p = &m.procs[i];
			printf("  pid %" PRIu64 " (parent %" PRIu64 "): %" PRIu64 " event%s, peak %s, end %s, %s: %s: %s\n",
			       p->pid, p->ppid, p->events, p->events == 1 ? "" : "s",
			       fmt_size(a, sizeof(a), (double)p->peak_bytes, false),
			       fmt_size(b, sizeof(b), (double)p->end_bytes, false),
			       status_text(p, st, sizeof(st)), p->path, p->cmd[0] ? p->cmd : p->exe);
		}
		printf("events:       %" PRIu64 " (allocations, frees and reallocs of every process)\n", ev);
		printf("peak heap:    %s in %" PRIu64 " blocks (the sum of each process's own peak)\n",
		       fmt_size(a, sizeof(a), (double)peak, false), pblk);
		printf("heap at end:  %s in %" PRIu64 " blocks (the sum of what each process held at its end)\n",
		       fmt_size(a, sizeof(a), (double)end, false), eblk);
		printf("lost events:  %" PRIu64 "\n", lost);
		printf("truncated:    %" PRIu64 " of %zu traces\n", trunc, m.n);
	}
	fflush(stdout);
done:
	multi_free(&m);
	return rc;
}

/* The tree, depth first from the processes whose parent is not traced. */
static void tree_print(const multi_t *m, size_t i, int depth, bool *shown)
{
	const mproc_t *p = &m->procs[i];
	char a[32], b[32], st[64];
	shown[i] = true;
	printf("%*spid %" PRIu64 " (parent %" PRIu64 "): peak %s, end %s, %" PRIu64 " event%s, %s%s: %s\n",
	       2 * depth + 2, "", p->pid, p->ppid,
	       fmt_size(a, sizeof(a), (double)p->peak_bytes, false),
	       fmt_size(b, sizeof(b), (double)p->end_bytes, false), p->events,
	       p->events == 1 ? "" : "s",
	       status_text(p, st, sizeof(st)), p->images > 1 ? ", after exec" : "",
	       p->cmd[0] ? p->cmd : p->exe);
	for (size_t k = 0; k < m->n; k++)
		if (!shown[k] && m->procs[k].ppid == p->pid && m->procs[k].pid != p->pid)
			tree_print(m, k, depth + 1, shown);
}

int multi_report(const opts_t *o)
{
	multi_t m;
	const char *pts[2] = { "peak", "end" };
	int rc = load_all(&m, o, pts, 2);
	bool *shown = NULL;
	if (rc)
		goto done;
	size_t kp = o->limit && (size_t)o->limit < m.sets[0].n ? (size_t)o->limit : m.sets[0].n;
	size_t ke = o->limit && (size_t)o->limit < m.sets[1].n ? (size_t)o->limit : m.sets[1].n;
	if (o->json) {
		json_t j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_procs(&j, &m, false);
		json_key(&j, "by");
		json_str(&j, by_name(o));
		json_key(&j, "peak");
		json_obj_begin(&j);
		json_key(&j, "point");
		json_str(&j, "each process's own peak");
		json_rows(&j, &m, &m.sets[0], kp);
		json_obj_end(&j);
		json_key(&j, "leaks");
		json_obj_begin(&j);
		json_key(&j, "point");
		json_str(&j, "each process's end");
		json_rows(&j, &m, &m.sets[1], ke);
		json_obj_end(&j);
		json_obj_end(&j);
		json_finish(&j);
		goto out;
	}
	shown = calloc(m.n, sizeof(*shown));
	if (!shown) {
		rc = run_nomem();
		goto done;
	}
	char a[32], b[32];
	uint64_t ev = 0;
	for (size_t i = 0; i < m.n; i++)
		ev += m.procs[i].events;
	warn_traces(&m);
	printf("Processes: %zu traces of one run, %" PRIu64 " events; peak = each process's own, end = what it held when it ended\n",
	       m.n, ev);
	for (size_t i = 0; i < m.n; i++)
		if (!shown[i] && !find_pid(&m, m.procs[i].ppid))
			tree_print(&m, i, 0, shown);
	for (size_t i = 0; i < m.n; i++)
		if (!shown[i]) /* a cycle of reused pids: flat */
			tree_print(&m, i, 0, shown);
	printf("\nPeak: %s in %" PRIu64 " blocks, the sum of each process's own peak; by %s:\n",
	       fmt_size(a, sizeof(a), (double)m.sets[0].total_bytes, false), m.sets[0].total_count,
	       by_name(o));
	text_rows(&m, &m.sets[0], kp, (report_by_t)o->by);
	printf("\nLeaked: %s in %" PRIu64 " blocks, still live at each process's end; by %s:\n",
	       fmt_size(b, sizeof(b), (double)m.sets[1].total_bytes, false), m.sets[1].total_count,
	       by_name(o));
	text_rows(&m, &m.sets[1], ke, (report_by_t)o->by);
out:
	fflush(stdout);
done:
	free(shown);
	multi_free(&m);
	return rc;
}
