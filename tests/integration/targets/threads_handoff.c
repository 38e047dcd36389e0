/* 8 threads hand blocks to each other: thread i allocates N blocks and
 * passes each to thread i+1, which frees it; so every block is allocated in
 * one thread and freed in another, and freed addresses are reused across
 * threads all the time.  Each thread keeps the last KEEP blocks it receives
 * (leaked), so the allocation site ends with exactly 8*KEEP live blocks.
 * Usage: threads_handoff [N]   (default 100000: 200k events per thread). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 8
#define QCAP 256
#define KEEP 100

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void *slot[QCAP];
	unsigned head, tail; /* tail - head = items queued */
} queue_t;

static queue_t queues[NTHREADS];
static long n_per_thread = 100000;
static void *volatile kept[NTHREADS][KEEP];

/* Blocks move in batches of BATCH so the threads spend their time in
 * malloc and free, not in the queue's lock. */
#define BATCH 64

static void q_push(queue_t *q, void **p, unsigned n)
{
	pthread_mutex_lock(&q->mu);
	while (QCAP - (q->tail - q->head) < n)
		pthread_cond_wait(&q->cv, &q->mu);
	for (unsigned i = 0; i < n; i++)
		q->slot[q->tail++ % QCAP] = p[i];
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void q_pop(queue_t *q, void **p, unsigned n)
{
	pthread_mutex_lock(&q->mu);
	while (q->tail - q->head < n)
		pthread_cond_wait(&q->cv, &q->mu);
	for (unsigned i = 0; i < n; i++)
		p[i] = q->slot[q->head++ % QCAP];
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Block size of the k-th block of any thread: 16..520 bytes. */
static size_t block_size(long k)
{
	return 16 + (size_t)(k % 64) * 8;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	queue_t *out = &queues[(id + 1) % NTHREADS];
	queue_t *in = &queues[id];
	void *batch[BATCH];
	/* Every thread uses the same batch sizes, so what thread i pushes in
	 * a round is exactly what thread i+1 pops in that round. */
	for (long done = 0; done < n_per_thread; done += BATCH) {
		unsigned n = n_per_thread - done < BATCH ? (unsigned)(n_per_thread - done) : BATCH;
		for (unsigned i = 0; i < n; i++) {
			char *p = malloc(block_size(done + i)); /* @site:handoff_alloc */
			p[0] = (char)id;
			batch[i] = p;
		}
		q_push(out, batch, n);
		q_pop(in, batch, n);
		for (unsigned i = 0; i < n; i++) {
			long k = done + i;
			if (k >= n_per_thread - KEEP)
				kept[id][k - (n_per_thread - KEEP)] = batch[i];
			else
				free(batch[i]);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	if (argc > 1)
		n_per_thread = atol(argv[1]);
	if (n_per_thread < KEEP)
		n_per_thread = KEEP;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_mutex_init(&queues[i].mu, NULL);
		pthread_cond_init(&queues[i].cv, NULL);
	}
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
			return 1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	printf("%d threads x %ld blocks handed off\n", NTHREADS, n_per_thread);
	return 0;
}
