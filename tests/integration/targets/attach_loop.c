/* attach_loop THREADS [TICKS]: a long-running program for `heaptrail
 * attach` (test_attach.py).  Prints "ready", then one checksum line every
 * 0.1 s from its main thread's own deterministic work (the same in every
 * run), while THREADS threads allocate without pause.  Stops after TICKS
 * ticks, or (TICKS 0) when stdin says "stop" or closes; then prints how
 * many of its malloc and free calls went through a redirected GOT slot.
 *
 * Exact counting: every call loads its function from the program's own GOT
 * slot (a GLOB_DAT slot: `return malloc` in a PIE), and counts the call as
 * recorded when that slot no longer holds the function it held at start
 * (attach points it at the recorder's hook, detach puts it back).  The
 * recorder records every call that reaches a hook while attached, so the
 * trace must hold exactly the counted calls; a counted free of a block
 * whose malloc was not counted is a free of a block from before the attach.  Block sizes are 3000..3063
 * bytes (sizes nothing else in the program asks for). */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);

/* noinline + a volatile copy: one GOT load per call, never cached. */
static __attribute__((noinline)) malloc_fn load_malloc(void)
{
	malloc_fn volatile f = malloc;
	return f;
}

static __attribute__((noinline)) free_fn load_free(void)
{
	free_fn volatile f = free;
	return f;
}

static malloc_fn start_malloc;
static free_fn start_free;
static volatile int stopping;

#define KEEP 64
typedef struct worker {
	void *live[KEEP];
	int live_rec[KEEP]; /* live[k] came from a redirected malloc */
	uint64_t n; /* iterations */
	uint64_t allocs, frees; /* calls through a redirected slot */
	uint64_t early; /* redirected frees of blocks whose malloc was not */
} worker_t;

/* One iteration: allocate block i, free block i - KEEP. */
static uint64_t step(worker_t *w)
{
	uint64_t i = w->n++;
	size_t size = 3000 + (size_t)(i % 64);
	malloc_fn m = load_malloc();
	int rec = m != start_malloc;
	w->allocs += (uint64_t)rec;
	unsigned char *p = m(size); /* @site:attach_alloc */
	if (!p)
		exit(3);
	memset(p, (int)(i & 0xff), size);
	uint64_t sum = p[size - 1] + size * (i % 7);
	unsigned k = (unsigned)(i % KEEP);
	if (w->live[k]) {
		free_fn f = load_free();
		if (f != start_free) {
			w->frees++;
			w->early += (uint64_t)!w->live_rec[k];
		}
		f(w->live[k]);
	}
	w->live[k] = p;
	w->live_rec[k] = rec;
	return sum;
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		step(w);
		if (w->n % 256 == 0)
			sched_yield();
	}
	return NULL;
}

static int stop_requested(void)
{
	struct pollfd pfd = { 0, POLLIN, 0 };
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	char buf[64];
	ssize_t n = read(0, buf, sizeof(buf));
	return n <= 0 || memmem(buf, (size_t)n, "stop", 4) != NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 0;
	long ticks = argc > 2 ? atol(argv[2]) : 0;
	start_malloc = load_malloc();
	start_free = load_free();
	setvbuf(stdout, NULL, _IOLBF, 0);
	worker_t *ws = calloc((size_t)nthreads + 1, sizeof(worker_t));
	pthread_t *ts = calloc((size_t)nthreads + 1, sizeof(pthread_t));
	printf("ready %d\n", (int)getpid());
	for (int t = 0; t < nthreads; t++)
		pthread_create(&ts[t], NULL, worker_main, &ws[t + 1]);
	for (long tick = 0; ticks == 0 || tick < ticks; tick++) {
		uint64_t sum = 0;
		for (int i = 0; i < 500; i++)
			sum += step(&ws[0]);
		printf("tick %ld checksum %llu\n", tick, (unsigned long long)sum);
		struct timespec ts100 = { 0, 100000000 };
		nanosleep(&ts100, NULL);
		if (ticks == 0 && stop_requested())
			break;
	}
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	uint64_t allocs = 0, frees = 0, early = 0, n = 0;
	for (int t = 0; t < nthreads; t++)
		pthread_join(ts[t], NULL);
	for (int t = 0; t <= nthreads; t++) {
		allocs += ws[t].allocs;
		frees += ws[t].frees;
		early += ws[t].early;
		n += ws[t].n;
		for (int k = 0; k < KEEP; k++)
			free(ws[t].live[k]);
	}
	printf("recorded allocs %llu frees %llu (of blocks from before %llu) of %llu iterations\n",
	       (unsigned long long)allocs, (unsigned long long)frees, (unsigned long long)early,
	       (unsigned long long)n);
	free(ws);
	free(ts);
	return 0;
}
