/* The decoder-thread pipe: see pipe.h. */
#include "model/pipe.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* Polls before sleeping: a batch takes tens of microseconds on the other
 * core, and a sleep and wake-up cost about as much (tens of thousands of
 * them on a large trace).  Half the polls pause, half yield the core (the
 * other thread may be waiting for it when the machine is busy). */
#define PIPE_SPINS 200

static bool consumer_ready(pipe_t *p)
{
	return atomic_load(&p->produced) != atomic_load(&p->consumed);
}

static bool decoder_ready(pipe_t *p)
{
	return atomic_load(&p->stop) ||
	       atomic_load(&p->produced) - atomic_load(&p->consumed) < PIPE_DEPTH;
}

/* Waits until ready(p).  A waker changes the counters, then wakes the
 * sleepers it sees (pipe_wake); a sleeper counts itself, then checks
 * again, under the mutex: sequentially consistent atomics make one of
 * them see the other. */
static void pipe_wait(pipe_t *p, bool (*ready)(pipe_t *))
{
	for (int i = 0; i < PIPE_SPINS; i++) {
		if (ready(p))
			return;
		if (i < PIPE_SPINS / 2) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			/* Lets the other thread run if it shares our core. */
			sched_yield();
		}
	}
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add(&p->sleepers, 1);
	while (!ready(p))
		pthread_cond_wait(&p->cv, &p->mu);
	atomic_fetch_sub(&p->sleepers, 1);
	pthread_mutex_unlock(&p->mu);
}

static void pipe_wake(pipe_t *p)
{
	if (atomic_load(&p->sleepers)) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

static void *pipe_decoder(void *arg)
{
	pipe_t *p = arg;
	for (;;) {
		pipe_wait(p, decoder_ready);
		if (atomic_load(&p->stop))
			break;
		pbatch_t *b = &p->b[atomic_load(&p->produced) % PIPE_DEPTH];
		size_t n;
		int rc = reader_next_batch(p->rd, b->ev, PIPE_BATCH, &n);
		b->n = n;
		b->rc = rc;
		b->scratch = reader_take_scratch(p->rd);
		atomic_fetch_add(&p->produced, 1);
		pipe_wake(p);
		if (rc <= 0)
			break;
	}
	return NULL;
}

/* Sets up the batches, and the decoder thread when `threaded` (if it
 * cannot start, the replay runs on one thread).  Returns 0 or -ENOMEM. */
int pipe_start(pipe_t *p, reader_t *rd, bool threaded)
{
	memset(p, 0, sizeof(*p));
	p->rd = rd;
	p->b = malloc((threaded ? PIPE_DEPTH : 1) * sizeof(*p->b));
	if (!p->b)
		return -ENOMEM;
	for (size_t i = 0; i < (threaded ? PIPE_DEPTH : 1); i++)
		p->b[i].scratch = NULL;
	if (!threaded)
		return 0;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	reader_hold_scratch(rd, true);
	if (pthread_create(&p->th, NULL, pipe_decoder, p) != 0) {
		reader_hold_scratch(rd, false);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		return 0;
	}
	p->threaded = true;
	return 0;
}

/* Stops the decoder (if it still runs) and frees everything; the reader
 * is then the caller's again (its error message readable). */
void pipe_end(pipe_t *p)
{
	if (!p->b)
		return;
	if (p->threaded) {
		atomic_store(&p->stop, true);
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
		/* Batches produced and not released: the current one and
		 * after. */
		for (uint64_t k = p->consumed; k < p->produced; k++)
			reader_scratch_free(p->b[k % PIPE_DEPTH].scratch);
		reader_scratch_free(reader_take_scratch(p->rd));
		reader_hold_scratch(p->rd, false);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(p->b);
	p->b = NULL;
}

/* The next batch from the decoder (the previous one is released):
 * events b->n, then b->rc says whether more follow. */
pbatch_t *pipe_take(pipe_t *p)
{
	pbatch_t *b = p->cur;
	if (!p->threaded) {
		size_t n;
		b = p->cur = &p->b[0];
		b->rc = reader_next_batch(p->rd, b->ev, PIPE_BATCH, &n);
		b->n = n;
		return b;
	}
	if (b) {
		reader_scratch_free(b->scratch);
		b->scratch = NULL;
		atomic_fetch_add(&p->consumed, 1);
		pipe_wake(p);
	}
	pipe_wait(p, consumer_ready);
	return p->cur = &p->b[atomic_load(&p->consumed) % PIPE_DEPTH];
}
