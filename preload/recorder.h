/* recorder: the producer side and the lifecycle of recording.  The hooks
 * call recorder_alloc/free/realloc (any thread, hot path); the library
 * constructor, destructor, exit/exec hooks and fork handlers call the
 * lifecycle functions.  Shared state (thread registry, global sequence,
 * counters) lives in `ht_rec`, which the writer (writer.c) drains. */
#ifndef HT_RECORDER_H
#define HT_RECORDER_H

#include "config.h"
#include "ring.h"

#include <stdint.h>

#define REC_MAX_THREADS 4096 /* thread slots (live + awaiting drain) */
#define REC_RING_SLOTS 32768 /* events per thread ring (40 bytes each: 1.3 MB, mapped lazily) */
#define REC_NO_INDEX UINT32_MAX

enum rec_slot_state {
	SLOT_FREE = 0, /* unused; its ring (if any) is empty and reusable */
	SLOT_LIVE = 1, /* owned by a running thread */
	SLOT_DEAD = 2, /* thread gone; writer drains, then frees */
};

/* One recording thread. */
typedef struct rec_thread {
	ring_t *ring; /* mmap'd; kept across slot reuse */
	int state; /* SLOT_*; producer sets LIVE/DEAD, writer sets FREE */
	int tid; /* kernel thread id */
	uint32_t index; /* trace thread index, writer-assigned; REC_NO_INDEX */
	uint32_t name_gen; /* bumped by whoever updates name */
	uint32_t name_sent; /* writer: name_gen last written */
	char name[16]; /* prctl(PR_GET_NAME) */
} rec_thread_t;

/* Per-thread hook state (initial-exec TLS). */
typedef struct rec_tls {
	int in_hook; /* re-entrancy guard: nested calls just forward */
	uint32_t epoch; /* ht_rec.epoch when th was registered */
	rec_thread_t *th; /* this thread's slot, NULL until first event */
	int dtor_rounds; /* key destructor calls seen for this slot */
	/* The allocation hook's own frame record ({caller's RBP, return
	 * address into the caller}), set by the hook before it records and
	 * cleared by the recorder: the unwinder starts there instead of
	 * walking the recorder's frames.  NULL outside hooks. */
	const uintptr_t *entry;
} rec_tls_t;

enum rec_state {
	REC_OFF = 0, /* not recording: hooks forward */
	REC_ON = 1, /* recording */
	REC_ENDED = 2, /* END written (or recording stopped after an error) */
};

typedef struct rec_shared {
	/* hot, read by every hook */
	int on __attribute__((aligned(64))); /* 1 while hooks record */
	uint32_t epoch; /* bumped by a followed fork: old TLS slots invalid */
	unsigned depth; /* native frames kept */
	int unwind; /* 0: no native stacks (unit tests) */
	/* global event order */
	uint64_t seq __attribute__((aligned(64)));
	/* registry */
	rec_thread_t threads[REC_MAX_THREADS] __attribute__((aligned(64)));
	uint32_t nthreads; /* high-water mark of used slots */
	/* counters */
	uint64_t lost_nomem; /* events dropped: no ring/slot/table memory */
	uint64_t lost_stopped; /* events dropped: writer unavailable */
	/* writer wake-up */
	uint32_t kick; /* futex word; producers bump it when a ring fills */
	int writer_sleeping;
	int state; /* REC_* */
	int pid; /* pid of the recording image */
	int fd; /* trace fd (-1: null sink) */
	int fresh; /* fd was empty at start (write the file header) */
	int own_malloc; /* another object defines malloc (already warned) */
	config_t cfg;
} rec_shared_t;

extern rec_shared_t ht_rec;
extern __thread rec_tls_t ht_tls __attribute__((tls_model("initial-exec")));

static inline int recorder_on(void)
{
	return __atomic_load_n(&ht_rec.on, __ATOMIC_RELAXED);
}

/* Hot path (caller set ht_tls.in_hook).  Errno is preserved. */
void recorder_alloc(unsigned kind, void *p, uint64_t size, uint64_t align);
void recorder_free(void *p);
void recorder_realloc(void *old, void *p, uint64_t size);
/* API snapshot from any thread; 0 or -1 when not recording. */
int recorder_snapshot(const char *label);

/* Starts recording into fd (-1 = null sink) with cfg: registry, stack
 * table, writer thread, PROCESS record.  0 or negative errno. */
int recorder_start(const config_t *cfg, int fd, int fresh, int unwind);
/* Final flush at exit: exit snapshot, END.  Idempotent. */
void recorder_finish(void);
/* From the crash handler of a thread dying of signal sig (async-signal-
 * safe): the trace gets every event so far, SIGNAL and END. */
void recorder_crash(int sig);
/* Exec in the recording process: flush and write EXEC (and END when the
 * new image will not record: untraced_next), keeping the writer paused;
 * recorder_exec_failed() resumes it. */
int recorder_before_exec(const char *path, int untraced_next);
void recorder_exec_failed(void);
/* pthread_atfork handlers. */
void recorder_fork_prepare(void);
void recorder_fork_parent(void);
void recorder_fork_child(void);
/* Stops recording after an internal failure (one stderr line). */
void recorder_stop(const char *why);
/* Writer side of the registry: copy a thread's name (and its generation),
 * return a drained dead slot to the free list, and re-read live threads'
 * names from /proc (marking vanished threads dead). */
void recorder_thread_name(rec_thread_t *th, char out[16], uint32_t *gen);
void recorder_slot_free(rec_thread_t *th);
void recorder_refresh_names(void);
/* Wakes the writer. */
void recorder_kick(void);

#endif /* HT_RECORDER_H */
