/* Hand-written arrays that double with malloc + memcpy + free (no
 * realloc): two threads, each with the same call stack, grow one int
 * array to 2^20 elements (4 B -> 4 MiB, twenty steps) at the same time,
 * and the copy allocates and frees a scratch block of its own in between.
 * Then, on the main thread, two unrelated blocks from one call site (100
 * and 200 bytes) and a free of the first: one pair that looks like a step,
 * not a chain; and a realloc chain of 100 steps of 16 bytes (16 B ->
 * 1616 B), alternating between two realloc lines, so its first and last
 * steps are at different lines.  Prints nothing; exits 0. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct array {
	int *v;
	size_t n, cap;
};

static void array_grow(struct array *a)
{
	size_t cap = a->cap ? 2 * a->cap : 1;
	int *v = malloc(cap * sizeof *v); /* @site:array_grow */
	char *note = malloc(64); /* @site:scratch */
	snprintf(note, 64, "grow to %zu", cap);
	sched_yield(); /* let the other thread interleave */
	if (a->n)
		memcpy(v, a->v, a->n * sizeof *v);
	free(note);
	free(a->v);
	a->v = v;
	a->cap = cap;
}

static void array_push(struct array *a, int x)
{
	if (a->n == a->cap)
		array_grow(a);
	a->v[a->n++] = x;
}

static void *worker(void *arg)
{
	struct array *a = arg;
	for (int i = 0; i < 1 << 20; i++)
		array_push(a, i);
	return NULL;
}

static void *make(size_t n)
{
	return malloc(n); /* @site:make */
}

int main(void)
{
	static struct array a[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, &a[i]))
			return 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	void *two[2];
	for (int i = 0; i < 2; i++)
		two[i] = make(100 * (size_t)(i + 1));
	free(two[0]);
	free(two[1]);
	char *c = malloc(16);
	for (int i = 0; i < 100; i++) {
		if (i % 2 == 0)
			c = realloc(c, 16 * (size_t)(i + 2)); /* @site:creep_a */
		else
			c = realloc(c, 16 * (size_t)(i + 2)); /* @site:creep_b */
		c[0] = 1;
	}
	free(c);
	for (int i = 0; i < 2; i++)
		free(a[i].v);
	return 0;
}
