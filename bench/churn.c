/* Benchmark workload: allocation churn from generated call sites.
 * Built by scripts/bench.sh (twice: with and without frame pointers) and run
 * uninstrumented, under heaptrail and under heaptrack.  Deterministic: the
 * numbers of mallocs, reallocs and frees depend only on the arguments.
 *
 *   churn churn   [OPS]   one thread: OPS malloc/free pairs, ~100k live blocks
 *   churn threads [OPS]   8 threads share OPS operations: churn, realloc growth
 *                         chains, and blocks freed by another thread
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written by every generated frame so that no call is a tail call;
 * per thread, so the threads workload does not fight over one cache line. */
__thread unsigned long churn_sink;

#include "bench_rng.h"
#include "churn_sites.h"

#define LIVE_BLOCKS 100000 /* working set, in blocks, over all threads */
#define NTHREADS 8
#define MAILBOX_CAP 4096   /* blocks waiting to be freed by their receiver */
#define MAX_GROW 32768     /* bytes: a realloc chain restarts above this */

static inline unsigned pick_site(uint64_t r)
{
	return (unsigned)((r >> 40) % CHURN_NSITES);
}

static int run_churn(long ops)
{
	void **slot = calloc(LIVE_BLOCKS, sizeof *slot);
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	if (!slot)
		return 1;
	for (long i = 0; i < ops; i++) {
		uint64_t r = rng_next(&s);
		size_t k = (size_t)(r % LIVE_BLOCKS);
		free(slot[k]);
		r = rng_next(&s);
		slot[k] = churn_sites[pick_site(r)](NULL, mixed_size(r));
		if (!slot[k])
			return 1;
	}
	for (size_t k = 0; k < LIVE_BLOCKS; k++)
		free(slot[k]);
	free(slot);
	return 0;
}

/* A thread's inbox: blocks that other threads allocated and hand over to
 * be freed here. */
typedef struct {
	pthread_mutex_t lock;
	size_t n;                 /* blocks in box, <= MAILBOX_CAP */
	void *box[MAILBOX_CAP];
} mailbox_t;

typedef struct {
	int id;                   /* 0..NTHREADS-1 */
	long ops;                 /* operations this thread performs */
	int failed;               /* set when an allocation returned NULL */
} worker_t;

static mailbox_t mail[NTHREADS];

static void mailbox_drain(mailbox_t *m)
{
	void *local[MAILBOX_CAP];
	size_t n;
	pthread_mutex_lock(&m->lock);
	n = m->n;
	memcpy(local, m->box, n * sizeof *local);
	m->n = 0;
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++)
		free(local[i]);
}

/* Hands p to another thread; when its box is full the sender frees p,
 * which keeps the number of frees independent of scheduling. */
static void mailbox_post(mailbox_t *m, void *p)
{
	int posted = 0;
	pthread_mutex_lock(&m->lock);
	if (m->n < MAILBOX_CAP) {
		m->box[m->n++] = p;
		posted = 1;
	}
	pthread_mutex_unlock(&m->lock);
	if (!posted)
		free(p);
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	enum { N = LIVE_BLOCKS / NTHREADS };
	void **slot = calloc(N, sizeof *slot);
	size_t *size = calloc(N, sizeof *size);
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(w->id + 1) << 32);
	if (!slot || !size) {
		w->failed = 1;
		goto out;
	}
	for (long i = 0; i < w->ops; i++) {
		uint64_t r = rng_next(&s);
		size_t k = (size_t)(r % N);
		unsigned what = (unsigned)((r >> 32) % 10);
		r = rng_next(&s);
		if (what == 0 && slot[k] && size[k] * 3 / 2 <= MAX_GROW) {
			/* grow the block: a realloc chain from one call site */
			size[k] = size[k] * 3 / 2 + 1;
			void *p = churn_sites[pick_site(r)](slot[k], size[k]);
			if (!p) {
				w->failed = 1;
				break;
			}
			slot[k] = p;
			continue;
		}
		if (what == 1 && slot[k])
			mailbox_post(&mail[(w->id + 1 + (int)(r % (NTHREADS - 1))) % NTHREADS], slot[k]);
		else
			free(slot[k]);
		size[k] = mixed_size(r);
		slot[k] = churn_sites[pick_site(r)](NULL, size[k]);
		if (!slot[k]) {
			w->failed = 1;
			break;
		}
		if ((i & 255) == 0)
			mailbox_drain(&mail[w->id]);
	}
	for (size_t k = 0; k < N; k++)
		free(slot[k]);
out:
	free(slot);
	free(size);
	return NULL;
}

static int run_threads(long ops)
{
	pthread_t tid[NTHREADS];
	worker_t w[NTHREADS];
	int rc = 0;
	for (int t = 0; t < NTHREADS; t++)
		pthread_mutex_init(&mail[t].lock, NULL);
	for (int t = 0; t < NTHREADS; t++) {
		w[t] = (worker_t){ .id = t, .ops = ops / NTHREADS };
		if (pthread_create(&tid[t], NULL, worker_main, &w[t]) != 0)
			return 1;
	}
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(tid[t], NULL);
		rc |= w[t].failed;
	}
	for (int t = 0; t < NTHREADS; t++)
		mailbox_drain(&mail[t]);
	return rc;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "churn";
	long ops = argc > 2 ? atol(argv[2]) : 4000000;
	int rc;
	if (ops <= 0) {
		fprintf(stderr, "usage: %s churn|threads [OPS>0]\n", argv[0]);
		return 2;
	}
	if (strcmp(mode, "churn") == 0)
		rc = run_churn(ops);
	else if (strcmp(mode, "threads") == 0)
		rc = run_threads(ops);
	else {
		fprintf(stderr, "usage: %s churn|threads [OPS]\n", argv[0]);
		return 2;
	}
	if (rc)
		fprintf(stderr, "%s: allocation failed\n", argv[0]);
	printf("%s ops=%ld sink=%lu\n", mode, ops, churn_sink);
	return rc;
}
