/* The one top-N routine: ranks entries by a cost tuple (bytes, count,
 * |bytes diff|, growth, ... chosen by the caller) and keeps the best N in
 * order.  Used by every report (top, diff, leaks, growth).  Pure function
 * of its input; thread-safe. */
#ifndef HEAPTRAIL_TOPN_H
#define HEAPTRAIL_TOPN_H

#include <stddef.h>
#include <stdint.h>

#define TOPN_COSTS 4

typedef struct topn_entry {
	/* Compared lexicographically, largest first: cost[0] is the ranking
	 * cost, the next ones break ties (e.g. top: {bytes, count}; diff:
	 * {|bytes diff|, bytes, |count diff|, count}).  Unused slots = 0. */
	uint64_t cost[TOPN_COSTS];
	/* Final tie-break, ascending (strcmp); NULL sorts first.  Keeps the
	 * output stable across runs. */
	const char *key;
	void *item; /* caller's payload */
} topn_entry_t;

/* Reorders v[0..n) so that v[0..k) holds the best k = min(n, limit)
 * entries, best first (limit 0 = all).  Returns k.  O(n log k). */
size_t topn_rank(topn_entry_t *v, size_t n, size_t limit);

/* Compares two entries in rank order (<0 when a ranks before b). */
int topn_cmp(const topn_entry_t *a, const topn_entry_t *b);

/* |x| of a signed difference, as a cost. */
static inline uint64_t topn_abs(int64_t x)
{
	return x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
}

#endif /* HEAPTRAIL_TOPN_H */
