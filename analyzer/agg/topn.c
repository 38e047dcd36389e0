/* The top-N routine: see topn.h.  Keeps the best k in a bounded heap whose
 * root is the worst kept entry, then sorts those k. */
#include "agg/topn.h"

#include <stdlib.h>
#include <string.h>

int topn_cmp(const topn_entry_t *a, const topn_entry_t *b)
{
	for (int i = 0; i < TOPN_COSTS; i++) {
		if (a->cost[i] != b->cost[i])
			return a->cost[i] > b->cost[i] ? -1 : 1;
	}
	if (a->key == b->key)
		return 0;
	if (!a->key)
		return -1;
	if (!b->key)
		return 1;
	return strcmp(a->key, b->key);
}

static int qcmp(const void *a, const void *b)
{
	return topn_cmp(a, b);
}

static void swap(topn_entry_t *a, topn_entry_t *b)
{
	topn_entry_t t = *a;
	*a = *b;
	*b = t;
}

/* Max-heap on rank order: the root is the entry ranked last. */
static void sift_down(topn_entry_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && topn_cmp(&h[l], &h[w]) > 0)
			w = l;
		if (r < n && topn_cmp(&h[r], &h[w]) > 0)
			w = r;
		if (w == i)
			return;
		swap(&h[i], &h[w]);
		i = w;
	}
}

size_t topn_rank(topn_entry_t *v, size_t n, size_t limit)
{
	size_t k = (limit == 0 || limit > n) ? n : limit;
	if (k == n || k * 4 >= n) {
		qsort(v, n, sizeof(*v), qcmp);
		return k;
	}
	/* Heap of the k best seen so far in v[0..k). */
	for (size_t i = k / 2; i-- > 0;)
		sift_down(v, k, i);
	for (size_t i = k; i < n; i++) {
		if (topn_cmp(&v[i], &v[0]) < 0) {
			swap(&v[i], &v[0]);
			sift_down(v, k, 0);
		}
	}
	qsort(v, k, sizeof(*v), qcmp);
	return k;
}
