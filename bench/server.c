/* The long-running benchmark's workload (bench/longrun.py): a server-like
 * request loop for SECONDS seconds at its full allocation rate.  Each
 * request allocates a request buffer, a few headers, a parsed body and a
 * response (mixed sizes, bench_rng.h) through a handful of call paths,
 * and frees them all; one request in 64 adds an entry to a cache that
 * grows slowly (one in 16 inserts evicts the oldest entry instead of
 * growing).  Prints "requests N allocations M" at the end, so that a run
 * under a recorder reports its throughput: the loop runs for a fixed
 * time, the overhead shows as fewer requests.
 *
 * Between its allocations a request does WORK rounds of "parsing" (a
 * hash over its buffers; default 6000): about 1M allocation events a
 * second on one core of a 2020s machine, a busy server's rate rather than
 * a pure allocation loop's.
 *
 *   server SECONDS [WORK] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rng.h"

#define CACHE_MAX (1 << 20)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned work = 6000;
static volatile uint64_t sink;
static uint64_t nallocs;
static void *cache[CACHE_MAX];
static size_t ncache, oldest;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static __attribute__((noinline)) void *alloc(size_t n)
{
	nallocs++;
	void *p = malloc(n);
	if (p)
		memset(p, 0, n < 64 ? n : 64);
	return p;
}

static __attribute__((noinline)) char *read_request(void)
{
	return alloc(512 + rng_next(&rng) % 3584);
}

static __attribute__((noinline)) void parse_headers(void **h, int n)
{
	for (int i = 0; i < n; i++)
		h[i] = alloc(32 + rng_next(&rng) % 96);
}

static __attribute__((noinline)) void *parse_body(void)
{
	return alloc(mixed_size(rng_next(&rng)));
}

static __attribute__((noinline)) void *render(void)
{
	return alloc(1024 + rng_next(&rng) % 15360);
}

static __attribute__((noinline)) void cache_insert(void)
{
	void *e = alloc(256 + rng_next(&rng) % 768);
	if (ncache < CACHE_MAX && rng_next(&rng) % 16) {
		cache[ncache++] = e;
	} else {
		size_t i = oldest++ % ncache;
		free(cache[i]);
		cache[i] = e;
	}
}

static __attribute__((noinline)) void handle(uint64_t r)
{
	void *h[8];
	char *req = read_request();
	int nh = 2 + (int)(rng_next(&rng) % 6);
	parse_headers(h, nh);
	void *body = parse_body();
	void *resp = render();
	uint64_t x = r;
	for (unsigned i = 0; i < work; i++)
		x = x * 31 + ((unsigned char *)req)[i & 63] + ((unsigned char *)resp)[i & 63];
	sink = x;
	if (r % 64 == 0)
		cache_insert();
	free(resp);
	free(body);
	for (int i = 0; i < nh; i++)
		free(h[i]);
	free(req);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 60;
	if (argc > 2)
		work = (unsigned)atoi(argv[2]);
	double end = now() + secs;
	uint64_t r = 0;
	while (1) {
		for (int k = 0; k < 256; k++)
			handle(r++);
		if (now() >= end)
			break;
	}
	printf("requests %llu allocations %llu\n", (unsigned long long)r,
	       (unsigned long long)nallocs);
	return 0;
}
