/* The churn workloads' shared pieces (bench/churn.c, bench/sweep.c): one
 * random sequence and one "mixed" size distribution, so that both
 * programs' base shapes draw the same sizes. */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64*: small, fast, and the same sequence on every machine. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Mixed sizes: mostly small, a tail up to 32 KiB (below glibc's mmap
 * threshold, so every block comes from the heap). */
static inline size_t mixed_size(uint64_t r)
{
	unsigned u = (unsigned)(r & 1023);
	uint64_t v = r >> 10;
	if (u < 614)
		return 8 + v % 121;
	if (u < 921)
		return 129 + v % 896;
	if (u < 1013)
		return 1025 + v % 7168;
	return 8193 + v % 24576;
}

#endif
