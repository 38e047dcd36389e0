/* writer: see writer.h. */
#include "writer.h"

#include "encoder.h"
#include "heaptrail_format.h"
#include "modules.h"
#include "recorder.h"
#include "stacks.h"
#include "util.h"

#if __has_include("pyframes.h")
#include "pyframes.h"
#define HT_HAVE_PYFRAMES 1
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_NS (100u * 1000 * 1000) /* write out at least this often */
#define FLUSH_BYTES (256u * 1024) /* or when this much is buffered */
#define RSS_NS (10u * 1000 * 1000)
#define NAMES_NS (1000u * 1000 * 1000)
#define WRITTEN_IDS ((size_t)1 << 20) /* >= stacks table ids */
#define NWARN 8
#define WARN_LEN 200

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static enc_t enc;
static uint8_t *written; /* stack id -> STACK record written */
static uint32_t mod_written; /* modules generation last written */
static uint32_t next_index; /* next trace thread index */
static uint64_t snap_index; /* next snapshot index */
static uint64_t nevents; /* events written for this image */
static uint64_t nallocs; /* allocation events written */
static uint64_t lost_seen_nomem, lost_seen_stopped; /* already reported */
static uint64_t start_mono, start_real; /* image start */
static uint64_t time_written_us; /* decoder's time_us */
static uint64_t pending_time_us; /* read before the last drain's G */
static uint64_t last_flush, last_rss, last_names, next_snap;
static int sig_snap; /* set by the signal handler */
static int alive;
static pthread_t thread;
/* writer_finish_fatal's request (a signal number) and the writer's answer
 * (futex word: 1 once the trace is ended). */
static int fatal_sig;
static uint32_t fatal_done;
/* The dying thread's slot: the writer does not wait for its ring (the
 * thread sits in the signal handler and commits nothing more). */
static rec_thread_t *fatal_th;
static void finish(int sig);
static int page_size;
static long ncpus = 1; /* CPUs this process may run on (writer start) */
static off_t end_at = -1; /* offset of an END written before an exec */

/* Warnings queued by any thread for the writer (spinlock-protected). */
static int warn_lock;
static unsigned warn_n;
static char warns[NWARN][WARN_LEN];

/* ---- output ------------------------------------------------------------ */

static dev_t out_dev; /* identity of the trace file, checked before writes */
static ino_t out_ino;

static void flush(void)
{
	size_t off = 0;
	if (ht_rec.fd < 0) {
		enc.len = 0;
		return;
	}
	/* The program may have closed our descriptor and reused its number:
	 * never write trace bytes into one of its files. */
	struct stat st;
	if (fstat(ht_rec.fd, &st) < 0 || st.st_dev != out_dev || st.st_ino != out_ino) {
		enc.len = 0;
		ht_rec.fd = -1;
		recorder_stop("the program closed the trace file descriptor");
		return;
	}
	while (off < enc.len) {
		ssize_t n = write(ht_rec.fd, enc.buf + off, enc.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;
			/* Drop the partial buffer so the file still ends on a
			 * whole record (buffers hold whole records only). */
			off_t end = lseek(ht_rec.fd, 0, SEEK_CUR);
			if (off && end >= (off_t)off && ftruncate(ht_rec.fd, end - (off_t)off) == 0)
				lseek(ht_rec.fd, end - (off_t)off, SEEK_SET);
			enc.len = 0;
			recorder_stop(err == ENOSPC ? "trace disk is full" : "cannot write the trace");
			return;
		}
		off += (size_t)n;
	}
	enc.len = 0;
	last_flush = util_mono_ns();
}

static uint64_t now_us(void)
{
	return (util_mono_ns() - start_mono) / 1000;
}

/* ---- records ------------------------------------------------------------ */

static void put_file_str(const char *path, size_t cap_hint)
{
	(void)cap_hint;
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		n = 0;
	enc_put_str(&enc, buf, (size_t)n);
}

/* argv from /proc/self/cmdline, read with open/read into an mmap. */
static void put_argv(void)
{
	size_t cap = 4u << 20; /* > ARG_MAX; pages are touched only as used */
	char *b = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		enc_put_varint(&enc, 0);
		return;
	}
	long len = util_read_file("/proc/self/cmdline", b, cap);
	if (len < 0)
		len = 0;
	uint64_t argc = 0;
	for (long i = 0; i < len; i++)
		argc += b[i] == 0;
	if (len > 0 && b[len - 1] != 0)
		argc++;
	enc_put_varint(&enc, argc);
	long s = 0;
	for (long i = 0; i <= len && argc; i++) {
		if (i == len || b[i] == 0) {
			if (i == len && s == len)
				break;
			enc_put_str(&enc, b + s, (size_t)(i - s));
			s = i + 1;
		}
	}
	munmap(b, cap);
}

static void put_process(void)
{
	size_t m = enc_rec_begin(&enc, HT_REC_PROCESS);
	enc_put_varint(&enc, (uint64_t)getpid());
	enc_put_varint(&enc, (uint64_t)getppid());
	enc_put_varint(&enc, start_real);
	enc_put_varint(&enc, (uint64_t)page_size);
	enc_put_str(&enc, HEAPTRAIL_VERSION, strlen(HEAPTRAIL_VERSION));
	put_file_str("/proc/self/exe", 0);
	put_argv();
	enc_put_varint(&enc, ht_rec.cfg.proc_flags);
	enc_rec_end(&enc, m);
	enc_reset_state(&enc);
}

/* An RSS sample, written only when it changed (an idle program would
 * otherwise grow its trace by 100 records a second) or when `force`.  A
 * TIME op first brings the trace's clock up to the last writer cycle: while
 * no events flow the last TIME can be old, and the sample would be dated
 * by it. */
static void put_rss(int force)
{
	static uint64_t last_bytes;
	char buf[128];
	if (util_read_file("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return;
	const char *p = buf;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	uint64_t bytes = pages * (uint64_t)page_size;
	if (!force && bytes == last_bytes)
		return;
	last_bytes = bytes;
	/* pending_time_us (read before the last cycle's G) keeps TIME a lower
	 * bound for every event still to be drained. */
	if (pending_time_us > time_written_us) {
		enc_time(&enc, pending_time_us - time_written_us);
		time_written_us = pending_time_us;
	}
	enc_rss(&enc, bytes);
}

static void put_lost(void)
{
	uint64_t a = __atomic_load_n(&ht_rec.lost_nomem, __ATOMIC_RELAXED);
	uint64_t b = __atomic_load_n(&ht_rec.lost_stopped, __ATOMIC_RELAXED);
	if (a != lost_seen_nomem)
		enc_lost(&enc, a - lost_seen_nomem, HT_LOST_NO_MEMORY);
	if (b != lost_seen_stopped)
		enc_lost(&enc, b - lost_seen_stopped, HT_LOST_STOPPED);
	lost_seen_nomem = a;
	lost_seen_stopped = b;
}

static void wlock_spin(void)
{
	while (__atomic_exchange_n(&warn_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

void writer_warn(const char *text)
{
	util_say(0, text);
	wlock_spin();
	if (warn_n < NWARN) {
		strncpy(warns[warn_n], text, WARN_LEN - 1);
		warns[warn_n][WARN_LEN - 1] = 0;
		warn_n++;
	}
	__atomic_store_n(&warn_lock, 0, __ATOMIC_RELEASE);
}

static void put_warnings(void)
{
	wlock_spin();
	for (unsigned i = 0; i < warn_n; i++)
		enc_warning(&enc, warns[i]);
	warn_n = 0;
	__atomic_store_n(&warn_lock, 0, __ATOMIC_RELEASE);
}

#ifdef HT_HAVE_PYFRAMES
static void put_pycode(void *ctx, uint32_t id, const char *file, const char *func,
		       uint32_t firstline)
{
	(void)ctx;
	size_t m = enc_rec_begin(&enc, HT_REC_PYCODE);
	enc_put_varint(&enc, id);
	enc_put_str(&enc, file, strlen(file));
	enc_put_str(&enc, func, strlen(func));
	enc_put_varint(&enc, firstline);
	enc_rec_end(&enc, m);
}

static void put_py_warnings(int at_exit)
{
	char buf[WARN_LEN];
	size_t n;
	while ((n = pyframes_take_warning(buf, sizeof(buf), at_exit)) > 0) {
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		buf[n] = 0;
		enc_warning(&enc, buf);
		at_exit = 0;
	}
}
#else
static void put_py_warnings(int at_exit)
{
	(void)at_exit;
}
#endif

/* ---- draining ------------------------------------------------------------ */

static void announce(rec_thread_t *th)
{
	if (HT_LIKELY(th->index != REC_NO_INDEX && th->name_sent == th->name_gen))
		return;
	if (th->index == REC_NO_INDEX)
		th->index = next_index++;
	char name[16];
	uint32_t gen;
	recorder_thread_name(th, name, &gen);
	enc_thread_rec(&enc, th->index, (uint64_t)th->tid, name);
	th->name_sent = gen;
}

static void ensure_stack(uint32_t id)
{
	if (HT_LIKELY(id < WRITTEN_IDS && written[id]))
		return;
	const stack_entry_t *s = stacks_get(id);
	if (!s)
		return;
	if (modules_gen() != mod_written && modules_trylock() == 0) {
		size_t len;
		uint32_t g;
		const uint8_t *body = modules_body(&len, &g);
		if (body && g != mod_written) {
			size_t m = enc_rec_begin(&enc, HT_REC_MODULES);
			enc_put_bytes(&enc, body, len);
			enc_rec_end(&enc, m);
			mod_written = g;
		}
		modules_unlock();
	}
#ifdef HT_HAVE_PYFRAMES
	/* Every code id a capture returned is delivered by the next call,
	 * so its PYCODE precedes this STACK. */
	if (s->m)
		pyframes_emit_new(put_pycode, NULL);
#endif
	enc_stack(&enc, s->id, s->flags, s->w, s->n, s->w + s->n, s->m);
	if (id < WRITTEN_IDS)
		written[id] = 1;
}

/* Encodes the event at tail+k of th's ring; returns slots consumed. */
static uint64_t encode(rec_thread_t *th, ring_t *r, uint64_t k)
{
	ring_event_t *e = ring_peek(r, k);
	switch (e->type) {
	case RING_EV_FREE:
		announce(th);
		enc_thread(&enc, th->index);
		enc_free_op(&enc, e->addr);
		nevents++;
		return 1;
	case RING_EV_ALLOC:
		announce(th);
		ensure_stack(e->stack);
		enc_thread(&enc, th->index);
		enc_alloc(&enc, e->kind, e->addr, e->size, e->stack, e->aux);
		nevents++;
		nallocs++;
		return 1;
	case RING_EV_REALLOC:
		announce(th);
		ensure_stack(e->stack);
		enc_thread(&enc, th->index);
		enc_realloc(&enc, e->addr, e->aux, e->size, e->stack);
		nevents++;
		nallocs++;
		return 1;
	case RING_EV_SNAPSHOT: {
		char label[256];
		size_t len = e->size < 255 ? e->size : 255;
		uint64_t slots = RING_LABEL_SLOTS(len);
		for (uint64_t i = 0; i < slots; i++) {
			size_t off = i * sizeof(ring_event_t);
			size_t chunk = len - off < sizeof(ring_event_t) ? len - off : sizeof(ring_event_t);
			memcpy(label + off, ring_peek(r, k + 1 + i), chunk);
		}
		enc_snapshot(&enc, snap_index++, e->kind, label, len);
		return 1 + slots;
	}
	default:
		return 1;
	}
}

/* Waits until every event of r numbered below G is committed. */
static void wait_committed(ring_t *r, int final)
{
	if (!__atomic_load_n(&r->busy, __ATOMIC_SEQ_CST))
		return;
	uint64_t h = __atomic_load_n(&r->head, __ATOMIC_SEQ_CST);
	for (unsigned long spins = 0; __atomic_load_n(&r->busy, __ATOMIC_SEQ_CST) &&
				      __atomic_load_n(&r->head, __ATOMIC_SEQ_CST) == h;
	     spins++) {
		if (spins > 64)
			sched_yield();
		/* A producer stopped inside its window (debugger, SIGSTOP of
		 * one thread): stop burning a CPU. */
		if (spins > 10000) {
			struct timespec ms = { 0, 1000000 };
			nanosleep(&ms, NULL);
		}
		/* At exit a thread may have died mid-event (signal); give up
		 * after a while rather than hang the exit. */
		if (final && spins > 12000)
			return;
	}
}

/* Min-heap of rings by the sequence number of their first event. */
typedef struct hent {
	uint64_t seq;
	uint32_t slot;
} hent_t;
static hent_t heap[REC_MAX_THREADS];
static uint32_t heap_n;

static void heap_push(uint64_t seq, uint32_t slot)
{
	uint32_t i = heap_n++;
	while (i) {
		uint32_t p = (i - 1) / 2;
		if (heap[p].seq <= seq)
			break;
		heap[i] = heap[p];
		i = p;
	}
	heap[i].seq = seq;
	heap[i].slot = slot;
}

static hent_t heap_pop(void)
{
	hent_t top = heap[0], last = heap[--heap_n];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= heap_n)
			break;
		if (c + 1 < heap_n && heap[c + 1].seq < heap[c].seq)
			c++;
		if (last.seq <= heap[c].seq)
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (heap_n)
		heap[i] = last;
	return top;
}

/* Drains every event numbered below G in sequence order.  Returns the
 * number of ring slots consumed. */
static uint64_t drain(uint64_t G, int final)
{
	uint32_t n = __atomic_load_n(&ht_rec.nthreads, __ATOMIC_SEQ_CST);
	rec_thread_t *self = ht_tls.th;
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_rec.threads[i];
		if (__atomic_load_n(&th->state, __ATOMIC_SEQ_CST) == SLOT_FREE || !th->ring)
			continue;
		if (th != self && th != __atomic_load_n(&fatal_th, __ATOMIC_ACQUIRE))
			wait_committed(th->ring, final);
	}
	heap_n = 0;
	long live = 0;
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_rec.threads[i];
		int state = __atomic_load_n(&th->state, __ATOMIC_SEQ_CST);
		if (state == SLOT_FREE || !th->ring)
			continue;
		live += state == SLOT_LIVE;
		ring_t *r = th->ring;
		if (ring_pending(r) && ring_peek(r, 0)->seq < G)
			heap_push(ring_peek(r, 0)->seq, i);
	}
	/* The encoder's table of live blocks costs a cache miss per event on
	 * this thread.  It is skipped (the trace gets larger, never wrong)
	 * while this thread may not have a core to itself: while the program
	 * has as many threads as there are CPUs (they can keep every core
	 * busy, and each cycle spent here is taken from them).  A full ring
	 * is no reason: rings fill while this thread waits to be woken, and
	 * once running it encodes faster than one thread allocates. */
	enc.light = live >= ncpus && !final;
	if (heap_n && pending_time_us > time_written_us) {
		enc_time(&enc, pending_time_us - time_written_us);
		time_written_us = pending_time_us;
	}
	uint64_t total = 0;
	while (heap_n) {
		hent_t h = heap_pop();
		rec_thread_t *th = &ht_rec.threads[h.slot];
		ring_t *r = th->ring;
		uint64_t limit = heap_n && heap[0].seq < G ? heap[0].seq : G;
		uint64_t avail = ring_pending(r), k = 0;
		while (k < avail && ring_peek(r, k)->seq < limit) {
			/* The encoder's table of live blocks misses the cache
			 * on almost every lookup: start the one 8 events on
			 * (not while light: the table is not used then). */
			if (!enc.light && k + 8 < avail)
				addrmap_prefetch(&enc.live, ring_peek(r, k + 8)->addr);
			k += encode(th, r, k);
		}
		ring_release(r, k);
		total += k;
		if (k < avail && ring_peek(r, 0)->seq < G)
			heap_push(ring_peek(r, 0)->seq, h.slot);
		if (enc.len >= FLUSH_BYTES)
			flush();
	}
	/* Slots of exited threads go back to the pool once empty. */
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_rec.threads[i];
		if (__atomic_load_n(&th->state, __ATOMIC_SEQ_CST) == SLOT_DEAD &&
		    !ring_pending(th->ring) && !__atomic_load_n(&th->ring->busy, __ATOMIC_SEQ_CST))
			recorder_slot_free(th);
	}
	return total;
}

/* One writer cycle: optional writer-side snapshot (it takes its own
 * sequence number, so it sits after every event numbered below it). */
static uint64_t cycle(int final, int origin, const char *label)
{
	uint64_t t = now_us();
	uint64_t G;
	if (origin >= 0)
		G = __atomic_fetch_add(&ht_rec.seq, 1, __ATOMIC_SEQ_CST);
	else
		G = __atomic_load_n(&ht_rec.seq, __ATOMIC_SEQ_CST);
	uint64_t n = drain(G, final);
	if (origin >= 0) {
		if (pending_time_us > time_written_us) {
			enc_time(&enc, pending_time_us - time_written_us);
			time_written_us = pending_time_us;
		}
		enc_snapshot(&enc, snap_index++, (unsigned)origin, label, strlen(label));
	}
	pending_time_us = t;
	return n;
}

static void housekeeping(uint64_t now, int force)
{
	if (force || now - last_names >= NAMES_NS) {
		recorder_refresh_names();
		last_names = now;
	}
	if (force || now - last_rss >= RSS_NS) {
		put_rss(force);
		last_rss = now;
	}
	put_lost();
	put_warnings();
	put_py_warnings(0);
	if (force || enc.len >= FLUSH_BYTES || now - last_flush >= FLUSH_NS)
		flush();
}

/* ---- thread ------------------------------------------------------------- */

static void *writer_main(void *arg)
{
	(void)arg;
	ht_tls.in_hook = 1; /* never record our own allocations */
	for (;;) {
		int sig = __atomic_load_n(&fatal_sig, __ATOMIC_SEQ_CST);
		if (sig) {
			finish(sig);
			__atomic_store_n(&fatal_done, 1, __ATOMIC_SEQ_CST);
			util_futex_wake(&fatal_done);
			break;
		}
		pthread_mutex_lock(&wlock);
		if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON) {
			pthread_mutex_unlock(&wlock);
			break;
		}
		uint64_t now = util_mono_ns();
		int origin = -1;
		const char *label = "";
		if (__atomic_exchange_n(&sig_snap, 0, __ATOMIC_SEQ_CST)) {
			origin = HT_SNAP_SIGNAL;
			label = "signal";
		} else if (ht_rec.cfg.snap_every_ns && now >= next_snap) {
			origin = HT_SNAP_TIMER;
			label = "timer";
			next_snap = now + ht_rec.cfg.snap_every_ns;
		}
		uint64_t n = cycle(0, origin, label);
		housekeeping(now, 0);
		pthread_mutex_unlock(&wlock);
		uint32_t k = __atomic_load_n(&ht_rec.kick, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ht_rec.writer_sleeping, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&sig_snap, __ATOMIC_SEQ_CST) &&
		    !__atomic_load_n(&fatal_sig, __ATOMIC_SEQ_CST) &&
		    __atomic_load_n(&ht_rec.state, __ATOMIC_SEQ_CST) == REC_ON)
			util_futex_wait(&ht_rec.kick, k, n ? 1000000u : 10000000u);
		__atomic_store_n(&ht_rec.writer_sleeping, 0, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&alive, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

int writer_alive(void)
{
	return __atomic_load_n(&alive, __ATOMIC_ACQUIRE);
}

int writer_start_thread(void)
{
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	ncpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
	sigset_t all, old;
	sigfillset(&all);
	/* The thread inherits a fully blocked mask from birth. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	__atomic_store_n(&alive, 1, __ATOMIC_SEQ_CST);
	int err = pthread_create(&thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		__atomic_store_n(&alive, 0, __ATOMIC_SEQ_CST);
		return -err;
	}
	pthread_detach(thread);
	return 0;
}

int writer_begin(int fresh)
{
	page_size = (int)sysconf(_SC_PAGESIZE);
	if (!enc.buf && enc_init(&enc, 1u << 20))
		return -ENOMEM;
	if (!written) {
		written = mmap(NULL, WRITTEN_IDS, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (written == MAP_FAILED) {
			written = NULL;
			return -ENOMEM;
		}
	}
	struct stat st;
	if (ht_rec.fd >= 0 && fstat(ht_rec.fd, &st) == 0) {
		out_dev = st.st_dev;
		out_ino = st.st_ino;
	}
	start_mono = util_mono_ns();
	start_real = util_real_ns();
	time_written_us = pending_time_us = 0;
	last_flush = last_rss = last_names = start_mono;
	next_snap = start_mono + ht_rec.cfg.snap_every_ns;
	next_index = 0;
	snap_index = nevents = nallocs = 0;
	mod_written = 0;
	lost_seen_nomem = lost_seen_stopped = 0;
	if (fresh)
		enc_header(&enc);
	put_process();
	flush();
	return 0;
}

static int lock_for_end(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	return pthread_mutex_timedlock(&wlock, &ts);
}

/* The end of the image: final drain, exit snapshot, SIGNAL (sig > 0: the
 * image is dying of that signal) and END. */
static void finish(int sig)
{
	if (lock_for_end())
		return;
	if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON) {
		pthread_mutex_unlock(&wlock);
		return;
	}
	recorder_refresh_names();
	cycle(1, HT_SNAP_EXIT, "exit");
	/* Threads renamed late are re-announced before the end. */
	uint32_t n = __atomic_load_n(&ht_rec.nthreads, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_rec.threads[i];
		if (th->state != SLOT_FREE && th->index != REC_NO_INDEX)
			announce(th);
	}
	/* In the trace only, not on stderr: a program that allocates nothing
	 * (true, a followed fork child) is normal, and a line on its stderr
	 * would change its output.  The cases that do hide allocations say so
	 * themselves: a static program never loads us (heaptrail record
	 * reports that), a malloc of the program's own is reported at start. */
	if (nallocs == 0 && !ht_rec.own_malloc &&
	    !(ht_rec.cfg.proc_flags & HT_PROC_FOLLOWED_FORK))
		enc_warning(&enc, "no allocations were recorded: the program may use its own "
				  "allocator, which LD_PRELOAD cannot see");
	put_rss(1);
	put_lost();
	put_warnings();
	put_py_warnings(1);
	uint64_t lost = __atomic_load_n(&ht_rec.lost_nomem, __ATOMIC_RELAXED) +
			__atomic_load_n(&ht_rec.lost_stopped, __ATOMIC_RELAXED);
	uint64_t t = now_us();
	if (sig > 0)
		enc_signal(&enc, sig, t);
	enc_end(&enc, nevents, lost, t);
	flush();
	__atomic_store_n(&ht_rec.on, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ht_rec.state, REC_ENDED, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&wlock);
	recorder_kick();
}

void writer_finish(void)
{
	finish(0);
}

/* The longest a crashing thread waits for the writer to end the trace. */
#define FATAL_WAIT_NS (3ull * 1000000000ull)

int writer_finish_fatal(int sig)
{
	if (!__atomic_load_n(&alive, __ATOMIC_SEQ_CST) || pthread_equal(pthread_self(), thread))
		return -1;
	rec_thread_t *th = ht_tls.th;
	/* The signal came in the middle of one of this thread's events: it
	 * holds a number that will never be committed. */
	if (th && th->ring && __atomic_load_n(&th->ring->busy, __ATOMIC_SEQ_CST))
		__atomic_fetch_add(&ht_rec.lost_stopped, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&fatal_th, th, __ATOMIC_RELEASE);
	__atomic_store_n(&fatal_sig, sig, __ATOMIC_SEQ_CST);
	recorder_kick();
	uint64_t deadline = util_mono_ns() + FATAL_WAIT_NS;
	while (!__atomic_load_n(&fatal_done, __ATOMIC_SEQ_CST)) {
		uint64_t now = util_mono_ns();
		if (now >= deadline || !__atomic_load_n(&alive, __ATOMIC_SEQ_CST))
			break;
		util_futex_wait(&fatal_done, 0, deadline - now);
	}
	return __atomic_load_n(&fatal_done, __ATOMIC_SEQ_CST) ? 0 : -1;
}

int writer_pause_for_exec(const char *path, int untraced_next)
{
	if (lock_for_end())
		return -1;
	if (__atomic_load_n(&ht_rec.state, __ATOMIC_ACQUIRE) != REC_ON) {
		pthread_mutex_unlock(&wlock);
		return -1;
	}
	cycle(1, -1, "");
	put_lost();
	put_warnings();
	enc_exec(&enc, path ? path : "");
	flush();
	end_at = -1;
	if (untraced_next && ht_rec.fd >= 0 && ht_rec.on) {
		/* No recorder in the next image: this one is the last, so the
		 * trace ends here, cleanly.  A failed exec takes the END back. */
		end_at = lseek(ht_rec.fd, 0, SEEK_CUR);
		uint64_t lost = __atomic_load_n(&ht_rec.lost_nomem, __ATOMIC_RELAXED) +
				__atomic_load_n(&ht_rec.lost_stopped, __ATOMIC_RELAXED);
		enc_end(&enc, nevents, lost, now_us());
		flush();
	}
	return 0;
}

void writer_unpause(void)
{
	if (end_at >= 0 && ht_rec.fd >= 0 && ftruncate(ht_rec.fd, end_at) == 0)
		lseek(ht_rec.fd, end_at, SEEK_SET);
	end_at = -1;
	pthread_mutex_unlock(&wlock);
}

void writer_lock(void)
{
	pthread_mutex_lock(&wlock);
}

void writer_unlock(void)
{
	pthread_mutex_unlock(&wlock);
}

void writer_reset_child(void)
{
	pthread_mutex_init(&wlock, NULL);
	enc.len = 0;
	enc_reset_state(&enc);
	if (written) {
		munmap(written, WRITTEN_IDS);
		written = NULL;
	}
	__atomic_store_n(&alive, 0, __ATOMIC_SEQ_CST);
	sig_snap = 0;
	fatal_sig = 0;
	fatal_done = 0;
	fatal_th = NULL;
#ifdef HT_HAVE_PYFRAMES
	pyframes_rewind_emitted();
#endif
	warn_n = 0;
	warn_lock = 0;
}

void writer_signal_snapshot(void)
{
	__atomic_store_n(&sig_snap, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&ht_rec.kick, 1, __ATOMIC_SEQ_CST);
	util_futex_wake(&ht_rec.kick);
}
