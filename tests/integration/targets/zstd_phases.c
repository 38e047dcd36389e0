/* Three phases of allocations at known sites, each followed by a "phase N"
 * line and a pause longer than the writer's flush interval (100 ms), so
 * each phase reaches the file before the next starts:
 *   phase 1: 1000 x 100 B at site "one", all freed;
 *   phase 2: 1000 x 200 B at site "two", every other one freed (500 live);
 *   phase 3: 1000 x 300 B at site "three", all kept (leaked).
 * With "wait" it then prints "waiting PID" and sleeps until killed (the
 * SIGKILL test); else it returns 0.  The same allocations every run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 1000

static void *keep[3][N];

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0)
		;
}

static void phase_one(void)
{
	for (int i = 0; i < N; i++)
		keep[0][i] = malloc(100); /* @site:one */
	for (int i = 0; i < N; i++)
		free(keep[0][i]);
}

static void phase_two(void)
{
	for (int i = 0; i < N; i++)
		keep[1][i] = malloc(200); /* @site:two */
	for (int i = 0; i < N; i += 2)
		free(keep[1][i]);
}

static void phase_three(void)
{
	for (int i = 0; i < N; i++)
		keep[2][i] = malloc(300); /* @site:three */
}

int main(int argc, char **argv)
{
	int wait = argc > 1 && strcmp(argv[1], "wait") == 0;
	void (*const phases[3])(void) = { phase_one, phase_two, phase_three };
	for (int p = 0; p < 3; p++) {
		phases[p]();
		printf("phase %d\n", p + 1);
		fflush(stdout);
		pause_ms(300);
	}
	if (wait) {
		printf("waiting %d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	return 0;
}
