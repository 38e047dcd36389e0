/* A deterministic mix for `record --aggregate` (test_aggregate.py): four
 * phases between snapshot marks, the heap's peak inside phase "spike"
 * (not at a mark, not at the end), then CHURN malloc/free pairs:
 *   kept:   100 x malloc(64) kept at kept_one()                -> "kept"
 *   mixed:  50 x calloc(10, 20) at mixed_calloc(); 50 of kept's blocks
 *           freed, 20 realloc'd to 300 bytes at grow_some()      -> "mixed"
 *   spike:  10 x malloc(10000) at spike(), all freed again       -> "spike"
 *   churn:  CHURN (argv[1], default 1000) x malloc(16 + i % 200)
 *           freed at once, at churn(); 7 x malloc(500) kept at
 *           tail() every CHURN / 7 pairs                       -> "churn"
 * Each mark comes after creep() leaked 4096 bytes more (one stack: a leak
 * candidate).  The kept blocks are leaked. */
#include <stdio.h>
#include <stdlib.h>

#include "heaptrail.h"

static void *volatile kept[100];
static void *volatile leaked[64];
static int nleaked;

static __attribute__((noinline)) void kept_one(void)
{
	for (int i = 0; i < 100; i++)
		kept[i] = malloc(64);
}

static __attribute__((noinline)) void mixed_calloc(void)
{
	for (int i = 0; i < 50; i++)
		leaked[nleaked++] = calloc(10, 20);
}

static __attribute__((noinline)) void grow_some(void)
{
	for (int i = 0; i < 50; i++) {
		free(kept[i]);
		kept[i] = NULL;
	}
	for (int i = 50; i < 70; i++)
		kept[i] = realloc(kept[i], 300);
}

static __attribute__((noinline)) void spike(void)
{
	void *b[10];
	for (int i = 0; i < 10; i++)
		b[i] = malloc(10000);
	for (int i = 0; i < 10; i++)
		free(b[i]);
}

static __attribute__((noinline)) void creep(void)
{
	leaked[nleaked++] = malloc(4096);
}

/* One call site for creep(), so its blocks share one stack. */
static __attribute__((noinline)) void mark(const char *label)
{
	creep();
	heaptrail_snapshot(label);
}

static __attribute__((noinline)) void tail(void)
{
	leaked[nleaked++] = malloc(500);
}

static __attribute__((noinline)) void churn(long n)
{
	long every = n / 7 ? n / 7 : 1;
	int tails = 0;
	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(16 + (size_t)(i % 200));
		free(p);
		if (i % every == every - 1 && tails < 7) {
			tail();
			tails++;
		}
	}
}

static long churn_n;

static void phase_kept(void)
{
	kept_one();
}

static void phase_mixed(void)
{
	mixed_calloc();
	grow_some();
}

static void phase_churn(void)
{
	churn(churn_n);
}

int main(int argc, char **argv)
{
	static void (*const phase[4])(void) = { phase_kept, phase_mixed, spike, phase_churn };
	static const char *const label[4] = { "kept", "mixed", "spike", "churn" };
	churn_n = argc > 1 ? atol(argv[1]) : 1000;
	/* One line for every phase and mark: creep()'s blocks share a stack. */
	for (int k = 0; k < 4; k++) {
		phase[k]();
		mark(label[k]);
	}
	printf("done %d\n", nleaked);
	return 0;
}
