/* Allocates in a signal handler: a second thread sends SIGUSR1 to the
 * main thread 400 times while the main thread mallocs and frees in a
 * loop, so most signals interrupt an allocation hook or the allocator.
 * (one size, served from glibc's tcache: no lock a handler could deadlock
 * on).  The handler mallocs one 77-byte block (kept) per signal and counts.
 * Prints "handled N blocks".  Issue 14, defect 3: of 789 such blocks the
 * trace had 487, `lost events: 0`, and 451 of them were attributed to
 * main.
 *
 * `sigalloc free`: the handler also frees, each time, one of 400 55-byte
 * blocks main allocated before the signals and the block the handler
 * allocated the time before, so that only the last handler block is live
 * at the end. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIGNALS 400

static void *kept[SIGNALS];
static void *given[SIGNALS];
static int frees; /* the handler frees too */
static volatile int handled;
static volatile int stop;
static pthread_t main_thread;

static __attribute__((noinline)) void on_usr1(int sig)
{
	(void)sig;
	if (handled < SIGNALS) {
		if (frees) {
			free(given[handled]);
			if (handled > 0)
				free(kept[handled - 1]);
		}
		kept[handled] = malloc(77); /* @site:in_handler */
		handled++;
	}
}

static void *sender(void *arg)
{
	(void)arg;
	for (int i = 0; i < SIGNALS; i++) {
		int before = handled;
		pthread_kill(main_thread, SIGUSR1);
		while (handled == before)
			sched_yield();
	}
	stop = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	frees = argc > 1 && !strcmp(argv[1], "free");
	if (frees)
		for (int i = 0; i < SIGNALS; i++)
			given[i] = malloc(55); /* @site:given */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	pthread_t t;
	if (pthread_create(&t, NULL, sender, NULL))
		return 2;
	while (!stop)
		free(malloc(24)); /* tcache only: glibc takes no lock */
	pthread_join(t, NULL);
	printf("handled %d blocks\n", handled);
	return 0;
}
