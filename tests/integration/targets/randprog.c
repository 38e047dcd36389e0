/* A random program from a seed (property test of ordering and
 * losslessness): 2-4 threads malloc, free each other's blocks through a
 * shared table, realloc, fork (the child leaves with _exit) and receive
 * SIGUSR1s (the handler only counts).  Every program allocation has an odd
 * size in 3001..3999, which glibc itself never asks for, so the test can
 * pick them out of the trace.  Prints "allocs A frees F reallocs R". */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *table[SLOTS];
static unsigned long allocs, frees, reallocs;
static volatile sig_atomic_t signals;
static unsigned seed0;
static int steps;

static void on_usr1(int sig)
{
	(void)sig;
	signals++;
}

static unsigned next(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t size_of(unsigned r)
{
	return 3001 + 2 * (r % 499);
}

static void *worker(void *arg)
{
	unsigned s = seed0 ^ (unsigned)(unsigned long)arg * 2654435761u;
	for (int i = 0; i < steps; i++) {
		unsigned r = next(&s), slot = r % SLOTS;
		pthread_mutex_lock(&lock);
		switch (next(&s) % 8) {
		case 0: case 1: case 2:
			if (!table[slot]) {
				table[slot] = malloc(size_of(r));
				allocs++;
			}
			break;
		case 3: case 4:
			if (table[slot]) {
				free(table[slot]); /* often another thread's block */
				table[slot] = NULL;
				frees++;
			}
			break;
		case 5: {
			void *q = realloc(table[slot], size_of(r >> 3));
			if (table[slot])
				reallocs++;
			else
				allocs++;
			table[slot] = q;
			break;
		}
		case 6:
			if (r % 64 == 0) {
				pid_t p = fork();
				if (p == 0) {
					free(malloc(3333)); /* not recorded: child not followed */
					_exit(0);
				}
				waitpid(p, NULL, 0);
			}
			break;
		default:
			if (r % 16 == 0)
				kill(getpid(), SIGUSR1);
			break;
		}
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	seed0 = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
	unsigned s = seed0;
	int nthreads = 2 + (int)(next(&s) % 3);
	steps = 200 + (int)(next(&s) % 400);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t t[4];
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			return 2;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++)
		if (table[i] && i % 2) {
			free(table[i]);
			frees++;
		}
	printf("allocs %lu frees %lu reallocs %lu\n", allocs, frees, reallocs);
	return 0;
}
