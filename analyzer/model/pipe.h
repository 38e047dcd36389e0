/* The decoder-thread pipe: the reader's events in batches for the replay
 * loop of analysis.c (its only caller), decoded on a second thread or in
 * place.  One consumer thread; the decoder thread is the pipe's own and
 * alone touches the reader between pipe_start and pipe_end. */
/* How the replay reads events: in batches (reader_next_batch).  On two
 * threads, a decoder thread runs the reader ahead of the heap model (the
 * machine's second core decodes while this one replays; decoding is
 * about half of a replay): batches go round a ring of PIPE_DEPTH, each
 * carrying the scratch arena of its records' strings and arrays
 * (reader_hold_scratch), freed once it is consumed.  On one thread, one
 * batch is refilled in place (a record ends it).  The events and their
 * order are exactly the reader's either way. */
#ifndef HEAPTRAIL_PIPE_H
#define HEAPTRAIL_PIPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "read/reader.h"

#define PIPE_BATCH 2048
#define PIPE_DEPTH 4

typedef struct pbatch {
	rd_event_t ev[PIPE_BATCH];
	size_t n; /* events in ev */
	int rc; /* reader_next's return after the last: 1 = more follow */
	void *scratch; /* records' arena (reader_take_scratch), or NULL */
} pbatch_t;

typedef struct pipe {
	reader_t *rd;
	bool threaded; /* a decoder thread fills the batches */
	pthread_t th;
	pthread_mutex_t mu; /* only for sleeping: see pipe_wait */
	pthread_cond_t cv;
	pbatch_t *b; /* PIPE_DEPTH batches */
	_Atomic uint64_t produced, consumed; /* batches */
	atomic_bool stop; /* the consumer gave up: the decoder ends */
	atomic_int sleepers; /* threads in pthread_cond_wait (or going) */
	pbatch_t *cur; /* batch being consumed, NULL before the first */
} pipe_t;

/* Sets up the batches, and the decoder thread when `threaded` (if it
 * cannot start, the replay runs on one thread).  Returns 0 or -ENOMEM. */
int pipe_start(pipe_t *p, reader_t *rd, bool threaded);
/* The next batch (the previous one is released): events b->n, then b->rc
 * says whether more follow (reader_next's return: 1 more, 0 end, <0). */
pbatch_t *pipe_take(pipe_t *p);
/* Stops the decoder (if it still runs) and frees everything; the reader
 * is then the caller's again (its error message readable). */
void pipe_end(pipe_t *p);

#endif /* HEAPTRAIL_PIPE_H */
