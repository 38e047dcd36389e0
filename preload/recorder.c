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

#include "crash.h"
#include "heaptrail_format.h"
#include "modules.h"
#include "pymemo.h"
#include "stacks.h"
#include "unwind.h"
#include "util.h"
#include "writer.h"

#if __has_include("pyframes.h")
#include "pyframes.h"
#define HT_HAVE_PYFRAMES 1
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

rec_shared_t ht_rec = { .fd = -1 };
__thread rec_tls_t ht_tls __attribute__((tls_model("initial-exec")));

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t thread_key;
static int key_ok;
static int fork_locked;

/* ---- thread registry ------------------------------------------------- */

static void read_name(char out[16])
{
	memset(out, 0, 16);
	prctl(PR_GET_NAME, out, 0, 0, 0);
	out[15] = 0;
}

/* The registry lock is taken with trylock (a few tries) on paths that may
 * run at exit from a signal handler that interrupted this very thread
 * inside register_thread; names are then updated or read a bit later or
 * without the lock (a rename racing the read is harmless). */
static int reg_trylock(void)
{
	for (int i = 0; i < 100; i++) {
		if (pthread_mutex_trylock(&reg_lock) == 0)
			return 0;
		sched_yield();
	}
	return -1;
}

static void set_name(rec_thread_t *th, const char name[16])
{
	if (reg_trylock())
		return;
	if (strncmp(th->name, name, 16)) {
		memcpy(th->name, name, 16);
		th->name_gen++;
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Key destructor: the thread is exiting.  Other keys' destructors may
 * still allocate, so the slot stays live (the key re-armed) until glibc's
 * last destructor round; anything allocated even later registers a fresh
 * slot (and re-arms the key again). */
static void thread_gone(void *arg)
{
	rec_tls_t *t = &ht_tls;
	rec_thread_t *th = arg;
	int saved = errno;
	if (t->th == th && t->epoch == ht_rec.epoch &&
	    ++t->dtor_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
		pthread_setspecific(thread_key, th);
	} else if (t->th == th && t->epoch == ht_rec.epoch) {
		char name[16];
		read_name(name);
		set_name(th, name);
		__atomic_store_n(&th->state, SLOT_DEAD, __ATOMIC_SEQ_CST);
		t->th = NULL;
		unwind_thread_exit();
		pymemo_thread_exit();
		recorder_kick();
	}
	errno = saved;
}

static rec_thread_t *register_thread(rec_tls_t *t)
{
	rec_thread_t *th = NULL;
	pthread_mutex_lock(&reg_lock);
	for (uint32_t i = 0; i < REC_MAX_THREADS; i++) {
		if (__atomic_load_n(&ht_rec.threads[i].state, __ATOMIC_ACQUIRE) == SLOT_FREE) {
			th = &ht_rec.threads[i];
			if (i >= ht_rec.nthreads)
				__atomic_store_n(&ht_rec.nthreads, i + 1, __ATOMIC_SEQ_CST);
			break;
		}
	}
	if (th && !th->ring)
		th->ring = ring_create(REC_RING_SLOTS);
	if (!th || !th->ring) {
		pthread_mutex_unlock(&reg_lock);
		return NULL;
	}
	ring_reset(th->ring);
	th->tid = util_gettid();
	th->index = REC_NO_INDEX;
	read_name(th->name);
	th->name_gen++;
	__atomic_store_n(&th->state, SLOT_LIVE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&reg_lock);
	t->th = th;
	t->epoch = ht_rec.epoch;
	t->dtor_rounds = 0;
	if (key_ok)
		pthread_setspecific(thread_key, th);
	return th;
}

/* The calling thread's slot, registering the thread on its first event
 * (errno is kept: registering may set it); NULL when it cannot. */
static inline rec_thread_t *self_thread(rec_tls_t *t)
{
	if (HT_LIKELY(t->th != NULL && t->epoch == ht_rec.epoch))
		return t->th;
	int saved = errno;
	rec_thread_t *th = register_thread(t);
	errno = saved;
	return th;
}

void recorder_thread_name(rec_thread_t *th, char out[16], uint32_t *gen)
{
	int locked = reg_trylock() == 0;
	memcpy(out, th->name, 16);
	out[15] = 0;
	*gen = th->name_gen;
	if (locked)
		pthread_mutex_unlock(&reg_lock);
}

void recorder_slot_free(rec_thread_t *th)
{
	/* Not now if the registry is busy: the next drain frees it. */
	if (reg_trylock())
		return;
	__atomic_store_n(&th->state, SLOT_FREE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&reg_lock);
}

void recorder_refresh_names(void)
{
	uint32_t n = __atomic_load_n(&ht_rec.nthreads, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_rec.threads[i];
		if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) != SLOT_LIVE)
			continue;
		char path[64], buf[64];
		util_line_t l = { path, sizeof(path), 0 };
		util_line_str(&l, "/proc/self/task/");
		util_line_u64(&l, (uint64_t)th->tid);
		util_line_str(&l, "/comm");
		long r = util_read_file(path, buf, sizeof(buf));
		if (r == -ENOENT) {
			/* Thread gone without running our key destructor. */
			__atomic_store_n(&th->state, SLOT_DEAD, __ATOMIC_SEQ_CST);
			continue;
		}
		if (r <= 0)
			continue;
		if (buf[r - 1] == '\n')
			buf[r - 1] = 0;
		char name[16];
		memset(name, 0, sizeof(name));
		memcpy(name, buf, r < 15 ? (size_t)r : 15);
		name[15] = 0;
		set_name(th, name);
	}
}

/* ---- producer hot path ----------------------------------------------- */

void recorder_kick(void)
{
	__atomic_fetch_add(&ht_rec.kick, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ht_rec.writer_sleeping, __ATOMIC_SEQ_CST))
		util_futex_wake(&ht_rec.kick);
}

static int give_up(void)
{
	return __atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON || !writer_alive();
}

/* Reserves n slots, takes the sequence number and returns the first slot
 * with `busy` set; recorder_commit publishes.  NULL: event lost. */
static inline ring_event_t *begin_event(ring_t *r, uint64_t n)
{
	if (HT_UNLIKELY(ring_space(r) < n)) {
		int saved = errno; /* the wait may sleep in futex */
		int ok = ring_wait_space(r, n, give_up, recorder_kick) == 0;
		errno = saved;
		if (!ok) {
			__atomic_fetch_add(&ht_rec.lost_stopped, 1, __ATOMIC_RELAXED);
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
	e->seq = __atomic_fetch_add(&ht_rec.seq, 1, __ATOMIC_SEQ_CST);
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
		recorder_kick();
		errno = saved;
	}
}

/* The id of the stack whose native part memo's chain gives, with the
 * Python frames py, when the memo or this thread's table of other Python
 * frames (pymemo) knows it; 0 otherwise. */
static inline uint32_t known_id(const unwind_memo_t *memo, const unwind_py_t *py)
{
	if (unwind_memo_same(memo, py))
		return memo->id;
	return py->m ? pymemo_find(memo->serial, py->code, py->line, py->m) : 0;
}

/* entry: the hook's frame record (rec_tls_t.entry), or NULL. */
static uint32_t capture_stack(const uintptr_t *entry)
{
	/* Sized by the configured depth: hooks may run on small stacks. */
	uint64_t ips[ht_rec.depth + UNWIND_EXTRA];
#ifdef HT_HAVE_PYFRAMES
	uint32_t pc[PYFRAMES_MAX], pl[PYFRAMES_MAX];
#else
	uint32_t *pc = NULL, *pl = NULL;
#endif
	unsigned flags = 0, n = 0, m = 0;
#ifdef HT_HAVE_PYFRAMES
	int pm = pyframes_capture(pc, pl, PYFRAMES_MAX);
	m = pm > 0 ? (unsigned)pm : 0;
#endif
	unwind_memo_t *memo = NULL;
	unwind_py_t py = { pc, pl, m };
	/* Verify mode: what the hot path would have said is checked below. */
	uint32_t foreseen = 0;
	if (entry && ht_rec.unwind) {
		uint32_t id;
		if ((memo = unwind_known(entry, ht_rec.depth)) != NULL &&
		    (id = known_id(memo, &py)) != 0)
			return id;
		if (HT_UNLIKELY(unwind_mode() == UNWIND_VERIFY) &&
		    (memo = unwind_lookup(entry, ht_rec.depth)) != NULL)
			foreseen = known_id(memo, &py);
	}
	if (ht_rec.unwind) {
		n = unwind_capture(ips, ht_rec.depth, &flags, &memo, &py, entry);
		/* Recognised, Python frames included: the id is known. */
		if (n == UNWIND_KNOWN)
			return memo->id;
	}
	/* Verify mode: a memo that would have been used is checked against
	 * interning instead. */
	uint32_t noted = memo && unwind_memo_same(memo, &py) ? memo->id : 0;
	int is_new;
	uint32_t gen = modules_gen();
	uint32_t id = stacks_intern(ips, n, pc, pl, m, flags, gen, &is_new);
	if ((HT_UNLIKELY(noted) && noted != id) || (HT_UNLIKELY(foreseen) && foreseen != id))
		unwind_memo_mismatch();
	if (memo && m <= UNWIND_MEMO_PY) {
		memo->id = id;
		memo->m = m;
		for (unsigned i = 0; i < m; i++) {
			memo->py[i] = pc[i];
			memo->py[UNWIND_MEMO_PY + i] = pl[i];
		}
	}
	/* The memo holds the latest Python frames; the others stay found. */
	if (memo && m)
		pymemo_put(memo->serial, pc, pl, m, id);
	/* A new stack may name a module loaded since the last map: refresh
	 * here, in producer context, before the event is committed (the
	 * writer writes the newest map before any new STACK).  Code may have
	 * moved: the unwinder's learned rules go too. */
	if (is_new && ht_rec.unwind && modules_refresh(0) != gen)
		unwind_flush();
	return id;
}

/* The calling thread's slot, or NULL (counted as a lost event). */
static inline rec_thread_t *event_thread(void)
{
	rec_thread_t *th = self_thread(&ht_tls);
	if (HT_UNLIKELY(!th))
		__atomic_fetch_add(&ht_rec.lost_nomem, 1, __ATOMIC_RELAXED);
	return th;
}

/* An event that carries the caller's stack (allocations and reallocs):
 * finds the stack id, fills one ring slot, commits.  Anything that cannot
 * be recorded is counted as lost.  The common case, a stack the chain
 * cache already knows in a thread that runs no Python, is the first test;
 * every slower step saves errno itself.  Inlined so each hook keeps its
 * own straight-line path. */
static inline __attribute__((always_inline)) void
record_with_stack(unsigned type, unsigned kind, uint64_t addr, uint64_t aux, uint64_t size)
{
	/* The hook's frame record is good for this event only. */
	const uintptr_t *entry = ht_tls.entry;
	ht_tls.entry = NULL;
	rec_thread_t *th = event_thread();
	if (!th)
		return;
	uint32_t stack = 0;
	unwind_memo_t *memo;
	if (HT_LIKELY(entry != NULL) && ht_rec.unwind &&
#ifdef HT_HAVE_PYFRAMES
	    pyframes_idle() &&
#endif
	    (memo = unwind_known(entry, ht_rec.depth)) != NULL && memo->id && !memo->m)
		stack = memo->id;
	if (!stack) {
		int saved = errno;
		stack = capture_stack(entry);
		errno = saved;
		if (!stack) {
			__atomic_fetch_add(&ht_rec.lost_nomem, 1, __ATOMIC_RELAXED);
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
	record_with_stack(RING_EV_ALLOC, kind, (uint64_t)(uintptr_t)p, align, size);
}

void recorder_free(void *p)
{
	rec_thread_t *th = event_thread();
	if (!th)
		return;
	ring_t *r = th->ring;
	ring_event_t *e = begin_event(r, 1);
	if (!e)
		return;
	e->type = RING_EV_FREE;
	e->addr = (uint64_t)(uintptr_t)p;
	commit_event(r, 1);
}

void recorder_realloc(void *old, void *p, uint64_t size)
{
	record_with_stack(RING_EV_REALLOC, HT_KIND_REALLOC, (uint64_t)(uintptr_t)old,
			  (uint64_t)(uintptr_t)p, size);
}

int recorder_snapshot(const char *label)
{
	if (!recorder_on())
		return -1;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	int saved = errno;
	int ret = -1;
	t->in_hook = 1;
	rec_thread_t *th = self_thread(t);
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

/* ---- lifecycle --------------------------------------------------------- */

static void on_snapshot_signal(int sig)
{
	(void)sig;
	writer_signal_snapshot();
}

int recorder_start(const config_t *cfg, int fd, int fresh, int unwind)
{
	ht_rec.cfg = *cfg;
	ht_rec.depth = cfg->depth ? cfg->depth : CONFIG_DEFAULT_DEPTH;
	ht_rec.unwind = unwind;
	ht_rec.fd = fd;
	ht_rec.fresh = fresh;
	ht_rec.pid = getpid();
	int err = stacks_init(20);
	if (err)
		return err;
	if (!key_ok)
		key_ok = pthread_key_create(&thread_key, thread_gone) == 0;
	if (unwind) {
		uintptr_t lo = 0, hi = 0;
		modules_text_range((uintptr_t)&recorder_start, &lo, &hi);
		unwind_init(lo, hi, CONFIG_HIGH_FD - 20);
		modules_refresh(1);
	}
#ifdef HT_HAVE_PYFRAMES
	pyframes_init();
#endif
	err = writer_begin(fresh);
	if (err)
		return err;
	__atomic_store_n(&ht_rec.state, REC_ON, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ht_rec.on, 1, __ATOMIC_SEQ_CST);
	err = writer_start_thread();
	if (err) {
		recorder_stop("cannot start the writer thread");
		return err;
	}
	if (cfg->snap_signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_snapshot_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(cfg->snap_signal, &sa, NULL);
	}
	if (cfg->crash_flush)
		crash_install(cfg->snap_signal);
	return 0;
}

void recorder_crash(int sig)
{
	/* Not in a vfork child, which shares our memory. */
	if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON || getpid() != ht_rec.pid)
		return;
	writer_finish_fatal(sig);
}

void recorder_stop(const char *why)
{
	if (__atomic_exchange_n(&ht_rec.state, REC_ENDED, __ATOMIC_SEQ_CST) != REC_ON)
		return;
	__atomic_store_n(&ht_rec.on, 0, __ATOMIC_SEQ_CST);
	char msg[256];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, why);
	util_line_str(&l, "; recording stopped");
	util_say(1, msg);
	recorder_kick();
}

void recorder_finish(void)
{
	if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON)
		return;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = 1;
	if (ht_rec.unwind && unwind_mode() == UNWIND_VERIFY) {
		/* bench/bench.py and the integration tests parse this line. */
		unwind_stats_t st;
		unwind_get_stats(&st);
		char msg[160];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, "unwind verify: ");
		util_line_u64(&l, st.checked);
		util_line_str(&l, " stacks checked, ");
		util_line_u64(&l, st.mismatches);
		util_line_str(&l, " mismatches (");
		util_line_u64(&l, st.fallback);
		util_line_str(&l, " stacks only libunwind could unwind)");
		writer_warn(msg);
	}
	writer_finish();
	t->in_hook = nested;
}

int recorder_before_exec(const char *path, int untraced_next)
{
	if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON || getpid() != ht_rec.pid)
		return -1;
	return writer_pause_for_exec(path, untraced_next);
}

void recorder_exec_failed(void)
{
	writer_unpause();
	writer_warn("exec failed; the image continues after its EXEC record");
}

/* Only the writer lock is held across fork(): it makes the encoder
 * consistent in the child, and its holder never waits for the loader lock.
 * Tables other threads may have been updating (modules, stacks, registry)
 * are rebuilt from scratch in a child that keeps recording, because taking
 * their locks here could deadlock against a thread that holds the loader
 * lock inside dlopen and allocates. */
void recorder_fork_prepare(void)
{
	if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON)
		return;
	int nested = ht_tls.in_hook;
	ht_tls.in_hook = 1;
	writer_lock();
	fork_locked = 1;
	ht_tls.in_hook = nested;
}

void recorder_fork_parent(void)
{
	if (!fork_locked)
		return;
	fork_locked = 0;
	writer_unlock();
}

void recorder_fork_child(void)
{
	if (!fork_locked)
		return;
	fork_locked = 0;
	writer_unlock();
	int nested = ht_tls.in_hook;
	ht_tls.in_hook = 1;
	/* The parent's trace is not ours. */
	int pfd = ht_rec.fd;
	ht_rec.fd = -1; /* first: fdguard would refuse to close the trace fd */
	if (pfd >= 0)
		close(pfd);
	__atomic_store_n(&ht_rec.on, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ht_rec.state, REC_OFF, __ATOMIC_SEQ_CST);
	writer_reset_child();
	if (!ht_rec.cfg.follow_fork) {
		/* A child that does not record gets the signal's default
		 * action back (unless the program installed its own since). */
		struct sigaction cur;
		if (ht_rec.cfg.snap_signal && sigaction(ht_rec.cfg.snap_signal, NULL, &cur) == 0 &&
		    cur.sa_handler == on_snapshot_signal)
			util_signal_default(ht_rec.cfg.snap_signal);
		crash_uninstall();
		goto out;
	}
	/* Fresh state: other threads' events in flight died with them. */
	pthread_mutex_init(&reg_lock, NULL);
	modules_reset_child();
	stacks_reset_child();
	unwind_forget_ids();
	ht_rec.epoch++;
	for (uint32_t i = 0; i < REC_MAX_THREADS; i++) {
		rec_thread_t *th = &ht_rec.threads[i];
		if (th->ring)
			ring_reset(th->ring);
		th->state = SLOT_FREE;
		th->index = REC_NO_INDEX;
	}
	ht_rec.nthreads = 0;
	ht_rec.seq = 0;
	ht_rec.lost_nomem = ht_rec.lost_stopped = 0;
	ht_tls.th = NULL;
	int fresh;
	int pid = getpid();
	int fd = config_open_output(&ht_rec.cfg, pid, 0, &fresh);
	if (fd < 0)
		goto out;
	ht_rec.cfg.proc_flags |= HT_PROC_FOLLOWED_FORK;
	ht_rec.fd = fd;
	ht_rec.pid = pid;
	ht_rec.fresh = fresh;
	if (ht_rec.unwind)
		modules_refresh(1);
	if (writer_begin(fresh))
		goto out;
	__atomic_store_n(&ht_rec.state, REC_ON, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ht_rec.on, 1, __ATOMIC_SEQ_CST);
	if (writer_start_thread())
		recorder_stop("cannot start the writer thread in the fork child");
out:
	ht_tls.in_hook = nested;
}
