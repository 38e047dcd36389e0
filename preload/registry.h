/* registry: the slots of the threads that record, one ring each.  A
 * thread registers itself on its first event (registry_self, the one "does
 * this thread have its slot" check) and marks its slot dead when it exits;
 * the writer drains dead slots and frees them, names threads and reads the
 * slots.  Sits at the bottom beside session.h; calls nothing above it (the
 * producer's per-thread caches are released through the callback given to
 * registry_init).  Thread-safe: a mutex for slot changes, atomics for state. */
#ifndef HT_REGISTRY_H
#define HT_REGISTRY_H

#include "ring.h"
#include "session.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>

#define REC_MAX_THREADS 4096 /* thread slots (live + awaiting drain) */
#define REC_RING_SLOTS 32768 /* events per thread ring at most (40 bytes each: 1.3 MB) */
#define REC_RING_FIRST 1024 /* a new thread's ring (40 KiB); x4 each time it fills */
#define REC_NO_INDEX UINT32_MAX

enum rec_slot_state {
	SLOT_FREE = 0, /* unused; its ring (if any) is empty and reusable */
	SLOT_LIVE = 1, /* owned by a running thread */
	SLOT_DEAD = 2, /* thread gone; writer drains, then frees */
};

/* One recording thread.  Cache-line aligned: the heap counters are written
 * by the owner at every event and must not share a line with another
 * slot's. */
typedef struct rec_thread {
	ring_t *ring; /* mmap'd; kept across slot reuse; replaced (by the
		       * owner, release) by a larger one when it fills */
	ring_t *retired; /* the ring it replaced, unmapped by the writer at the
			  * start of its next drain; NULL when none */
	int state; /* SLOT_*; producer sets LIVE/DEAD, writer sets FREE */
	int tid; /* kernel thread id */
	uint32_t index; /* trace thread index, writer-assigned; REC_NO_INDEX */
	/* 1: registered again by a thread whose slot had already been given
	 * up (allocations after our key destructor's last round): the writer
	 * gives it the index that thread already has, not a second one. */
	int again;
	uint32_t name_gen; /* bumped by whoever updates name */
	uint32_t name_sent; /* writer: name_gen last written */
	char name[16]; /* prctl(PR_GET_NAME) */
	/* Heap counters (heapcount.h): written by the owner thread only
	 * (relaxed), summed by any reader.  Kept across slot reuse, so the
	 * sum over the slots stays the whole heap. */
	int64_t heap_live; /* usable bytes allocated minus freed through this
			    * slot (< 0 when it freed others' blocks) */
	int64_t heap_base; /* heap_live when the slot joined generation heap_gen */
	int64_t heap_rise; /* max of heap_live - heap_base since then, >= 0 */
	uint32_t heap_gen; /* the peak generation this slot joined */
} __attribute__((aligned(64))) rec_thread_t;

typedef struct registry {
	rec_thread_t threads[REC_MAX_THREADS] __attribute__((aligned(64)));
	uint32_t nthreads; /* high-water mark of used slots */
} registry_t;

extern registry_t ht_reg HT_HIDDEN;

/* Once, before recording: the thread-exit key, and what to call on the
 * exiting thread when its slot dies (the producer's per-thread caches). */
void registry_init(void (*on_thread_exit)(void));

/* Registers the calling thread (its first event, or first since a fork
 * child's new epoch).  NULL when no slot or ring is left. */
rec_thread_t *registry_add(rec_tls_t *t);

/* The calling thread's slot, registering the thread on its first event
 * (errno is kept: registering may set it); NULL when it cannot. */
static inline rec_thread_t *registry_self(rec_tls_t *t)
{
	if (HT_LIKELY(t->th != NULL && t->epoch == ht_session.epoch))
		return t->th;
	int saved = errno;
	rec_thread_t *th = registry_add(t);
	errno = saved;
	return th;
}

/* Writer side: copy a thread's name (and its generation), return a drained
 * dead slot to the free list, and re-read live threads' names from /proc
 * (marking vanished threads dead). */
void registry_thread_name(rec_thread_t *th, char out[16], uint32_t *gen);
void registry_slot_free(rec_thread_t *th);
void registry_refresh_names(void);

/* A fork child that keeps recording, alone: every slot free, rings empty,
 * the lock new (another thread may have held it across fork). */
void registry_reset_child(void);

#endif /* HT_REGISTRY_H */
