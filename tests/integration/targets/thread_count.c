/* Starts N threads (argv[1]) that each allocate, and whose thread-specific
 * destructor allocates in every round glibc runs, up to the last: the
 * last round's allocation comes after the recorder gave the thread's slot
 * up.  `heaptrail info` must count N + 1 threads (issue 20.6: such a
 * thread showed up under two indexes), never the recorder's writer. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_key_t key;

static void again(void *arg)
{
	static __thread int rounds;
	free(malloc(32));
	if (++rounds < PTHREAD_DESTRUCTOR_ITERATIONS)
		pthread_setspecific(key, arg);
}

static void *worker(void *arg)
{
	free(malloc(100));
	pthread_setspecific(key, arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	pthread_t t[256];
	if (n < 1 || n > 256)
		return 2;
	pthread_key_create(&key, again);
	free(malloc(10));
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)1);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%d threads\n", n);
	return 0;
}
