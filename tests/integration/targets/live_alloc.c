/* test_live.py's program: a known allocation held while it runs, and a
 * steady churn so that the live view has events to count.
 *
 * hold_blocks() allocates 50 blocks of 160 bytes (8000 B, printed exactly
 * by the reports), all from one line, and keeps them to the end.  churn()
 * allocates and frees 200 blocks of 64 bytes every 10 ms, and grow() keeps
 * 1 KiB more every 10 ms (a heap that rises, for the sparkline).  It runs for
 * argv[1] seconds (default 4), then frees nothing and exits 0 (argv[2],
 * when given, is the exit status). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define HOLD 50
#define HOLD_SIZE 160

static void *held[HOLD];

__attribute__((noinline)) static void hold_blocks(void)
{
	for (int i = 0; i < HOLD; i++)
		held[i] = malloc(HOLD_SIZE); /* @site:hold */
}

__attribute__((noinline)) static void churn(void)
{
	void *p[200];
	for (int i = 0; i < 200; i++)
		p[i] = malloc(64); /* @site:churn */
	for (int i = 0; i < 200; i++)
		free(p[i]);
}

__attribute__((noinline)) static void grow(void)
{
	void **p = malloc(1024); /* @site:grow */
	*p = NULL; /* kept: the program never frees it */
	if (p == (void *)1)
		free(p);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 4.0;
	int status = argc > 2 ? atoi(argv[2]) : 0;
	struct timespec t0, t, tick = { 0, 10 * 1000 * 1000 };
	hold_blocks();
	printf("live_alloc: holding %d blocks of %d bytes\n", HOLD, HOLD_SIZE);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		churn();
		grow();
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	printf("live_alloc: done\n");
	return status;
}
