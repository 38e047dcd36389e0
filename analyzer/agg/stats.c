/* Grouped statistics: see stats.h. */
#include "agg/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agg/topn.h"

int stats_compute(group_t *g, const uint64_t *bytes, const uint64_t *count,
		  size_t n, bool cumulative, stat_set_t *out)
{
	uint64_t *gb = NULL, *gc = NULL;
	size_t cap = 0;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const uint32_t *ids;
		uint32_t one;
		int nid;
		if (!count[i] && !bytes[i])
			continue;
		if (!group_stack_passes(g, (sidx_t)i))
			continue;
		if (cumulative) {
			nid = group_keys_of_stack(g, (sidx_t)i, &ids);
			if (nid < 0) {
				rc = nid;
				goto fail;
			}
		} else {
			one = group_of_stack(g, (sidx_t)i);
			if (one == GROUP_NONE) {
				rc = -ENOMEM;
				goto fail;
			}
			ids = &one;
			nid = 1;
		}
		out->total_bytes += bytes[i];
		out->total_count += count[i];
		for (int k = 0; k < nid; k++) {
			uint32_t id = ids[k];
			if (id >= cap) {
				size_t nc = cap ? cap : 256;
				while (nc <= id)
					nc *= 2;
				uint64_t *nb = realloc(gb, nc * sizeof(*nb));
				if (!nb) {
					rc = -ENOMEM;
					goto fail;
				}
				gb = nb;
				uint64_t *ncn = realloc(gc, nc * sizeof(*ncn));
				if (!ncn) {
					rc = -ENOMEM;
					goto fail;
				}
				gc = ncn;
				memset(gb + cap, 0, (nc - cap) * sizeof(*gb));
				memset(gc + cap, 0, (nc - cap) * sizeof(*gc));
				cap = nc;
			}
			gb[id] += bytes[i];
			gc[id] += count[i];
		}
	}
	size_t m = 0;
	for (size_t id = 0; id < cap; id++)
		m += gc[id] || gb[id];
	out->rows = calloc(m ? m : 1, sizeof(*out->rows));
	if (!out->rows) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t id = 0; id < cap; id++) {
		if (!gc[id] && !gb[id])
			continue;
		stat_row_t *r = &out->rows[out->n++];
		r->key = group_key(g, (uint32_t)id);
		r->nframes = group_frames(g, (uint32_t)id, &r->frames);
		r->bytes = gb[id];
		r->count = gc[id];
	}
	free(gb);
	free(gc);
	return 0;
fail:
	free(gb);
	free(gc);
	stats_free(out);
	return rc;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const stat_row_t *)a)->key, ((const stat_row_t *)b)->key);
}

int stats_diff(const stat_set_t *old, const stat_set_t *now, stat_set_t *out)
{
	stat_row_t *o = NULL, *w = NULL;
	memset(out, 0, sizeof(*out));
	o = malloc((old->n + 1) * sizeof(*o));
	w = malloc((now->n + 1) * sizeof(*w));
	out->rows = calloc(old->n + now->n + 1, sizeof(*out->rows));
	if (!o || !w || !out->rows) {
		free(o);
		free(w);
		stats_free(out);
		return -ENOMEM;
	}
	memcpy(o, old->rows, old->n * sizeof(*o));
	memcpy(w, now->rows, now->n * sizeof(*w));
	qsort(o, old->n, sizeof(*o), by_key);
	qsort(w, now->n, sizeof(*w), by_key);
	size_t i = 0, k = 0;
	while (i < old->n || k < now->n) {
		int c = i >= old->n ? 1 : k >= now->n ? -1 :
			strcmp(o[i].key, w[k].key);
		stat_row_t *r = &out->rows[out->n++];
		if (c == 0) {
			*r = w[k];
			r->bytes_diff = (int64_t)(w[k].bytes - o[i].bytes);
			r->count_diff = (int64_t)(w[k].count - o[i].count);
			i++;
			k++;
		} else if (c > 0) {
			*r = w[k];
			r->bytes_diff = (int64_t)w[k].bytes;
			r->count_diff = (int64_t)w[k].count;
			k++;
		} else {
			*r = o[i];
			r->bytes = r->count = 0;
			r->bytes_diff = -(int64_t)o[i].bytes;
			r->count_diff = -(int64_t)o[i].count;
			i++;
		}
	}
	out->total_bytes = now->total_bytes;
	out->total_count = now->total_count;
	out->total_bytes_diff = (int64_t)(now->total_bytes - old->total_bytes);
	out->total_count_diff = (int64_t)(now->total_count - old->total_count);
	free(o);
	free(w);
	return 0;
}

static size_t rank(stat_set_t *s, bool diff, bool by_count, size_t limit);

size_t stats_rank(stat_set_t *s, bool diff, size_t limit)
{
	return rank(s, diff, false, limit);
}

size_t stats_rank_count(stat_set_t *s, size_t limit)
{
	return rank(s, false, true, limit);
}

static size_t rank(stat_set_t *s, bool diff, bool by_count, size_t limit)
{
	topn_entry_t *v = calloc(s->n + 1, sizeof(*v));
	stat_row_t *tmp = malloc((s->n + 1) * sizeof(*tmp));
	size_t k;
	if (!v || !tmp) {
		free(v);
		free(tmp);
		/* Out of memory: keep the input order. */
		return limit && limit < s->n ? limit : s->n;
	}
	for (size_t i = 0; i < s->n; i++) {
		const stat_row_t *r = &s->rows[i];
		if (diff) {
			v[i].cost[0] = topn_abs(r->bytes_diff);
			v[i].cost[1] = r->bytes;
			v[i].cost[2] = topn_abs(r->count_diff);
			v[i].cost[3] = r->count;
		} else if (by_count) {
			v[i].cost[0] = r->count;
			v[i].cost[1] = r->bytes;
		} else {
			v[i].cost[0] = r->bytes;
			v[i].cost[1] = r->count;
		}
		v[i].key = r->key;
		v[i].item = &s->rows[i];
	}
	k = topn_rank(v, s->n, limit);
	/* v is a permutation of the rows: keep them all, best k first. */
	for (size_t i = 0; i < s->n; i++)
		tmp[i] = *(stat_row_t *)v[i].item;
	memcpy(s->rows, tmp, s->n * sizeof(*tmp));
	free(v);
	free(tmp);
	return k;
}

void stats_free(stat_set_t *s)
{
	free(s->rows);
	memset(s, 0, sizeof(*s));
}
