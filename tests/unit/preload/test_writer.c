/* Writer: events recorded through the producer API come out of the trace
 * file in global order with every record the writer produces. */
#include "decode_helper.h"
#include "lifecycle.h"
#include "mapmem.h"
#include "modules.h"
#include "recorder.h"
#include "registry.h"
#include "seam.h"
#include "writer.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>

#define MAXREC 300000

static int out_fd;
static drec_t *recs;

static void start(void)
{
	char path[] = "/tmp/heaptrail-unit-XXXXXX";
	out_fd = mkstemp(path);
	cr_assert_geq(out_fd, 0);
	unlink(path);
	config_t c;
	memset(&c, 0, sizeof(c));
	c.depth = 64;
	c.root_pid = getpid();
	seam_no_native_stacks();
	char why[256];
	cr_assert_eq(lifecycle_start(&c, out_fd, 1, why, sizeof(why)), 0, "%s", why);
}

/* Finishes the recording and decodes the file; returns the record count. */
static int finish_and_decode(void)
{
	lifecycle_finish();
	size_t len = 0;
	uint8_t *buf = slurp_fd(out_fd, &len);
	cr_assert_not_null(buf);
	recs = calloc(MAXREC, sizeof(*recs));
	int n = decode_all(buf, len, recs, MAXREC);
	free(buf);
	cr_assert_gt(n, 0, "trace does not decode");
	return n;
}

static int is_event(int kind)
{
	return kind == HT_OP_FREE || kind == HT_OP_MALLOC || kind == HT_OP_REALLOC ||
	       kind == HT_OP_ALLOC || kind == DREC_REC + HT_REC_SNAPSHOT;
}

/* Copies the events (and snapshots) in file order into ev; returns count. */
static int events_only(int n, drec_t *ev)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		if (is_event(recs[i].kind))
			ev[k++] = recs[i];
	return k;
}

static void *other_thread(void *arg)
{
	(void)arg;
	recorder_alloc(HT_KIND_CALLOC, (void *)0x40000, 10, 0);
	recorder_free((void *)0x40000, 0);
	return NULL;
}

Test(writer, events_and_records_round_trip_in_order, .timeout = 20)
{
	start();
	recorder_alloc(HT_KIND_MALLOC, (void *)0x10000, 100, 0);
	recorder_alloc(HT_KIND_POSIX_MEMALIGN, (void *)0x20000, 64, 64);
	cr_assert_eq(recorder_snapshot("mid"), 0);
	recorder_realloc((void *)0x10000, (void *)0x30000, 200, 0);
	recorder_free((void *)0x20000, 0);
	pthread_t t;
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, NULL);
	recorder_free((void *)0x30000, 0);
	writer_warn("unit test warning");
	__atomic_fetch_add(&ht_session.lost_nomem, 2, __ATOMIC_RELAXED);
	int n = finish_and_decode();

	cr_assert_eq(recs[0].kind, DREC_REC + HT_REC_PROCESS);
	cr_assert_eq(recs[0].a, (uint64_t)getpid());
	drec_t ev[16];
	int k = events_only(n, ev);
	cr_assert_eq(k, 9);
	cr_assert_eq(ev[0].kind, HT_OP_MALLOC);
	cr_assert_eq(ev[0].a, 0x10000);
	cr_assert_eq(ev[0].b, 100);
	cr_assert_eq(ev[0].c, 1);
	cr_assert_eq(ev[1].kind, HT_OP_ALLOC);
	cr_assert_eq(ev[1].d, HT_KIND_POSIX_MEMALIGN);
	cr_assert_eq(ev[1].e, 64);
	cr_assert_eq(ev[2].kind, DREC_REC + HT_REC_SNAPSHOT);
	cr_assert_eq(ev[2].a, 0);
	cr_assert_eq(ev[2].b, HT_SNAP_API);
	cr_assert_str_eq(ev[2].s, "mid");
	cr_assert_eq(ev[3].kind, HT_OP_REALLOC);
	cr_assert_eq(ev[3].a, 0x10000);
	cr_assert_eq(ev[3].b, 0x30000);
	cr_assert_eq(ev[3].c, 200);
	cr_assert_eq(ev[4].kind, HT_OP_FREE);
	cr_assert_eq(ev[4].a, 0x20000);
	cr_assert_eq(ev[5].kind, HT_OP_ALLOC);
	cr_assert_eq(ev[5].d, HT_KIND_CALLOC);
	cr_assert_eq(ev[5].a, 0x40000);
	cr_assert_eq(ev[6].kind, HT_OP_FREE);
	cr_assert_eq(ev[6].a, 0x40000);
	cr_assert_eq(ev[7].kind, HT_OP_FREE);
	cr_assert_eq(ev[7].a, 0x30000);
	cr_assert_eq(ev[8].kind, DREC_REC + HT_REC_SNAPSHOT);
	cr_assert_eq(ev[8].a, 1);
	cr_assert_eq(ev[8].b, HT_SNAP_EXIT);
	cr_assert_str_eq(ev[8].s, "exit");

	/* the second thread's events are preceded by its THREAD record and a
	 * switch to index 1, then a switch back to 0 */
	int th1 = -1;
	for (int i = 0; i < n; i++)
		if (recs[i].kind == DREC_REC + HT_REC_THREAD && recs[i].a == 1)
			th1 = i;
	cr_assert_geq(th1, 0);
	int sw = find_kind(recs, n, th1, HT_OP_THREAD);
	cr_assert_eq(recs[sw].a, 1);
	cr_assert_eq(recs[sw + 1].kind, HT_OP_ALLOC);
	cr_assert_eq(recs[find_kind(recs, n, sw + 1, HT_OP_THREAD)].a, 0);

	/* one STACK (the empty stack, id 1) before its first use */
	int st = find_kind(recs, n, 0, DREC_REC + HT_REC_STACK);
	cr_assert_lt(st, find_kind(recs, n, 0, HT_OP_MALLOC));
	cr_assert_eq(recs[st].a, 1);
	cr_assert_eq(find_kind(recs, n, st + 1, DREC_REC + HT_REC_STACK), -1);

	int w = find_kind(recs, n, 0, DREC_REC + HT_REC_WARNING);
	cr_assert_geq(w, 0);
	cr_assert_str_eq(recs[w].s, "unit test warning");
	int lost = find_kind(recs, n, 0, DREC_REC + HT_REC_LOST);
	cr_assert_eq(recs[lost].a, 2);
	cr_assert_eq(recs[lost].b, HT_LOST_NO_MEMORY);
	cr_assert_geq(find_kind(recs, n, 0, DREC_REC + HT_REC_RSS), 0);
	/* MEMORY just before END: the recorder's own peak, at least the
	 * ring this thread used and no more than it holds at the peak */
	cr_assert_eq(recs[n - 2].kind, DREC_REC + HT_REC_MEMORY);
	cr_assert_geq(recs[n - 2].a, (uint64_t)REC_RING_FIRST * sizeof(ring_event_t));
	cr_assert_geq(recs[n - 2].a, recs[n - 2].b);
	cr_assert_eq(recs[n - 2].a, mapmem_peak());
	cr_assert_eq(recs[n - 1].kind, DREC_REC + HT_REC_END);
	cr_assert_eq(recs[n - 1].a, 7);
	cr_assert_eq(recs[n - 1].b, 2);
	free(recs);
}

Test(writer, modules_precede_the_first_stack, .timeout = 20)
{
	modules_refresh(1);
	start();
	recorder_alloc(HT_KIND_MALLOC, (void *)0x10000, 1, 0);
	int n = finish_and_decode();
	int m = find_kind(recs, n, 0, DREC_REC + HT_REC_MODULES);
	int s = find_kind(recs, n, 0, DREC_REC + HT_REC_STACK);
	cr_assert_geq(m, 0);
	cr_assert_lt(m, s);
	cr_assert_gt(recs[m].b, 1); /* at least the test binary and libc */
	free(recs);
}

Test(writer, exec_record_then_recording_resumes_after_a_failed_exec, .timeout = 20)
{
	start();
	recorder_alloc(HT_KIND_MALLOC, (void *)0x10000, 1, 0);
	cr_assert_eq(lifecycle_before_exec("/nonexistent", 0), 0);
	lifecycle_exec_failed();
	recorder_free((void *)0x10000, 0);
	int n = finish_and_decode();
	int x = find_kind(recs, n, 0, DREC_REC + HT_REC_EXEC);
	cr_assert_geq(x, 0);
	cr_assert_str_eq(recs[x].s, "/nonexistent");
	cr_assert_lt(find_kind(recs, n, 0, HT_OP_MALLOC), x);
	cr_assert_gt(find_kind(recs, n, 0, HT_OP_FREE), x);
	cr_assert_eq(recs[n - 1].kind, DREC_REC + HT_REC_END);
	cr_assert_eq(recs[n - 1].a, 2);
	free(recs);
}

/* Two threads hand one address back and forth: A allocates it, B frees
 * it, A allocates it again...  The file must show them alternating. */
#define PINGS 2000
static sem_t to_a, to_b;

static void *pong(void *arg)
{
	(void)arg;
	for (int i = 0; i < PINGS; i++) {
		sem_wait(&to_b);
		recorder_free((void *)0x7000, 0);
		sem_post(&to_a);
	}
	return NULL;
}

Test(writer, frees_and_reuses_across_threads_keep_their_real_order, .timeout = 30)
{
	start();
	sem_init(&to_a, 0, 1);
	sem_init(&to_b, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, pong, NULL);
	for (int i = 0; i < PINGS; i++) {
		sem_wait(&to_a);
		recorder_alloc(HT_KIND_MALLOC, (void *)0x7000, 8, 0);
		sem_post(&to_b);
	}
	pthread_join(t, NULL);
	int n = finish_and_decode();
	drec_t *ev = calloc(2 * PINGS + 8, sizeof(*ev));
	int k = events_only(n, ev);
	cr_assert_eq(k, 2 * PINGS + 1); /* + exit snapshot */
	for (int i = 0; i < 2 * PINGS; i++) {
		cr_assert_eq(ev[i].kind, i % 2 ? HT_OP_FREE : HT_OP_MALLOC, "event %d", i);
		cr_assert_eq(ev[i].a, 0x7000);
	}
	free(ev);
	free(recs);
}

static void *flood(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < 100000; i++)
		recorder_alloc(HT_KIND_MALLOC, (void *)(0x100000 + i * 16), 16, 0);
	return NULL;
}

Test(writer, full_rings_wait_for_the_writer_and_lose_nothing, .timeout = 60)
{
	start();
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, flood, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	int n = finish_and_decode();
	cr_assert_eq(recs[n - 1].kind, DREC_REC + HT_REC_END);
	cr_assert_eq(recs[n - 1].a, 200000);
	cr_assert_eq(recs[n - 1].b, 0);
	cr_assert_eq(find_kind(recs, n, 0, DREC_REC + HT_REC_LOST), -1);
	free(recs);
}

/* ---- signal handlers while a hook waits for the writer ------------------ */

#define HANDLER_SIGNALS 50
#define MAIN_ALLOCS 100000

static volatile int handled;
static volatile int handler_stop;
static rec_thread_t *volatile main_th;
static pthread_t main_thread;

/* What hooks.c does for a malloc a signal handler makes (nested_hook,
 * WAITING_RECALL): pending while a hook records, as a hook of its own
 * while one waits for the writer, direct outside hooks. */
static void handler_malloc(int sig)
{
	(void)sig;
	rec_tls_t *t = &ht_tls;
	void *p = (void *)(uintptr_t)(0x7000000 + 16 * handled);
	int st = t->in_hook;
	if (st == HOOK_REC || st == HOOK_NESTED) {
		t->in_hook = HOOK_NESTED;
		recorder_pend(RING_EV_ALLOC, HT_KIND_MALLOC, p, 0, 77, 0);
		t->in_hook = st;
	} else {
		if (st == HOOK_WAIT)
			recorder_wait_enter(t);
		t->in_hook = HOOK_REC;
		recorder_alloc(HT_KIND_MALLOC, p, 77, 0);
		recorder_hook_out(t);
		if (st == HOOK_WAIT)
			__atomic_store_n(&t->in_hook, HOOK_WAIT, __ATOMIC_RELAXED);
	}
	handled++;
}

/* Holds the writer, waits until main's first ring is full (main then
 * waits to grow it), and signals main; a handler that has not returned
 * after 200 ms waits for the writer too, which is then let go. */
static void *signal_sender(void *arg)
{
	(void)arg;
	seam_writer_hold(1);
	int held = 1;
	while (!main_th || ring_pending(__atomic_load_n(&main_th->ring, __ATOMIC_ACQUIRE)) + 2 <
				   REC_RING_FIRST)
		usleep(1000);
	usleep(20000);
	for (int i = 0; i < HANDLER_SIGNALS; i++) {
		int before = handled;
		pthread_kill(main_thread, SIGUSR1);
		for (int ms = 0; handled == before; ms++) {
			if (held && ms == 200) {
				seam_writer_hold(0);
				held = 0;
			}
			usleep(1000);
		}
	}
	if (held)
		seam_writer_hold(0);
	handler_stop = 1;
	return NULL;
}

/* Issue 14 under load: while main waited for the writer to empty its
 * ring before growing it, in_hook stayed HOOK_REC, so every handler's
 * event went to the 16-entry pending list and the rest were counted lost
 * (sigalloc: 1183 of 1200 when the writer was starved). */
Test(writer, handlers_while_a_hook_waits_for_the_writer_lose_nothing, .timeout = 60)
{
	start();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler_malloc;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	pthread_t t;
	pthread_create(&t, NULL, signal_sender, NULL);

	rec_tls_t *tls = &ht_tls;
	for (int i = 0; i < MAIN_ALLOCS && !handler_stop; i++) {
		tls->in_hook = HOOK_REC;
		recorder_alloc(HT_KIND_MALLOC, (void *)(uintptr_t)(0x1000000 + 16 * i), 24, 0);
		recorder_hook_out(tls);
		main_th = tls->th;
	}
	pthread_join(t, NULL);
	int n = finish_and_decode();

	int in_handler = 0;
	for (int i = 0; i < n; i++)
		in_handler += recs[i].kind == HT_OP_MALLOC && recs[i].b == 77;
	cr_assert_eq(handled, HANDLER_SIGNALS);
	cr_assert_eq(in_handler, HANDLER_SIGNALS);
	cr_assert_eq(find_kind(recs, n, 0, DREC_REC + HT_REC_LOST), -1);
	cr_assert_eq(recs[n - 1].kind, DREC_REC + HT_REC_END);
	cr_assert_eq(recs[n - 1].b, 0);
	signal(SIGUSR1, SIG_DFL);
	free(recs);
}

Test(writer, snapshot_is_refused_when_not_recording)
{
	cr_assert_eq(recorder_snapshot("x"), -1);
}

Test(writer, exec_into_an_untraced_image_ends_the_trace_unless_it_fails, .timeout = 20)
{
	start();
	recorder_alloc(HT_KIND_MALLOC, (void *)0x10000, 1, 0);
	/* a failed exec takes its END back and recording goes on */
	cr_assert_eq(lifecycle_before_exec("/nonexistent", 1), 0);
	lifecycle_exec_failed();
	recorder_free((void *)0x10000, 0);
	/* a successful one: EXEC, then END is the last record */
	cr_assert_eq(lifecycle_before_exec("/bin/true", 1), 0);
	size_t len = 0;
	uint8_t *buf = slurp_fd(out_fd, &len);
	cr_assert_not_null(buf);
	recs = calloc(MAXREC, sizeof(*recs));
	int n = decode_all(buf, len, recs, MAXREC);
	free(buf);
	cr_assert_gt(n, 2);
	cr_assert_eq(recs[n - 1].kind, DREC_REC + HT_REC_END);
	cr_assert_eq(recs[n - 1].a, 2);
	cr_assert_eq(recs[n - 2].kind, DREC_REC + HT_REC_MEMORY);
	cr_assert_eq(recs[n - 3].kind, DREC_REC + HT_REC_EXEC);
	cr_assert_str_eq(recs[n - 3].s, "/bin/true");
	int ends = 0;
	for (int i = 0; i < n; i++)
		ends += recs[i].kind == DREC_REC + HT_REC_END;
	cr_assert_eq(ends, 1, "the failed exec's END was not removed");
	int x = find_kind(recs, n, 0, DREC_REC + HT_REC_EXEC);
	cr_assert_str_eq(recs[x].s, "/nonexistent");
	cr_assert_lt(x, find_kind(recs, n, 0, HT_OP_FREE));
	free(recs);
}
