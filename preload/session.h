/* session: the recording state of this image, at the bottom of the
 * library: whether the hooks record, its transitions (start, pause for
 * exec, fork child, crash, finish: driven by lifecycle.c; the writer ends
 * it when it writes END), the global event order, the loss counters and
 * the writer's wake-up word.  Read by every module above (hooks, recorder,
 * writer, lifecycle); calls nothing but util.  Thread-safe: atomics.
 * Also the per-thread hook state (ht_tls, initial-exec TLS). */
#ifndef HT_SESSION_H
#define HT_SESSION_H

#include "config.h"
#include "util.h"

#include <stdint.h>

enum rec_state {
	REC_OFF = 0, /* not recording: hooks forward */
	REC_ON = 1, /* recording */
	REC_ENDED = 2, /* END written (or recording stopped after an error) */
};

struct rec_thread;

/* What the thread is doing in the recorder (rec_tls_t.in_hook).  A hook
 * entered while another runs on the same thread was called by a signal
 * handler (hooks never allocate): it cannot use the interrupted one's
 * state (ring slot, chain cache, locks), so it leaves its event in the
 * thread's pending list, which the interrupted hook drains on its way out
 * (hooks.c). */
enum hook_state {
	HOOK_NONE = 0, /* not in the recorder */
	HOOK_REC = 1, /* in a hook or a snapshot mark: nested hooks pend */
	HOOK_NESTED = 2, /* in a nested hook: a third level is counted lost */
	HOOK_QUIET = 3, /* recorder internals (writer thread, start, exec,
			 * fork, exit): their allocations are not the program's */
	HOOK_WAIT = 4, /* a hook waits for ring space, holding nothing: a
			* nested hook records the pending events and its own
			* as a hook of its own would (the list would overflow
			* over a long wait) */
};

/* One event a nested hook left for the interrupted one (see hook_state). */
#define REC_PEND_MAX 16
typedef struct rec_pend {
	uint64_t addr; /* returned / freed / old address */
	uint64_t aux; /* realloc: new address; aligned kinds: alignment */
	uint64_t size; /* bytes requested */
	uint32_t stack; /* interned stack id, 0 for frees */
	uint8_t type; /* RING_EV_* */
	uint8_t kind; /* HT_KIND_* */
	uint8_t defer; /* 1: addr is freed for real only once recorded */
	uint8_t later; /* 1: stack is interned at the drain (STACKID_LATER) */
} rec_pend_t;

/* Per-thread hook state (initial-exec TLS). */
typedef struct rec_tls {
	int in_hook; /* HOOK_*: re-entrancy guard */
	/* Pending events: pend[i % REC_PEND_MAX] for tail <= i < head.
	 * head is advanced by nested hooks (signal handlers) only, tail by
	 * the drain only; both on this thread, so plain stores ordered by
	 * signal fences suffice. */
	uint32_t pend_head, pend_tail;
	int pend_new; /* a pending stack is new: refresh the module map first */
	int draining; /* recorder_drain runs (its waits stay HOOK_REC) */
	int ring_waiting; /* a hook waits for ring space: no ring growth under it */
	rec_pend_t pend[REC_PEND_MAX];
	uint32_t epoch; /* ht_session.epoch when th was registered */
	struct rec_thread *th; /* this thread's slot (registry.h), NULL until first event */
	int dtor_rounds; /* key destructor calls seen for this slot */
	uint32_t gave_up; /* ht_session.epoch + 1 when this thread's slot
			   * was given up at exit (0 = never) */
	/* The allocation hook's own frame record ({caller's RBP, return
	 * address into the caller}), set by the hook before it records and
	 * cleared by the recorder: the unwinder starts there instead of
	 * walking the recorder's frames.  NULL outside hooks. */
	const uintptr_t *entry;
	/* The thread's latest free sites (stackid_free_site), newest
	 * first: frees in a loop, or alternating between a few lines, find
	 * their site here. */
	struct rec_free_site {
		uintptr_t ip; /* return address into free()'s caller */
		uint32_t code, line; /* innermost Python frame, code 0 = none */
		uint32_t id; /* its stack id, 0 = empty entry */
	} free_sites[4];
	/* The block the thread's last allocation or realloc returned: a
	 * Python object created there is fresh, not recycled (reftrace.c). */
	uintptr_t last_block;
} rec_tls_t;

typedef struct session {
	/* hot, read by every hook */
	int on __attribute__((aligned(64))); /* 1 while hooks record */
	uint32_t epoch; /* bumped by a followed fork: old TLS slots invalid */
	unsigned depth; /* native frames kept */
	int unwind; /* 0: no native stacks (seam.h) */
	/* global event order: one fetch_add per event */
	uint64_t seq __attribute__((aligned(64)));
	/* counters */
	uint64_t lost_nomem; /* events dropped: no ring/slot/table memory */
	uint64_t lost_stopped; /* events dropped: writer unavailable */
	uint64_t lost_signal; /* events in signal handlers that could not be recorded */
	uint64_t lost_own_alloc; /* family calls forwarded unrecorded: the
				  * executable has an allocator of its own */
	/* writer wake-up */
	uint32_t kick; /* futex word; producers bump it when a ring fills */
	int writer_sleeping; /* the writer waits on kick */
	int writer_alive; /* 1 while the writer thread runs (set by writer.c) */
	int state; /* REC_* */
	int pid; /* pid of the recording image */
	int fd; /* trace fd (-1: null sink) */
	int fresh; /* fd was empty at start (write the file header) */
	int own_malloc; /* another object defines malloc (already warned) */
	/* The executable defines part of the malloc family (hooks.c
	 * resolve()): session_go leaves `on` at 0, so no hook records and
	 * none of the family is mixed in; the hooks count what reaches them
	 * (lost_own_alloc).  Set once, before recording starts. */
	int family_off;
	/* 1 once a malloc, calloc or realloc of the program was forwarded
	 * unrecorded (recording off: before start, after the end); tells
	 * "allocated nothing at all" from "allocated only then". */
	int unrecorded_calls;
	/* An attach (attach.c): the process start (unix ns, 0 = unknown) and
	 * the attacher's pid for the ATTACH record; attached = 0: started
	 * with the program. */
	int attached;
	uint64_t attach_proc_start_ns;
	uint64_t attach_by;
	config_t cfg;
} session_t;

extern session_t ht_session HT_HIDDEN;
extern __thread rec_tls_t ht_tls __attribute__((tls_model("initial-exec"))) HT_HIDDEN;

/* Whether the hooks record (relaxed: a hook that misses the switch by one
 * event is harmless). */
static inline int session_on(void)
{
	return __atomic_load_n(&ht_session.on, __ATOMIC_RELAXED);
}

/* Whether the session is ON (acquire: what the transition published is
 * visible).  A vfork child sees its parent's state: see below. */
static inline int session_active(void)
{
	return __atomic_load_n(&ht_session.state, __ATOMIC_ACQUIRE) == REC_ON;
}

/* Whether this process records now: on, and not a vfork child (which
 * shares our memory but is another process). */
int session_recording_here(void);

/* Fills the session for a new recording (no transition yet). */
void session_begin(const config_t *cfg, int fd, int fresh, int unwind);
/* OFF -> ON: the hooks start recording. */
void session_go(void);
/* ON -> ENDED; 1 when it was ON (the caller ends the trace), else 0. */
int session_end(void);
/* Ends recording after an internal failure: one stderr line ("<why>;
 * recording stopped"), wakes the writer.  Nothing when not ON. */
void session_stop(const char *why);
/* A fork child: OFF, without the parent's trace fd (closed). */
void session_fork_child(void);
/* A fork child that records: new epoch (old TLS slots invalid), empty
 * event order and counters, its own pid and trace. */
void session_restart_child(int pid, int fd, int fresh);

/* Wakes the writer. */
void session_kick(void);

#endif /* HT_SESSION_H */
