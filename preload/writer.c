/* writer: see writer.h. */
#include "writer.h"

#include "common/env.h"

#include "compress.h"
#include "aggregate.h"
#include "encoder.h"
#include "heaptrail_format.h"
#include "mapmem.h"
#include "modules.h"
#include "pyframes.h"
#include "registry.h"
#include "seam.h"
#include "session.h"
#include "stacks.h"
#include "tick.h"
#include "util.h"


#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_NS (100u * 1000 * 1000) /* write out at least this often */
#define FLUSH_BYTES (256u * 1024) /* or when this much is buffered */
#define RSS_NS (10u * 1000 * 1000)
#define NAMES_NS (1000u * 1000 * 1000)
/* --aggregate: per-stack totals at least this often, snapshot or not, so
 * that a trace cut short (SIGKILL) ends at most this far back. */
#define AGG_STATE_NS (5ull * 1000 * 1000 * 1000)
#define WRITTEN_IDS ((size_t)1 << 20) /* >= stacks table ids */
#define NWARN 8
#define WARN_LEN 200
#define NGOOD 8

/* Min-heap entry: a ring by the sequence number of its first event. */
typedef struct hent {
	uint64_t seq;
	uint32_t slot;
} hent_t;

/* Everything the writer keeps.  Fields are used under `wlock` unless they
 * say otherwise. */
static struct writer {
	pthread_mutex_t wlock; /* one image's trace is written by one holder */
	enc_t enc; /* bytes not yet flushed and the decoder state */
	uint8_t *written; /* bit per stack id: STACK record written (mmap'd) */
	uint32_t mod_written; /* modules generation last written */
	uint32_t next_index; /* next trace thread index */
	uint64_t snap_index; /* next snapshot index */
	uint64_t nevents; /* events written for this image */
	uint64_t nallocs; /* allocation events written */
	uint64_t lost_seen_nomem, lost_seen_stopped, lost_seen_signal; /* already reported */
	uint64_t lost_seen_own;
	uint64_t start_mono, start_real; /* image start, ns */
	uint64_t time_written_us; /* decoder's time_us */
	uint64_t pending_time_us; /* read before the last drain's G */
	uint64_t last_flush, last_rss, last_names, next_snap; /* ns, mono */
	uint64_t last_agg_state; /* ns, mono: the last periodic AGG_STATE */
	uint64_t rss_bytes; /* last RSS sample written */
	dev_t out_dev; /* identity of the trace file, checked before writes */
	ino_t out_ino;
	int page_size;
	long ncpus; /* CPUs this process may run on (writer start) */
	off_t end_at; /* offset of an END written before an exec, -1 = none */
	/* The last NGOOD ends of whole flushes (file offset, nevents then): a
	 * trace whose writes failed ends at one of them, with END counting
	 * everything after it as lost. */
	struct {
		off_t off;
		uint64_t events;
	} good[NGOOD];
	unsigned ngood; /* flushes recorded in good[] (total, mod NGOOD) */
	int write_err; /* errno of the first failed write (0 = none): from
			* then on buffers are dropped, their events counted */
	hent_t heap[REC_MAX_THREADS]; /* drain's merge heap */
	uint32_t heap_n;
	/* Touched outside the lock (atomics). */
	int sig_snap; /* set by the snapshot signal handler */
	pthread_t thread;
	int joinable; /* an attach's thread, joined by writer_join_thread */
	/* writer_finish_fatal's request (a signal number) and the writer's
	 * answer (futex word: 1 once the trace is ended). */
	int fatal_sig;
	uint32_t fatal_done;
	/* The dying thread's slot: not waited for (the thread sits in the
	 * signal handler and commits nothing more).  Any thread, atomic. */
	rec_thread_t *fatal_th;
	/* Warnings queued by any thread for the writer (spinlock warn_lock). */
	int warn_lock;
	unsigned warn_n;
	char warns[NWARN][WARN_LEN];
} w = { .wlock = PTHREAD_MUTEX_INITIALIZER, .ncpus = 1, .end_at = -1 };

static void finish(int sig);

/* ---- output ------------------------------------------------------------ */

static void flush(void)
{
	size_t off = 0;
	if (ht_session.fd < 0) {
		w.enc.len = 0;
		return;
	}
	/* The program may have closed our descriptor and reused its number:
	 * never write trace bytes into one of its files. */
	struct stat st;
	if (fstat(ht_session.fd, &st) < 0 || st.st_dev != w.out_dev || st.st_ino != w.out_ino) {
		w.enc.len = 0;
		ht_session.fd = -1;
		session_stop("the program closed the trace file descriptor");
		return;
	}
	if (w.write_err) {
		/* Disk full or I/O error: nothing more reaches the file; the
		 * events keep being counted (finish). */
		w.enc.len = 0;
		return;
	}
	/* Compressed: the buffer (whole records) becomes one zstd frame, so
	 * the file still ends on a whole frame at every flush boundary. */
	const uint8_t *out;
	size_t out_len;
	if (compress_frame(w.enc.buf, w.enc.len, &out, &out_len)) {
		w.enc.len = 0;
		session_stop("cannot compress the trace (zstd failed)");
		return;
	}
	while (off < out_len) {
		ssize_t n = write(ht_session.fd, out + off, out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : ENOSPC;
			/* Drop the partial buffer so the file still ends on a
			 * whole record (buffers hold whole records only). */
			off_t end = lseek(ht_session.fd, 0, SEEK_CUR);
			if (off && end >= (off_t)off && ftruncate(ht_session.fd, end - (off_t)off) == 0)
				lseek(ht_session.fd, end - (off_t)off, SEEK_SET);
			w.enc.len = 0;
			w.write_err = err;
			/* Not a stop: the hooks go on, so that finish can say
			 * how many events never reached the file (issue 20.7). */
			char msg[200];
			util_line_t l = { msg, sizeof(msg), 0 };
			util_line_str(&l, HT_MSG_WRITE_FAILED " (");
			util_line_str(&l, strerrordesc_np(err) ? strerrordesc_np(err) : "error");
			util_line_str(&l, "); the events from here on are counted as lost");
			util_say(1, msg);
			return;
		}
		off += (size_t)n;
	}
	w.enc.len = 0;
	w.last_flush = util_mono_ns();
	off_t at = lseek(ht_session.fd, 0, SEEK_CUR);
	if (at >= 0) {
		w.good[w.ngood % NGOOD].off = at;
		w.good[w.ngood % NGOOD].events = w.nevents;
		w.ngood++;
	}
}

/* Writes the bytes encoded in w.enc at the current offset; 0 when all
 * went out, else -1 (the partial bytes are the caller's to remove). */
static int write_all(void)
{
	size_t off = 0;
	const uint8_t *out;
	size_t out_len;
	if (compress_frame(w.enc.buf, w.enc.len, &out, &out_len))
		return -1;
	while (off < out_len) {
		ssize_t n = write(ht_session.fd, out + off, out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* finish() after a failed write: the trace is cut back to the end of a
 * whole flush, newest first, until the WARNING and END (or END alone)
 * fit; END counts every event after that point as lost.  The user hears
 * the count either way. */
static void end_after_failure(int sig, uint64_t lost_other, uint64_t t)
{
	uint64_t not_written = w.nevents;
	int ended = 0;
	unsigned have = w.ngood < NGOOD ? w.ngood : NGOOD;
	char msg[200];
	for (unsigned i = 0; i < have && !ended; i++) {
		unsigned k = (w.ngood - 1 - i) % NGOOD;
		not_written = w.nevents - w.good[k].events;
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, HT_MSG_WRITE_FAILED " (");
		util_line_str(&l, strerrordesc_np(w.write_err) ? strerrordesc_np(w.write_err) : "error");
		util_line_str(&l, "): ");
		util_line_u64(&l, not_written);
		util_line_str(&l, " events not written");
		for (int with_warning = 1; with_warning >= 0 && !ended; with_warning--) {
			if (ftruncate(ht_session.fd, w.good[k].off) < 0 ||
			    lseek(ht_session.fd, w.good[k].off, SEEK_SET) < 0)
				break;
			w.enc.len = 0;
			if (with_warning)
				enc_warning(&w.enc, msg);
			if (sig > 0)
				enc_signal(&w.enc, sig, t);
			enc_end(&w.enc, w.good[k].events, lost_other + not_written, t);
			ended = write_all() == 0;
		}
	}
	w.enc.len = 0;
	if (!ended) {
		/* Not even END fits: the file ends at the last whole flush. */
		if (have) {
			unsigned k = (w.ngood - 1) % NGOOD;
			not_written = w.nevents - w.good[k].events;
			if (ftruncate(ht_session.fd, w.good[k].off) == 0)
				lseek(ht_session.fd, w.good[k].off, SEEK_SET);
		}
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, HT_MSG_WRITE_FAILED " (");
		util_line_str(&l, strerrordesc_np(w.write_err) ? strerrordesc_np(w.write_err) : "error");
		util_line_str(&l, "): ");
		util_line_u64(&l, not_written);
		util_line_str(&l, " events not written");
	}
	util_say(1, msg);
}

static uint64_t now_us(void)
{
	return (util_mono_ns() - w.start_mono) / 1000;
}

/* ---- records ------------------------------------------------------------ */

/* The target of the symbolic link path (/proc/self/exe) as a string. */
static void put_link_str(const char *path)
{
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		n = 0;
	enc_put_str(&w.enc, buf, (size_t)n);
}

/* argv from /proc/self/cmdline, read with open/read into an mmap. */
static void put_argv(void)
{
	/* 64 KiB first, up to 4 MiB (> ARG_MAX) for a command line that
	 * filled it: the usual one costs little address space. */
	size_t cap = 64u << 10;
	char *b;
	long len;
	for (;;) {
		b = mapmem_map(cap, MAPMEM_WRITER, 1);
		if (!b) {
			enc_put_varint(&w.enc, 0);
			return;
		}
		len = util_read_file("/proc/self/cmdline", b, cap);
		if (len < (long)cap - 1 || cap >= (4u << 20))
			break;
		mapmem_unmap(b, cap, MAPMEM_WRITER);
		cap *= 4;
	}
	if (len < 0)
		len = 0;
	uint64_t argc = 0;
	for (long i = 0; i < len; i++)
		argc += b[i] == 0;
	if (len > 0 && b[len - 1] != 0)
		argc++;
	enc_put_varint(&w.enc, argc);
	long s = 0;
	for (long i = 0; i <= len && argc; i++) {
		if (i == len || b[i] == 0) {
			if (i == len && s == len)
				break;
			enc_put_str(&w.enc, b + s, (size_t)(i - s));
			s = i + 1;
		}
	}
	mapmem_unmap(b, cap, MAPMEM_WRITER);
}

static void put_process(void)
{
	size_t m = enc_rec_begin(&w.enc, HT_REC_PROCESS);
	enc_put_varint(&w.enc, (uint64_t)getpid());
	enc_put_varint(&w.enc, (uint64_t)getppid());
	enc_put_varint(&w.enc, w.start_real);
	enc_put_varint(&w.enc, (uint64_t)w.page_size);
	enc_put_str(&w.enc, HEAPTRAIL_VERSION, strlen(HEAPTRAIL_VERSION));
	put_link_str("/proc/self/exe");
	put_argv();
	enc_put_varint(&w.enc, ht_session.cfg.proc_flags);
	enc_rec_end(&w.enc, m);
	enc_reset_state(&w.enc);
	m = enc_rec_begin(&w.enc, HT_REC_CLOCK);
	enc_put_varint(&w.enc, tick_resolution_ns());
	enc_rec_end(&w.enc, m);
	if (ht_session.attached)
		enc_attach(&w.enc, ht_session.attach_proc_start_ns, ht_session.attach_by);
}

/* A TIME op that brings the trace's clock up to pending_time_us: read
 * before the last cycle's G, it stays a lower bound for every event still
 * to be drained. */
static void catch_up_time(void)
{
	if (w.pending_time_us > w.time_written_us) {
		enc_time(&w.enc, w.pending_time_us - w.time_written_us);
		w.time_written_us = w.pending_time_us;
	}
}

/* Dates a program's snapshot mark by its own clock reading (mono ns,
 * taken in recorder_snapshot): a TIME op brings the trace's clock up to
 * it.  Without it every mark of one writer cycle would read that cycle's
 * time.  The trace clock never goes back: a reading older than what was
 * written (an event of the same drain already dated later) changes
 * nothing. */
static void mark_time(uint64_t mono_ns)
{
	uint64_t us = mono_ns > w.start_mono ? (mono_ns - w.start_mono) / 1000 : 0;
	if (us > w.time_written_us) {
		enc_time(&w.enc, us - w.time_written_us);
		w.time_written_us = us;
	}
}

/* An RSS sample, written only when it changed (an idle program would
 * otherwise grow its trace by 100 records a second) or when `force`.  A
 * TIME op first brings the trace's clock up to the last writer cycle: while
 * no events flow the last TIME can be old, and the sample would be dated
 * by it. */
static void put_rss(int force)
{
	char buf[128];
	if (util_read_file("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return;
	const char *p = buf;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	uint64_t bytes = pages * (uint64_t)w.page_size;
	if (!force && bytes == w.rss_bytes)
		return;
	w.rss_bytes = bytes;
	catch_up_time();
	enc_rss(&w.enc, bytes);
}

/* Every event counted lost so far (the END record's count). */
static uint64_t lost_total(void)
{
	return __atomic_load_n(&ht_session.lost_nomem, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ht_session.lost_stopped, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ht_session.lost_signal, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ht_session.lost_own_alloc, __ATOMIC_RELAXED);
}

static void put_lost(void)
{
	uint64_t a = __atomic_load_n(&ht_session.lost_nomem, __ATOMIC_RELAXED);
	uint64_t b = __atomic_load_n(&ht_session.lost_stopped, __ATOMIC_RELAXED);
	uint64_t c = __atomic_load_n(&ht_session.lost_signal, __ATOMIC_RELAXED);
	if (c != w.lost_seen_signal)
		enc_lost(&w.enc, c - w.lost_seen_signal, HT_LOST_SIGNAL);
	w.lost_seen_signal = c;
	if (a != w.lost_seen_nomem)
		enc_lost(&w.enc, a - w.lost_seen_nomem, HT_LOST_NO_MEMORY);
	if (b != w.lost_seen_stopped)
		enc_lost(&w.enc, b - w.lost_seen_stopped, HT_LOST_STOPPED);
	w.lost_seen_nomem = a;
	w.lost_seen_stopped = b;
	uint64_t d = __atomic_load_n(&ht_session.lost_own_alloc, __ATOMIC_RELAXED);
	if (d != w.lost_seen_own)
		enc_lost(&w.enc, d - w.lost_seen_own, HT_LOST_OWN_ALLOCATOR);
	w.lost_seen_own = d;
}

static void wlock_spin(void)
{
	while (__atomic_exchange_n(&w.warn_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

void writer_warn(const char *text)
{
	util_say(0, text);
	writer_note(text);
}

void writer_note(const char *text)
{
	wlock_spin();
	if (w.warn_n < NWARN) {
		strncpy(w.warns[w.warn_n], text, WARN_LEN - 1);
		w.warns[w.warn_n][WARN_LEN - 1] = 0;
		w.warn_n++;
	}
	__atomic_store_n(&w.warn_lock, 0, __ATOMIC_RELEASE);
}

static void put_warnings(void)
{
	wlock_spin();
	for (unsigned i = 0; i < w.warn_n; i++)
		enc_warning(&w.enc, w.warns[i]);
	w.warn_n = 0;
	__atomic_store_n(&w.warn_lock, 0, __ATOMIC_RELEASE);
}

static void put_pycode(void *ctx, uint32_t id, const char *file, const char *func,
		       uint32_t firstline)
{
	(void)ctx;
	size_t m = enc_rec_begin(&w.enc, HT_REC_PYCODE);
	enc_put_varint(&w.enc, id);
	enc_put_str(&w.enc, file, strlen(file));
	enc_put_str(&w.enc, func, strlen(func));
	enc_put_varint(&w.enc, firstline);
	enc_rec_end(&w.enc, m);
}

static void put_py_warnings(int at_exit)
{
	char buf[WARN_LEN];
	size_t n;
	while ((n = pyframes_take_warning(buf, sizeof(buf), at_exit)) > 0) {
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		buf[n] = 0;
		enc_warning(&w.enc, buf);
		at_exit = 0;
	}
}

/* ---- draining ------------------------------------------------------------ */

/* The last index given to each tid (direct-mapped: a collision only costs
 * the rare re-registered thread its old index). */
#define TID_MAP 8192
static struct {
	int tid;
	uint32_t index;
} tid_map[TID_MAP];

static void announce(rec_thread_t *th)
{
	if (HT_LIKELY(th->index != REC_NO_INDEX && th->name_sent == th->name_gen))
		return;
	if (th->index == REC_NO_INDEX) {
		/* One index per OS thread: a thread that allocates after giving
		 * its slot up (Python's thread-state teardown does) keeps its
		 * index (issue 20.6: 61 threads for 33). */
		unsigned h = (unsigned)th->tid % TID_MAP;
		if (th->again && tid_map[h].tid == th->tid && tid_map[h].index != REC_NO_INDEX) {
			th->index = tid_map[h].index;
		} else {
			th->index = w.next_index++;
			tid_map[h].tid = th->tid;
			tid_map[h].index = th->index;
		}
	}
	char name[16];
	uint32_t gen;
	registry_thread_name(th, name, &gen);
	enc_thread_rec(&w.enc, th->index, (uint64_t)th->tid, name);
	th->name_sent = gen;
}

/* ensure_stack's slow path: id's STACK record, after the MODULES and
 * PYCODE records it needs. */
static __attribute__((noinline)) void write_stack(uint32_t id)
{
	const stack_entry_t *s = stacks_get(id);
	if (!s)
		return;
	if (modules_gen() != w.mod_written && modules_trylock() == 0) {
		size_t len;
		uint32_t g;
		const uint8_t *body = modules_body(&len, &g);
		if (body && g != w.mod_written) {
			size_t m = enc_rec_begin(&w.enc, HT_REC_MODULES);
			enc_put_bytes(&w.enc, body, len);
			enc_rec_end(&w.enc, m);
			w.mod_written = g;
		}
		modules_unlock();
	}
	/* Every code id a capture returned is delivered by the next call,
	 * so its PYCODE precedes this STACK. */
	if (s->m)
		pyframes_emit_new(put_pycode, NULL);
	enc_stack(&w.enc, s->id, s->flags, s->w, s->n, s->w + s->n, s->m);
	if (id < WRITTEN_IDS)
		w.written[id >> 3] |= (uint8_t)(1u << (id & 7));
}

/* Writes stack id's STACK record unless the trace has it.  Inline: every
 * allocation and every free with a site asks, and nearly all were
 * written before. */
static inline void ensure_stack(uint32_t id)
{
	if (HT_LIKELY(id < WRITTEN_IDS && (w.written[id >> 3] >> (id & 7) & 1)))
		return;
	write_stack(id);
}

/* What one drain encoded, counted in a local: w's fields are reloaded and
 * stored around every call into the encoder (w's address escapes), a
 * local stays in registers. */
typedef struct counts {
	uint64_t events, allocs;
} counts_t;

/* Encodes the event at tail+k of th's ring into n; returns slots consumed. */
static inline __attribute__((always_inline)) uint64_t
encode(rec_thread_t *th, ring_t *r, uint64_t k, counts_t *n)
{
	ring_event_t *e = ring_peek(r, k);
	/* A stamped event first brings the trace's clock up to its stamp. */
	uint64_t st = e->flags & RING_F_STAMP;
	if (st)
		mark_time(tick_to_mono_ns(ring_peek(r, k + 1)->seq));
	switch (e->type) {
	case RING_EV_FREE:
		announce(th);
		if (e->stack)
			ensure_stack(e->stack);
		enc_thread(&w.enc, th->index);
		enc_free_site(&w.enc, e->stack);
		enc_free_op(&w.enc, e->addr);
		n->events++;
		return 1 + st;
	case RING_EV_ALLOC:
		announce(th);
		ensure_stack(e->stack);
		enc_thread(&w.enc, th->index);
		enc_alloc(&w.enc, e->kind, e->addr, e->size, e->stack, e->aux);
		n->events++;
		n->allocs++;
		return 1 + st;
	case RING_EV_REALLOC:
		announce(th);
		ensure_stack(e->stack);
		enc_thread(&w.enc, th->index);
		enc_realloc(&w.enc, e->addr, e->aux, e->size, e->stack);
		n->events++;
		n->allocs++;
		return 1 + st;
	case RING_EV_SNAPSHOT: {
		char label[256];
		size_t len = e->size < 255 ? e->size : 255;
		uint64_t slots = RING_LABEL_SLOTS(len);
		for (uint64_t i = 0; i < slots; i++) {
			size_t off = i * sizeof(ring_event_t);
			size_t chunk = len - off < sizeof(ring_event_t) ? len - off : sizeof(ring_event_t);
			memcpy(label + off, ring_peek(r, k + 1 + i), chunk);
		}
		mark_time(e->addr);
		enc_snapshot(&w.enc, w.snap_index++, e->kind, label, len);
		return 1 + slots;
	}
	default:
		return 1;
	}
}

/* encode() for `record --aggregate`: the events go into the writer's
 * heap model (aggregate.h), not the trace; stamps move its clock, not the
 * trace's; snapshots write the per-stack totals before the mark. */
static __attribute__((noinline)) uint64_t
encode_agg(rec_thread_t *th, ring_t *r, uint64_t k, counts_t *n)
{
	ring_event_t *e = ring_peek(r, k);
	uint64_t st = e->flags & RING_F_STAMP;
	if (st) {
		uint64_t ns = tick_to_mono_ns(ring_peek(r, k + 1)->seq);
		aggregate_clock(ns > w.start_mono ? (ns - w.start_mono) / 1000 : 0);
	}
	int rc = 0;
	switch (e->type) {
	case RING_EV_FREE:
		announce(th);
		aggregate_free(e->addr);
		n->events++;
		break;
	case RING_EV_ALLOC:
		announce(th);
		ensure_stack(e->stack);
		rc = aggregate_alloc(e->addr, e->size, e->stack, e->kind);
		n->events++;
		n->allocs++;
		break;
	case RING_EV_REALLOC:
		announce(th);
		ensure_stack(e->stack);
		rc = aggregate_realloc(e->addr, e->aux, e->size, e->stack);
		n->events++;
		n->allocs++;
		break;
	case RING_EV_SNAPSHOT:
		mark_time(e->addr);
		if (e->kind == HT_SNAP_PY_MAIN)
			aggregate_move_startup();
		aggregate_put_state(&w.enc, 0);
		return encode(th, r, k, n);
	default:
		return 1;
	}
	if (HT_UNLIKELY(rc < 0))
		session_stop("out of memory for the --aggregate heap model");
	return 1 + st;
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
static void heap_push(uint64_t seq, uint32_t slot)
{
	uint32_t i = w.heap_n++;
	while (i) {
		uint32_t p = (i - 1) / 2;
		if (w.heap[p].seq <= seq)
			break;
		w.heap[i] = w.heap[p];
		i = p;
	}
	w.heap[i].seq = seq;
	w.heap[i].slot = slot;
}

static hent_t heap_pop(void)
{
	hent_t top = w.heap[0], last = w.heap[--w.heap_n];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= w.heap_n)
			break;
		if (c + 1 < w.heap_n && w.heap[c + 1].seq < w.heap[c].seq)
			c++;
		if (last.seq <= w.heap[c].seq)
			break;
		w.heap[i] = w.heap[c];
		i = c;
	}
	if (w.heap_n)
		w.heap[i] = last;
	return top;
}

/* Drains every event numbered below G in sequence order.  Returns the
 * number of ring slots consumed. */
static uint64_t drain(uint64_t G, int final)
{
	uint32_t n = __atomic_load_n(&ht_reg.nthreads, __ATOMIC_SEQ_CST);
	rec_thread_t *self = ht_tls.th;
	/* Rings replaced by larger ones (recorder.c): the last drain that
	 * could have used them is over, and this one reads th->ring afresh
	 * (acquire, after the retired pointer: the new ring). */
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		if (HT_UNLIKELY(__atomic_load_n(&th->retired, __ATOMIC_RELAXED) != NULL))
			ring_destroy(__atomic_exchange_n(&th->retired, NULL, __ATOMIC_ACQ_REL));
	}
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		ring_t *r = __atomic_load_n(&th->ring, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&th->state, __ATOMIC_SEQ_CST) == SLOT_FREE || !r)
			continue;
		if (th != self && th != __atomic_load_n(&w.fatal_th, __ATOMIC_ACQUIRE))
			wait_committed(r, final);
	}
	w.heap_n = 0;
	long live = 0;
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		int state = __atomic_load_n(&th->state, __ATOMIC_SEQ_CST);
		if (state == SLOT_FREE || !__atomic_load_n(&th->ring, __ATOMIC_ACQUIRE))
			continue;
		live += state == SLOT_LIVE;
		ring_t *r = __atomic_load_n(&th->ring, __ATOMIC_ACQUIRE);
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
	int light = live >= w.ncpus && !final;
	w.enc.light = light;
	/* Aggregated: no TIME op per cycle, only before what is dated. */
	if (w.heap_n && !ht_session.cfg.aggregate)
		catch_up_time();
	int agg = ht_session.cfg.aggregate;
	uint64_t total = 0;
	counts_t done = { 0, 0 };
	while (w.heap_n) {
		hent_t h = heap_pop();
		rec_thread_t *th = &ht_reg.threads[h.slot];
		ring_t *r = __atomic_load_n(&th->ring, __ATOMIC_ACQUIRE);
		uint64_t limit = w.heap_n && w.heap[0].seq < G ? w.heap[0].seq : G;
		uint64_t avail = ring_pending(r), k = 0;
		while (k < avail && ring_peek(r, k)->seq < limit) {
			/* The encoder's table of live blocks misses the cache
			 * on almost every lookup: start the one 8 events on
			 * (not while light: the table is not used then). */
			if (HT_UNLIKELY(agg)) {
				k += encode_agg(th, r, k, &done);
				continue;
			}
			if (!light && k + 8 < avail)
				addrmap_prefetch(&w.enc.live, ring_peek(r, k + 8)->addr);
			k += encode(th, r, k, &done);
		}
		ring_release(r, k);
		total += k;
		if (k < avail && ring_peek(r, 0)->seq < G)
			heap_push(ring_peek(r, 0)->seq, h.slot);
		if (w.enc.len >= FLUSH_BYTES)
			flush();
	}
	w.nevents += done.events;
	w.nallocs += done.allocs;
	/* Slots of exited threads go back to the pool once empty. */
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		if (__atomic_load_n(&th->state, __ATOMIC_SEQ_CST) == SLOT_DEAD &&
		    !ring_pending(th->ring) && !__atomic_load_n(&th->ring->busy, __ATOMIC_SEQ_CST))
			registry_slot_free(th);
	}
	return total;
}

/* One writer cycle: optional writer-side snapshot (it takes its own
 * sequence number, so it sits after every event numbered below it). */
static uint64_t cycle(int final, int origin, const char *label)
{
	tick_calibrate();
	uint64_t t = now_us();
	uint64_t G;
	if (origin >= 0)
		G = __atomic_fetch_add(&ht_session.seq, 1, __ATOMIC_SEQ_CST);
	else
		G = __atomic_load_n(&ht_session.seq, __ATOMIC_SEQ_CST);
	uint64_t n = drain(G, final);
	if (origin >= 0) {
		/* Dated by this cycle's clock reading, taken before G: every
		 * event after the mark has a larger sequence number, so it came
		 * later still. */
		w.pending_time_us = t;
		catch_up_time();
		if (ht_session.cfg.aggregate)
			aggregate_put_state(&w.enc, 0);
		enc_snapshot(&w.enc, w.snap_index++, (unsigned)origin, label, strlen(label));
	}
	w.pending_time_us = t;
	return n;
}

static void housekeeping(uint64_t now, int force)
{
	if (force || now - w.last_names >= NAMES_NS) {
		registry_refresh_names();
		w.last_names = now;
	}
	if (force || now - w.last_rss >= RSS_NS) {
		put_rss(force);
		if (ht_session.cfg.aggregate && aggregate_heap_changed()) {
			catch_up_time();
			aggregate_put_heap(&w.enc);
		}
		if (ht_session.cfg.aggregate && now - w.last_agg_state >= AGG_STATE_NS) {
			aggregate_put_state(&w.enc, 0);
			w.last_agg_state = now;
		}
		w.last_rss = now;
	}
	put_lost();
	put_warnings();
	put_py_warnings(0);
	if (force || w.enc.len >= FLUSH_BYTES || now - w.last_flush >= FLUSH_NS)
		flush();
}

/* ---- thread ------------------------------------------------------------- */

static void *writer_main(void *arg)
{
	(void)arg;
	ht_tls.in_hook = HOOK_QUIET; /* never record our own allocations */
	for (;;) {
		int sig = __atomic_load_n(&w.fatal_sig, __ATOMIC_SEQ_CST);
		if (sig) {
			finish(sig);
			__atomic_store_n(&w.fatal_done, 1, __ATOMIC_SEQ_CST);
			util_futex_wake(&w.fatal_done);
			break;
		}
		pthread_mutex_lock(&w.wlock);
		if (!session_active()) {
			pthread_mutex_unlock(&w.wlock);
			break;
		}
		uint64_t now = util_mono_ns();
		int origin = -1;
		const char *label = "";
		if (__atomic_exchange_n(&w.sig_snap, 0, __ATOMIC_SEQ_CST)) {
			origin = HT_SNAP_SIGNAL;
			label = "signal";
		} else if (ht_session.cfg.snap_every_ns && now >= w.next_snap) {
			origin = HT_SNAP_TIMER;
			label = "timer";
			w.next_snap = now + ht_session.cfg.snap_every_ns;
		}
		uint64_t n = cycle(0, origin, label);
		housekeeping(now, 0);
		pthread_mutex_unlock(&w.wlock);
		uint32_t k = __atomic_load_n(&ht_session.kick, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ht_session.writer_sleeping, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&w.sig_snap, __ATOMIC_SEQ_CST) &&
		    !__atomic_load_n(&w.fatal_sig, __ATOMIC_SEQ_CST) &&
		    __atomic_load_n(&ht_session.state, __ATOMIC_SEQ_CST) == REC_ON)
			util_futex_wait(&ht_session.kick, k, n ? 1000000u : 10000000u);
		__atomic_store_n(&ht_session.writer_sleeping, 0, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&ht_session.writer_alive, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The writer's own stack: small (it keeps no big frames), mapped by us so
 * that it is counted and sized, not the 8 MiB RLIMIT_STACK default that an
 * address-space limit would then take from the program.  Mapped once; a
 * fork child reuses it (the parent's writer does not run there). */
#ifdef __SANITIZE_THREAD__
#define WRITER_STACK (2u << 20) /* ThreadSanitizer asks for ~900 KiB of its own */
#else
#define WRITER_STACK (256u << 10)
#endif
void seam_writer_hold(int hold)
{
	if (hold)
		pthread_mutex_lock(&w.wlock);
	else
		pthread_mutex_unlock(&w.wlock);
}

#define WRITER_GUARD 4096u
static void *writer_stack;

int writer_start_thread(void)
{
	if (!writer_stack) {
		writer_stack = mapmem_map(WRITER_GUARD + WRITER_STACK, MAPMEM_WRITER, 0);
		if (!writer_stack)
			return -ENOMEM;
		mprotect(writer_stack, WRITER_GUARD, PROT_NONE);
	}
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setstack(&attr, (char *)writer_stack + WRITER_GUARD, WRITER_STACK);
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	w.ncpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
	sigset_t all, old;
	sigfillset(&all);
	/* The thread inherits a fully blocked mask from birth. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	__atomic_store_n(&ht_session.writer_alive, 1, __ATOMIC_SEQ_CST);
	int err = pthread_create(&w.thread, &attr, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		__atomic_store_n(&ht_session.writer_alive, 0, __ATOMIC_SEQ_CST);
		return -err;
	}
	/* An attach joins it at the detach: no thread of ours is left. */
	if (ht_session.attached)
		w.joinable = 1;
	else
		pthread_detach(w.thread);
	return 0;
}

int writer_begin(int fresh)
{
	w.page_size = (int)sysconf(_SC_PAGESIZE);
	if (!w.enc.buf && enc_init(&w.enc, 512u << 10))
		return -ENOMEM;
	if (!w.written) {
		w.written = mapmem_map(WRITTEN_IDS / 8, MAPMEM_WRITER, 0);
		if (!w.written)
			return -ENOMEM;
	}
	struct stat st;
	if (ht_session.fd >= 0 && fstat(ht_session.fd, &st) == 0) {
		w.out_dev = st.st_dev;
		w.out_ino = st.st_ino;
	}
	w.start_mono = util_mono_ns();
	w.start_real = util_real_ns();
	w.time_written_us = w.pending_time_us = 0;
	w.last_flush = w.last_rss = w.last_names = w.last_agg_state = w.start_mono;
	w.next_snap = w.start_mono + ht_session.cfg.snap_every_ns;
	w.next_index = 0;
	memset(tid_map, 0, sizeof(tid_map));
	w.ngood = 0;
	w.write_err = 0;
	w.snap_index = w.nevents = w.nallocs = 0;
	w.mod_written = 0;
	w.lost_seen_nomem = w.lost_seen_stopped = w.lost_seen_signal = 0;
	/* An image appending after an exec keeps the file's framing (its
	 * first bytes tell, when the descriptor is readable). */
	int z = fresh || ht_session.fd < 0 ? -1 : compress_file_is_zstd(ht_session.fd);
	if (compress_begin(z >= 0 ? z : ht_session.cfg.compress) < 0) {
		/* Plain records after zstd frames would be unreadable. */
		if (z == 1)
			return -ENOENT;
		util_say(1, "cannot load libzstd.so.1 for --compress; the trace is written uncompressed");
	}
	if (ht_session.cfg.aggregate && aggregate_begin() < 0)
		return -ENOMEM;
	w.lost_seen_own = 0;
	if (fresh)
		enc_header(&w.enc);
	put_process();
	if (ht_session.cfg.aggregate)
		aggregate_put_mark(&w.enc);
	flush();
	return 0;
}

static int lock_for_end(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	return pthread_mutex_timedlock(&w.wlock, &ts);
}

/* The end of the image: final drain, exit snapshot, SIGNAL (sig > 0: the
 * image is dying of that signal) and END; sig < 0: a detach (DETACH, the
 * snapshot "detach"), the process runs on. */
static void finish(int sig)
{
	if (lock_for_end())
		return;
	if (!session_active()) {
		pthread_mutex_unlock(&w.wlock);
		return;
	}
	registry_refresh_names();
	if (sig < 0)
		cycle(1, HT_SNAP_EXIT, "detach");
	else
		cycle(1, HT_SNAP_EXIT, "exit");
	/* Threads renamed late are re-announced before the end. */
	uint32_t n = __atomic_load_n(&ht_reg.nthreads, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		if (th->state != SLOT_FREE && th->index != REC_NO_INDEX)
			announce(th);
	}
	/* In the trace only, not on stderr: a program that allocates nothing
	 * (true, a followed fork child) is normal, and a line on its stderr
	 * would change its output.  The cases that do hide allocations say so
	 * themselves: a static program never loads us (heaptrail record
	 * reports that), a malloc of the program's own is reported at start. */
	if (w.nallocs == 0 && !ht_session.own_malloc &&
	    !(ht_session.cfg.proc_flags & HT_PROC_FOLLOWED_FORK))
		/* `true` allocates nothing at all: not a hidden allocator
		 * (issue 20.8).  Only calls while recording was off (before
		 * it started): an allocator of the program's own may be
		 * doing the rest. */
		enc_warning(&w.enc, ht_session.unrecorded_calls ?
				  "no allocations were recorded, only some before recording "
				  "started: the program may use its own allocator, which "
				  "LD_PRELOAD cannot see" :
				  "no allocations were recorded: the program made no call to "
				  "malloc or its family");
	put_rss(1);
	put_lost();
	put_warnings();
	put_py_warnings(1);
	uint64_t lost = lost_total();
	uint64_t t = now_us();
	if (w.write_err) {
		end_after_failure(sig, lost, t);
		session_end();
		pthread_mutex_unlock(&w.wlock);
		session_kick();
		return;
	}
	/* Compressed, the end gets a frame of its own: `heaptrail record`
	 * finds END by inflating only the file's last few hundred bytes. */
	if (ht_session.cfg.aggregate)
		aggregate_put_state(&w.enc, 1);
	if (compress_on())
		flush();
	if (sig > 0)
		enc_signal(&w.enc, sig, t);
	if (sig < 0)
		enc_detach(&w.enc, t);
	enc_memory(&w.enc, mapmem_peak(), mapmem_now());
	enc_end(&w.enc, w.nevents, lost, t);
	flush();
	const char *stats = getenv("HEAPTRAIL_WRITERSTATS");
	if (stats && *stats)
		compress_write_stats(stats, writer_cpu_ns());
	session_end();
	pthread_mutex_unlock(&w.wlock);
	session_kick();
}

uint64_t writer_cpu_ns(void)
{
	clockid_t c;
	struct timespec t;
	if (!__atomic_load_n(&ht_session.writer_alive, __ATOMIC_SEQ_CST) ||
	    pthread_getcpuclockid(w.thread, &c) != 0 || clock_gettime(c, &t) != 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void writer_finish(void)
{
	finish(0);
}

void writer_finish_detach(void)
{
	finish(-1);
}

int writer_join_thread(void)
{
	if (!w.joinable)
		return -1;
	w.joinable = 0;
	session_kick();
	return pthread_join(w.thread, NULL) == 0 ? 0 : -1;
}

/* The longest a crashing thread waits for the writer to end the trace. */
#define FATAL_WAIT_NS (3ull * 1000000000ull)

int writer_finish_fatal(int sig)
{
	if (!__atomic_load_n(&ht_session.writer_alive, __ATOMIC_SEQ_CST) || pthread_equal(pthread_self(), w.thread))
		return -1;
	rec_thread_t *th = ht_tls.th;
	/* The signal came in the middle of one of this thread's events: it
	 * holds a number that will never be committed. */
	if (th && th->ring && __atomic_load_n(&th->ring->busy, __ATOMIC_SEQ_CST))
		__atomic_fetch_add(&ht_session.lost_stopped, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&w.fatal_th, th, __ATOMIC_RELEASE);
	__atomic_store_n(&w.fatal_sig, sig, __ATOMIC_SEQ_CST);
	session_kick();
	uint64_t deadline = util_mono_ns() + FATAL_WAIT_NS;
	while (!__atomic_load_n(&w.fatal_done, __ATOMIC_SEQ_CST)) {
		uint64_t now = util_mono_ns();
		if (now >= deadline || !__atomic_load_n(&ht_session.writer_alive, __ATOMIC_SEQ_CST))
			break;
		util_futex_wait(&w.fatal_done, 0, deadline - now);
	}
	return __atomic_load_n(&w.fatal_done, __ATOMIC_SEQ_CST) ? 0 : -1;
}

int writer_pause_for_exec(const char *path, int untraced_next)
{
	if (lock_for_end())
		return -1;
	if (!session_active()) {
		pthread_mutex_unlock(&w.wlock);
		return -1;
	}
	cycle(1, -1, "");
	put_lost();
	put_warnings();
	if (ht_session.cfg.aggregate)
		aggregate_put_state(&w.enc, 1);
	enc_exec(&w.enc, path ? path : "");
	flush();
	w.end_at = -1;
	if (untraced_next && ht_session.fd >= 0 && (ht_session.on || ht_session.family_off)) {
		/* No recorder in the next image: this one is the last, so the
		 * trace ends here, cleanly.  A failed exec takes the END back. */
		w.end_at = lseek(ht_session.fd, 0, SEEK_CUR);
		uint64_t lost = lost_total();
		enc_memory(&w.enc, mapmem_peak(), mapmem_now());
		enc_end(&w.enc, w.nevents, lost, now_us());
		flush();
	}
	return 0;
}

void writer_unpause(void)
{
	if (w.end_at >= 0 && ht_session.fd >= 0 && ftruncate(ht_session.fd, w.end_at) == 0)
		lseek(ht_session.fd, w.end_at, SEEK_SET);
	w.end_at = -1;
	pthread_mutex_unlock(&w.wlock);
}

void writer_lock(void)
{
	pthread_mutex_lock(&w.wlock);
}

void writer_unlock(void)
{
	pthread_mutex_unlock(&w.wlock);
}

void writer_reset_child(void)
{
	pthread_mutex_init(&w.wlock, NULL);
	w.enc.len = 0;
	enc_reset_state(&w.enc);
	if (w.written) {
		mapmem_unmap(w.written, WRITTEN_IDS / 8, MAPMEM_WRITER);
		w.written = NULL;
	}
	__atomic_store_n(&ht_session.writer_alive, 0, __ATOMIC_SEQ_CST);
	w.sig_snap = 0;
	w.fatal_sig = 0;
	w.fatal_done = 0;
	w.fatal_th = NULL;
	pyframes_rewind_emitted();
	compress_reset_child();
	w.warn_n = 0;
	w.warn_lock = 0;
}

void writer_signal_snapshot(void)
{
	__atomic_store_n(&w.sig_snap, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&ht_session.kick, 1, __ATOMIC_SEQ_CST);
	util_futex_wake(&ht_session.kick);
}
