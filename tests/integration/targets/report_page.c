/* One of each thing `heaptrail report` shows, each from its own line:
 *   leak_phase  100 blocks of 1 KiB per phase for six phases, a
 *               heaptrail_snapshot() after each, never freed: a leak
 *               candidate (+500 KiB from the first snapshot), 600 KiB live
 *   peak_build  in phase 3: 64 blocks of 32 KiB (2 MiB), all freed again:
 *               the peak (2 MiB + 300 KiB of leaks + the array below)
 *   grow        one block grown by realloc from 16 B to 64 KiB, doubling
 *               (12 steps), freed at the end: a growth chain
 *   calls       5000 blocks of 8 B kept until all are made, then freed:
 *               the most calls (and none temporary)
 *   temp        3000 blocks of 48 B, each freed at once: the temporaries
 * Prints nothing; exits 0. */
#include <stdlib.h>
#include <string.h>

#include "heaptrail.h"

static void *volatile sink;
static void *kept[5000];

static void leak_phase(void)
{
	for (int i = 0; i < 100; i++) {
		void **p = malloc(1024); /* @site:leak_phase */
		p[0] = (void *)sink;
		sink = p;
	}
}

static void peak_build(void)
{
	void *b[64];
	for (int i = 0; i < 64; i++) {
		b[i] = malloc(32 * 1024); /* @site:peak_build */
		memset(b[i], 1, 64);
	}
	for (int i = 0; i < 64; i++)
		free(b[i]);
}

static void grow(void)
{
	size_t n = 16;
	char *a = malloc(n);
	memset(a, 0, n);
	while (n < 64 * 1024) {
		n *= 2;
		a = realloc(a, n); /* @site:grow */
		memset(a, 2, n);
	}
	free(a);
}

static void calls(void)
{
	for (int i = 0; i < 5000; i++)
		kept[i] = malloc(8); /* @site:calls */
	for (int i = 0; i < 5000; i++)
		free(kept[i]);
}

static void temp(void)
{
	for (int i = 0; i < 3000; i++) {
		char *t = malloc(48); /* @site:temp */
		t[0] = (char)i;
		sink = t; /* keeps the allocation; the block is freed at once */
		free(t);
	}
}

int main(void)
{
	for (int p = 0; p < 6; p++) {
		leak_phase();
		if (p == 2)
			peak_build();
		heaptrail_snapshot("phase");
	}
	grow();
	calls();
	temp();
	return 0;
}
