/* 200 short-lived threads, 4 at a time: each allocates 100 x 32 bytes,
 * frees 90 of them and leaks 10, then exits (the recorder must drain and
 * retire each thread's buffer without losing anything).  Also 3 blocks
 * of 10 MiB, 3 MiB and a realloc from 1 MiB to 20 MiB: sizes served by
 * mmap/mremap rather than the heap. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 50
#define PARALLEL 4

static void *volatile sink;

static void *worker(void *arg)
{
	void *p[100];
	(void)arg;
	for (int i = 0; i < 100; i++)
		p[i] = malloc(32); /* @site:churn_alloc */
	for (int i = 10; i < 100; i++)
		free(p[i]);
	return NULL;
}

static void big_blocks(void)
{
	char *a = malloc(10 << 20); /* @site:big_malloc */
	memset(a, 1, 4096);
	sink = a;
	sink = calloc(3, 1 << 20); /* @site:big_calloc */
	char *r = malloc(1 << 20); /* @site:big_realloc_src */
	r = realloc(r, 20 << 20); /* @site:big_realloc */
	sink = r;
}

int main(void)
{
	big_blocks();
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t[PARALLEL];
		for (int i = 0; i < PARALLEL; i++)
			if (pthread_create(&t[i], NULL, worker, NULL) != 0)
				return 1;
		for (int i = 0; i < PARALLEL; i++)
			pthread_join(t[i], NULL);
	}
	printf("%d threads\n", ROUNDS * PARALLEL);
	return 0;
}
