/* Benchmark workload: the parameterised churn of the sweep (issue 19).
 * One binary covers every point; scripts/bench.sh builds it twice (with
 * and without frame pointers).  Deterministic: the numbers of mallocs and
 * frees, and every size and call site, depend only on the arguments.
 *
 *   sweep SIZES DEPTH NSITES LIVE ORDER OPS
 *     SIZES   fixed    every block 48 B
 *             classes  one size class per call site (16 B .. 1 KiB): a site
 *                      allocates one kind of object
 *             mixed    mostly small, a tail to 32 KiB (the churn workload's)
 *             heavy    heavy-tailed: size doubles with probability 1/2 per
 *                      step, 16 B .. 1 MiB (the largest go to mmap)
 *     DEPTH   shallow 3-6 frames | mixed 5-30 | deep 40-80 (below the driver)
 *     NSITES  distinct call sites (stacks), 1..5776
 *     LIVE    blocks live at once (the working set)
 *     ORDER   random   free a random live block, allocate in its place
 *             fifo     free the oldest block (a queue)
 *             lifo     a burst of 64 allocations freed newest first, over a
 *                      standing set of LIVE blocks (scratch buffers)
 *     OPS     allocations (each with one free)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written by every generated frame so that no call is a tail call. */
__thread unsigned long sweep_sink;

#include "bench_rng.h"
#include "sweep_sites.h"

#define BURST 64

typedef enum { SZ_FIXED, SZ_CLASSES, SZ_MIXED, SZ_HEAVY } sizes_t;
typedef enum { ORD_RANDOM, ORD_FIFO, ORD_LIFO } order_t;

typedef struct {
	sizes_t sizes;
	unsigned lo, hi;          /* depth range, frames below the driver */
	unsigned nsites;
	size_t live;
	order_t order;
	long ops;
} shape_t;

static unsigned char site_pads[SWEEP_MAXSITES]; /* pads per site */
static uint16_t site_class[SWEEP_MAXSITES];     /* classes: size per site */

static inline size_t pick_size(const shape_t *sh, unsigned site, uint64_t r)
{
	switch (sh->sizes) {
	case SZ_FIXED:
		return 48;
	case SZ_CLASSES:
		return site_class[site];
	case SZ_MIXED:
		return mixed_size(r);
	case SZ_HEAVY: {
		/* k = trailing ones of r: P(k) = 2^-(k+1); 16 << k, capped at
		 * 1 MiB, plus up to as much again. */
		unsigned k = (unsigned)__builtin_ctzll(~r);
		if (k > 16)
			k = 16;
		size_t base = (size_t)16 << k;
		return base + (size_t)((r >> 20) % base);
	}
	}
	return 48;
}

static inline void *alloc_at(const shape_t *sh, uint64_t *s)
{
	uint64_t r = rng_next(s);
	call_t c;
	c.site = (unsigned)((r >> 40) % sh->nsites);
	c.size = pick_size(sh, c.site, r);
	return sweep_pads[site_pads[c.site]](&c);
}

static void layout_sites(const shape_t *sh)
{
	static const uint16_t classes[] = { 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024 };
	unsigned span = sh->hi - sh->lo + 1;
	for (unsigned i = 0; i < sh->nsites; i++) {
		/* Depths spread over the range independently of the site's
		 * index (a multiplicative hash), so that depth and size class
		 * are not correlated. */
		unsigned h = (unsigned)(((uint64_t)i * 2654435761u) >> 7);
		site_pads[i] = (unsigned char)(sh->lo + h % span - 2);
		site_class[i] = classes[(h >> 11) % (sizeof classes / sizeof classes[0])];
	}
}

static int run(const shape_t *sh)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	void **slot = calloc(sh->live, sizeof *slot);
	if (!slot)
		return 1;
	for (size_t k = 0; k < sh->live; k++)
		if (!(slot[k] = alloc_at(sh, &s)))
			return 1;
	long done = 0;
	if (sh->order == ORD_LIFO) {
		void *burst[BURST];
		while (done < sh->ops) {
			int n = sh->ops - done < BURST ? (int)(sh->ops - done) : BURST;
			for (int i = 0; i < n; i++)
				if (!(burst[i] = alloc_at(sh, &s)))
					return 1;
			for (int i = n - 1; i >= 0; i--)
				free(burst[i]);
			done += n;
		}
	} else {
		for (; done < sh->ops; done++) {
			size_t k = sh->order == ORD_FIFO ? (size_t)done % sh->live
							 : (size_t)(rng_next(&s) % sh->live);
			free(slot[k]);
			if (!(slot[k] = alloc_at(sh, &s)))
				return 1;
		}
	}
	for (size_t k = 0; k < sh->live; k++)
		free(slot[k]);
	free(slot);
	return 0;
}

static int usage(const char *me)
{
	fprintf(stderr, "usage: %s fixed|classes|mixed|heavy shallow|mixed|deep NSITES(1-%d) "
		"LIVE(>0) random|fifo|lifo OPS(>0)\n", me, SWEEP_MAXSITES);
	return 2;
}

int main(int argc, char **argv)
{
	static const char *const sizes[] = { "fixed", "classes", "mixed", "heavy" };
	static const char *const orders[] = { "random", "fifo", "lifo" };
	shape_t sh = { 0 };
	int i;
	if (argc != 7)
		return usage(argv[0]);
	for (i = 0; i < 4 && strcmp(argv[1], sizes[i]); i++)
		;
	if (i == 4)
		return usage(argv[0]);
	sh.sizes = (sizes_t)i;
	if (!strcmp(argv[2], "shallow"))
		sh.lo = 3, sh.hi = 6;
	else if (!strcmp(argv[2], "mixed"))
		sh.lo = 5, sh.hi = 30;
	else if (!strcmp(argv[2], "deep"))
		sh.lo = 40, sh.hi = 80;
	else
		return usage(argv[0]);
	sh.nsites = (unsigned)atoi(argv[3]);
	sh.live = (size_t)atol(argv[4]);
	for (i = 0; i < 3 && strcmp(argv[5], orders[i]); i++)
		;
	if (i == 3)
		return usage(argv[0]);
	sh.order = (order_t)i;
	sh.ops = atol(argv[6]);
	if (sh.nsites < 1 || sh.nsites > SWEEP_MAXSITES || sh.live < 1 || sh.ops < 1)
		return usage(argv[0]);
	layout_sites(&sh);
	int rc = run(&sh);
	if (rc)
		fprintf(stderr, "%s: allocation failed\n", argv[0]);
	printf("sweep %s %s %u %zu %s ops=%ld sink=%lu\n", argv[1], argv[2], sh.nsites, sh.live,
	       argv[5], sh.ops, sweep_sink);
	return rc;
}
