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
#include "tick.h"
#include "util.h"

#include <errno.h>
#include <string.h>

/* ---- producer hot path ----------------------------------------------- */

static int give_up(void)
{
	return !session_active() ||
	       !__atomic_load_n(&ht_session.writer_alive, __ATOMIC_ACQUIRE);
}

/* Waits for `wait` (ring_wait_space or ring_wait_empty) as a hook that
 * holds nothing (no number taken, busy 0): a signal handler that comes
 * meanwhile records directly (HOOK_WAIT), as it must over a long wait or
 * its events would overflow the 16-entry pending list and be lost (a
 * starved writer kept main waiting through all 400 of sigalloc's signals:
 * 1183 events lost, issue 14 under load).  ring_waiting keeps a handler
 * from growing the ring under us.  Returns with in_hook as it was and
 * with `ok(r, n)` true as seen after it was put back (a handler that ran
 * between the wait's end and that may have used the slots), or -1 when
 * the wait gave up.  In a drain (draining) the handler must not record
 * ahead of the pending events the drain holds: in_hook stays HOOK_REC
 * there (recorder_drain makes room between entries, holding none). */
static int wait_as_hook(ring_t *r, uint64_t n, int (*ok)(ring_t *, uint64_t),
			int (*wait)(ring_t *, uint64_t))
{
	rec_tls_t *t = &ht_tls;
	int st = t->in_hook;
	int ret = 0;
	t->ring_waiting++;
	while (!ok(r, n)) {
		if (st == HOOK_REC && !t->draining)
			t->in_hook = HOOK_WAIT;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		int rc = wait(r, n);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t->in_hook = st;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (rc) {
			ret = -1;
			break;
		}
	}
	t->ring_waiting--;
	return ret;
}

static int has_space(ring_t *r, uint64_t n)
{
	return ring_space(r) >= n;
}

static int is_empty(ring_t *r, uint64_t n)
{
	(void)n;
	return __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) ==
	       __atomic_load_n(&r->head, __ATOMIC_RELAXED);
}

static int wait_space(ring_t *r, uint64_t n)
{
	return ring_wait_space(r, n, give_up, session_kick);
}

static int wait_empty(ring_t *r, uint64_t n)
{
	(void)n;
	return ring_wait_empty(r, give_up, session_kick);
}

/* The thread's ring is full.  A ring below its largest size is replaced
 * by one four times larger once the writer has emptied it (no number is
 * taken meanwhile: busy is 0 across the swap, so the writer, which reads
 * th->ring after the global counter, never misses an event); else wait
 * for space.  Returns the ring with n free slots, or NULL (stopped). */
static __attribute__((noinline)) ring_t *ring_full(rec_thread_t *th, ring_t *r, uint64_t n)
{
	int saved = errno; /* the wait may sleep in futex */
	ring_t *ret = NULL;
	if (r->cap < REC_RING_SLOTS && !ht_tls.ring_waiting &&
	    !__atomic_load_n(&th->retired, __ATOMIC_ACQUIRE)) {
		ring_t *big = ring_create(r->cap * 4 < REC_RING_SLOTS ? r->cap * 4 : REC_RING_SLOTS);
		/* Empty as seen with in_hook put back: a handler that records
		 * directly meanwhile writes into r, which must be empty when
		 * it is handed over. */
		if (big && wait_as_hook(r, n, is_empty, wait_empty) == 0) {
			/* The new ring first, then the old one handed over. */
			__atomic_store_n(&th->ring, big, __ATOMIC_RELEASE);
			__atomic_store_n(&th->retired, r, __ATOMIC_RELEASE);
			ret = big;
			goto out;
		}
		ring_destroy(big);
	}
	if (wait_as_hook(r, n, has_space, wait_space) == 0)
		ret = r;
out:
	errno = saved;
	return ret;
}

/* Reserves n slots in the thread's ring (*rp on return), takes the
 * sequence number and returns the first slot with `busy` set;
 * commit_event publishes.  NULL: event lost. */
static inline ring_event_t *begin_event(rec_thread_t *th, ring_t **rp, uint64_t n)
{
	ring_t *r = *rp;
	if (HT_UNLIKELY(ring_space(r) < n)) {
		r = *rp = ring_full(th, r, n);
		if (!r) {
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

/* 1 when this event must carry a clock stamp (*tick): the tick moved on
 * since the ring's last one.  Read before the event takes its number, so
 * the stamp is a lower bound of the event's time.
 *
 * Reading the clock (rdtsc, ~12 ns) on every event would double the cost
 * of a hook that hits the stack cache.  So once TICK_DENSE checks in a row
 * found the same tick (a burst: several events per tick), the thread reads
 * it on one event in TICK_MAX_SKIP + 1 only, until a check finds the tick
 * moved on.  A thread with a few events per tick at most is read on every
 * event; in a burst, only up to TICK_MAX_SKIP events right after a pause
 * carry the time before it. */
static inline unsigned stamp_due(ring_t *r, uint64_t *tick)
{
	if (HT_LIKELY(r->skip)) {
		r->skip--;
		return 0;
	}
	*tick = tick_now();
	if ((*tick >> TICK_SHIFT) != r->last_tick) {
		r->same = 0;
		return 1;
	}
	if (++r->same >= TICK_DENSE) {
		r->same = TICK_DENSE;
		r->skip = TICK_MAX_SKIP;
	}
	return 0;
}

/* Fills the stamp slot after e (reserved by begin_event). */
static inline void put_stamp(ring_t *r, ring_event_t *e, uint64_t tick)
{
	e->flags = RING_F_STAMP;
	ring_slot(r, 1)->seq = tick;
	r->last_tick = tick >> TICK_SHIFT;
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
	uint64_t tick = 0;
	unsigned st = stamp_due(r, &tick);
	ring_event_t *e = begin_event(th, &r, 1 + st);
	if (!e)
		return;
	e->type = (uint8_t)type;
	e->kind = (uint8_t)kind;
	e->flags = 0;
	e->addr = addr;
	e->aux = aux;
	e->size = size;
	e->stack = stack;
	if (st)
		put_stamp(r, e, tick);
	commit_event(r, 1 + st);
}

void recorder_alloc(unsigned kind, void *p, uint64_t size, uint64_t align)
{
	ht_tls.last_block = (uintptr_t)p;
	record_with_stack(RING_EV_ALLOC, kind, (uint64_t)(uintptr_t)p, align, size,
			  heapcount_usable(p));
}

/* A FREE with the given site (0: unknown).  Inlined: recorder_free is
 * every free's path (a call here cost 10 instructions a free). */
static inline __attribute__((always_inline)) void record_free(void *p, uint32_t site)
{
	rec_thread_t *th = event_thread();
	if (!th)
		return;
	heapcount_add(th, -heapcount_usable(p));
	ring_t *r = th->ring;
	uint64_t tick = 0;
	unsigned st = stamp_due(r, &tick);
	ring_event_t *e = begin_event(th, &r, 1 + st);
	if (!e)
		return;
	e->type = RING_EV_FREE;
	e->flags = 0;
	e->addr = (uint64_t)(uintptr_t)p;
	e->stack = site;
	if (st)
		put_stamp(r, e, tick);
	commit_event(r, 1 + st);
}

void recorder_free(void *p, uintptr_t site_ip)
{
	/* The free site: a lookup, no unwind; 0 (unknown) if memory ran
	 * out, and the free itself is still recorded. */
	record_free(p, stackid_free_site(site_ip));
}

void recorder_realloc(void *old, void *p, uint64_t size, int64_t old_usable)
{
	ht_tls.last_block = (uintptr_t)p;
	record_with_stack(RING_EV_REALLOC, HT_KIND_REALLOC, (uint64_t)(uintptr_t)old,
			  (uint64_t)(uintptr_t)p, size, heapcount_usable(p) - old_usable);
}

void recorder_reuse(void *p, uint64_t size)
{
	/* Where the object died (into the free list) is not known: no site,
	 * so that `lines` does not charge its bytes to the reusing line. */
	record_free(p, 0);
	recorder_alloc(HT_KIND_MALLOC, p, size, 0);
}

int recorder_snapshot(const char *label)
{
	return recorder_snapshot_as(label, HT_SNAP_API);
}

int recorder_snapshot_as(const char *label, unsigned origin)
{
	if (!session_on())
		return -1;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	if (nested) {
		/* A signal handler's mark while a hook runs: the ring is the
		 * interrupted hook's. */
		if (nested == HOOK_REC || nested == HOOK_NESTED)
			recorder_lose_nested();
		return -1;
	}
	int saved = errno;
	int ret = -1;
	t->in_hook = HOOK_REC;
	rec_thread_t *th = registry_self(t);
	if (!th)
		goto out;
	size_t len = label ? strnlen(label, 255) : 0;
	uint64_t n = 1 + RING_LABEL_SLOTS(len);
	ring_t *r = th->ring;
	ring_event_t *e = begin_event(th, &r, n);
	if (!e)
		goto out;
	e->type = RING_EV_SNAPSHOT;
	e->kind = origin;
	e->flags = 0;
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
	recorder_hook_out(t);
	errno = saved;
	return ret;
}

/* ---- signal handlers that interrupt a hook ------------------------------ */

void (*recorder_real_free)(void *);

void recorder_lose_nested(void)
{
	__atomic_fetch_add(&ht_session.lost_signal, 1, __ATOMIC_RELAXED);
}

int recorder_pend(unsigned type, unsigned kind, void *addr, uint64_t aux, uint64_t size,
		  int defer)
{
	rec_tls_t *t = &ht_tls;
	int saved = errno;
	int ret = -1;
	uint32_t head = t->pend_head;
	if (head - __atomic_load_n(&t->pend_tail, __ATOMIC_RELAXED) >= REC_PEND_MAX)
		goto out;
	uint32_t stack = 0;
	uint8_t later = 0;
	if (type != RING_EV_FREE) {
		int is_new;
		stack = stackid_nested(head, &is_new);
		if (!stack)
			goto out;
		if (stack == STACKID_LATER) {
			stack = 0;
			later = 1;
		}
		if (is_new)
			t->pend_new = 1;
	}
	rec_pend_t *e = &t->pend[head % REC_PEND_MAX];
	e->later = later;
	e->type = (uint8_t)type;
	e->kind = (uint8_t)kind;
	e->defer = (uint8_t)defer;
	e->addr = (uint64_t)(uintptr_t)addr;
	e->aux = aux;
	e->size = size;
	e->stack = stack;
	/* The entry is whole before the drain can see it. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&t->pend_head, head + 1, __ATOMIC_RELAXED);
	ret = 0;
out:
	if (ret)
		recorder_lose_nested();
	errno = saved;
	return ret;
}

/* One pending event into the ring: as the hook would have recorded it. */
static void record_pended(const rec_pend_t *p)
{
	rec_thread_t *th = event_thread();
	if (!th)
		return;
	void *a = (void *)(uintptr_t)p->addr;
	int64_t delta;
	if (p->type == RING_EV_FREE)
		delta = -heapcount_usable(a);
	else if (p->type == RING_EV_REALLOC)
		delta = heapcount_usable((void *)(uintptr_t)p->aux) - heapcount_usable(a);
	else
		delta = heapcount_usable(a);
	heapcount_add(th, delta);
	ring_t *r = th->ring;
	ring_event_t *e = begin_event(th, &r, 1);
	if (!e)
		return;
	e->type = p->type;
	e->kind = p->kind;
	e->flags = 0;
	e->addr = p->addr;
	e->aux = p->aux;
	e->size = p->size;
	e->stack = p->stack;
	commit_event(r, 1);
}


/* Room in the ring for the next pending event, made before the drain
 * takes it off the list: holding no entry, the drain may wait as a hook
 * does (HOOK_WAIT), and a handler that comes meanwhile records the list
 * itself, in order, then its own events (recorder_wait_enter).  Waiting
 * with an entry taken instead left every handler of a long wait to the
 * 16-entry list (issue 14 under load). */
static void drain_room(rec_tls_t *t)
{
	rec_thread_t *th = event_thread();
	if (!th || HT_LIKELY(ring_space(th->ring) >= 1))
		return;
	int draining = t->draining;
	t->draining = 0;
	ring_full(th, th->ring, 1); /* NULL: stopped, the event counts lost */
	t->draining = draining;
}

void recorder_drain(rec_tls_t *t)
{
	int saved = errno;
	int draining = t->draining;
	t->draining = 1;
	do {
		t->in_hook = HOOK_REC;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		while (__atomic_load_n(&t->pend_head, __ATOMIC_RELAXED) != t->pend_tail) {
			drain_room(t);
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(&t->pend_head, __ATOMIC_RELAXED) == t->pend_tail)
				break; /* a handler recorded them while we waited */
			/* Its stack, if it had to wait: interned while the
			 * entry is still on the list (its frames are in the
			 * entry's slot, which the next handler may reuse). */
			rec_pend_t *q = &t->pend[t->pend_tail % REC_PEND_MAX];
			if (q->later) {
				int is_new;
				q->stack = stackid_nested_later(t->pend_tail, &is_new);
				q->later = 0;
				if (is_new)
					t->pend_new = 1;
				if (!q->stack) {
					recorder_lose_nested();
					__atomic_signal_fence(__ATOMIC_SEQ_CST);
					__atomic_store_n(&t->pend_tail, t->pend_tail + 1,
							 __ATOMIC_RELAXED);
					continue;
				}
			}
			/* The writer writes the newest module map before any
			 * new STACK (stackid_capture does the same). */
			if (t->pend_new) {
				t->pend_new = 0;
				stackid_refresh_modules();
			}
			rec_pend_t p = t->pend[t->pend_tail % REC_PEND_MAX];
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			__atomic_store_n(&t->pend_tail, t->pend_tail + 1, __ATOMIC_RELAXED);
			record_pended(&p);
			/* Freed only now, so that no thread had the address
			 * back before its free was in the order. */
			if (p.defer && recorder_real_free)
				recorder_real_free((void *)(uintptr_t)p.addr);
		}
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t->in_hook = HOOK_NONE;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	} while (__atomic_load_n(&t->pend_head, __ATOMIC_RELAXED) != t->pend_tail);
	t->draining = draining;
	errno = saved;
}

