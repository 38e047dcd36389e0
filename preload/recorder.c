/* recorder: see recorder.h.
 *
 * Global order: an event takes its sequence number with one atomic
 * fetch_add while its thread's `busy` flag is set; the flag is cleared only
 * after the ring head covers the event.  A free takes its number before
 * the real free, an allocation after the real call returned, so an address
 * is always freed before it is handed out again in sequence order.  The
 * writer reads the global counter G, waits until no thread is between
 * "took a number" and "committed", and merges everything below G. */
#include "recorder.h"

#include "heapcount.h"
#include "heaptrail_format.h"
#include "stackid.h"
#include "util.h"

#include <errno.h>
#include <string.h>

/* ---- producer hot path ----------------------------------------------- */

static int give_up(void)
{
	return !session_active() ||
	       !__atomic_load_n(&ht_session.writer_alive, __ATOMIC_ACQUIRE);
}

/* Reserves n slots, takes the sequence number and returns the first slot
 * with `busy` set; recorder_commit publishes.  NULL: event lost. */
static inline ring_event_t *begin_event(ring_t *r, uint64_t n)
{
	if (HT_UNLIKELY(ring_space(r) < n)) {
		int saved = errno; /* the wait may sleep in futex */
		int ok = ring_wait_space(r, n, give_up, session_kick) == 0;
		errno = saved;
		if (!ok) {
			__atomic_fetch_add(&ht_session.lost_stopped, 1, __ATOMIC_RELAXED);
			return NULL;
		}
	}
	/* One locked instruction per event.  busy=1 may be relaxed: it is
	 * sequenced before the fetch_add, which the writer's load of G
	 * synchronizes with (every later fetch_add continues the release
	 * sequence), so a writer that saw G > seq also sees busy=1 or the
	 * release store of busy=0 that follows the commit. */
	__atomic_store_n(&r->busy, 1, __ATOMIC_RELAXED);
	ring_event_t *e = ring_slot(r, 0);
	e->seq = __atomic_fetch_add(&ht_session.seq, 1, __ATOMIC_SEQ_CST);
	return e;
}

static inline void commit_event(ring_t *r, uint64_t n)
{
	ring_commit(r, n);
	__atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
	/* Wake the writer once per half ring (tail_cache lags, so this fires
	 * at most once between two reloads). */
	uint64_t used = r->head - r->tail_cache;
	if (HT_UNLIKELY(used >= r->cap / 2 && used - n < r->cap / 2)) {
		int saved = errno;
		session_kick();
		errno = saved;
	}
}

/* The calling thread's slot, or NULL (counted as a lost event). */
static inline rec_thread_t *event_thread(void)
{
	rec_thread_t *th = registry_self(&ht_tls);
	if (HT_UNLIKELY(!th))
		__atomic_fetch_add(&ht_session.lost_nomem, 1, __ATOMIC_RELAXED);
	return th;
}

/* An event that carries the caller's stack (allocations and reallocs):
 * finds the stack id (stackid.h), fills one ring slot, commits.  Anything
 * that cannot be recorded is counted as lost.  The common case, a stack
 * the chain cache already knows in a thread that runs no Python, is the
 * first test (stackid_known, inline);
 * every slower step saves errno itself.  Inlined so each hook keeps its
 * own straight-line path. */
static inline __attribute__((always_inline)) void
record_with_stack(unsigned type, unsigned kind, uint64_t addr, uint64_t aux, uint64_t size,
		  int64_t heap_delta)
{
	/* The hook's frame record is good for this event only. */
	const uintptr_t *entry = ht_tls.entry;
	ht_tls.entry = NULL;
	rec_thread_t *th = event_thread();
	if (!th)
		return;
	heapcount_add(th, heap_delta);
	uint32_t stack = stackid_known(entry);
	if (!stack) {
		int saved = errno;
		stack = stackid_capture(entry);
		errno = saved;
		if (!stack) {
			__atomic_fetch_add(&ht_session.lost_nomem, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	ring_t *r = th->ring;
	ring_event_t *e = begin_event(r, 1);
	if (!e)
		return;
	e->type = (uint8_t)type;
	e->kind = (uint8_t)kind;
	e->addr = addr;
	e->aux = aux;
	e->size = size;
	e->stack = stack;
	commit_event(r, 1);
}

void recorder_alloc(unsigned kind, void *p, uint64_t size, uint64_t align)
{
	ht_tls.last_block = (uintptr_t)p;
	record_with_stack(RING_EV_ALLOC, kind, (uint64_t)(uintptr_t)p, align, size,
			  heapcount_usable(p));
}

void recorder_free(void *p)
{
	rec_thread_t *th = event_thread();
	if (!th)
		return;
	heapcount_add(th, -heapcount_usable(p));
	ring_t *r = th->ring;
	ring_event_t *e = begin_event(r, 1);
	if (!e)
		return;
	e->type = RING_EV_FREE;
	e->addr = (uint64_t)(uintptr_t)p;
	commit_event(r, 1);
}

void recorder_realloc(void *old, void *p, uint64_t size, int64_t old_usable)
{
	ht_tls.last_block = (uintptr_t)p;
	record_with_stack(RING_EV_REALLOC, HT_KIND_REALLOC, (uint64_t)(uintptr_t)old,
			  (uint64_t)(uintptr_t)p, size, heapcount_usable(p) - old_usable);
}

void recorder_reuse(void *p, uint64_t size)
{
	recorder_free(p);
	recorder_alloc(HT_KIND_MALLOC, p, size, 0);
}

int recorder_snapshot(const char *label)
{
	if (!session_on())
		return -1;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	int saved = errno;
	int ret = -1;
	t->in_hook = 1;
	rec_thread_t *th = registry_self(t);
	if (!th)
		goto out;
	size_t len = label ? strnlen(label, 255) : 0;
	uint64_t n = 1 + RING_LABEL_SLOTS(len);
	ring_t *r = th->ring;
	ring_event_t *e = begin_event(r, n);
	if (!e)
		goto out;
	e->type = RING_EV_SNAPSHOT;
	e->kind = HT_SNAP_API;
	e->size = len;
	e->addr = util_mono_ns(); /* the mark's own clock reading */
	for (uint64_t i = 1; i < n; i++) {
		size_t off = (i - 1) * sizeof(ring_event_t);
		size_t chunk = len - off < sizeof(ring_event_t) ? len - off : sizeof(ring_event_t);
		memcpy(ring_slot(r, i), label + off, chunk);
	}
	commit_event(r, n);
	ret = 0;
out:
	t->in_hook = nested;
	errno = saved;
	return ret;
}

