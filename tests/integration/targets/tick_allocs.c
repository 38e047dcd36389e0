/* Allocates one 1000-byte block every millisecond, 20 times, and one
 * 1 MiB spike right after the 12th block, freed after the 13th: the peak is
 * the 13th block's allocation, with the spike live.  Prints the CLOCK_REALTIME reading (ns) taken just after each
 * allocation returned, one "tick N NS" line each, and "spike NS", so a test
 * can compare the trace's event times (start_unix_ns + time) with
 * the program's own clock. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink[20];

static long long real_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	long long at[20], spike_at = 0;
	void *volatile spike = NULL;
	for (int i = 0; i < 20; i++) {
		sink[i] = malloc(1000); /* @site:tick */
		at[i] = real_ns();
		if (i == 11) {
			spike = malloc(1 << 20); /* @site:spike */
			spike_at = real_ns();
		}
		if (i == 12)
			free(spike);
		struct timespec t = { 0, 1000 * 1000 };
		while (nanosleep(&t, &t) != 0)
			;
	}
	for (int i = 0; i < 20; i++)
		printf("tick %d %lld\n", i, at[i]);
	printf("spike %lld\n", spike_at);
	return 0;
}
