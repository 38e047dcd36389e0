/* ThreadSanitizer driver for the writer (make tsan; no LD_PRELOAD): the
 * recorder's own producer path (recorder_alloc / recorder_free /
 * recorder_snapshot, as the hooks call them) runs on waves of short-lived
 * threads while the writer thread drains their rings, registers and
 * retires their slots, and encodes the trace; then the recording ends as
 * at exit.  The trace is decoded (tests/unit/preload/decode_helper.h) and
 * must hold every event once: each block's allocation before its free,
 * each thread's events in its own order, no loss, END counting them all.
 * Exit 0 and no TSan report: clean. */
#include "decode_helper.h"
#include "lifecycle.h"
#include "recorder.h"
#include "seam.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WAVES 6
#define THREADS 4 /* per wave */
#define BLOCKS 5000 /* per thread: malloc, then free */
#define MARKS 10 /* per thread: snapshot marks */
#define MAXREC 1000000

/* Thread k's i-th block: distinct for every (k, i). */
static uint64_t block(long k, long i)
{
	return 0x10000000ull + ((uint64_t)k << 20) + (uint64_t)i * 32;
}

/* What a hook does around the recorder call. */
#define AS_HOOK(call)                           \
	do {                                    \
		ht_tls.in_hook = HOOK_REC;      \
		call;                           \
		recorder_hook_out(&ht_tls);     \
	} while (0)

static void *producer(void *arg)
{
	long k = (long)arg;
	for (long i = 0; i < BLOCKS; i++) {
		void *p = (void *)(uintptr_t)block(k, i);
		AS_HOOK(recorder_alloc(HT_KIND_MALLOC, p, (uint64_t)(k + 1), 0));
		AS_HOOK(recorder_free(p, 0));
		if (i % (BLOCKS / MARKS) == 0 && recorder_snapshot("tsan") != 0)
			abort();
	}
	/* The registry retires the slot in glibc's last destructor round,
	 * after TSan has torn the thread down (its intercepted trylock then
	 * faults): start it in the last round, so it runs in the first. */
	ht_tls.dtor_rounds = PTHREAD_DESTRUCTOR_ITERATIONS - 1;
	return NULL;
}

static int fail(const char *what)
{
	fprintf(stderr, "tsan writer: %s\n", what);
	return 1;
}

int main(void)
{
	char path[] = "/tmp/heaptrail-tsan-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return fail("cannot create a temporary file");
	unlink(path);
	config_t c;
	memset(&c, 0, sizeof(c));
	c.depth = 64;
	c.root_pid = getpid();
	seam_no_native_stacks();
	char why[128];
	if (lifecycle_start(&c, fd, 1, why, sizeof(why)) != 0)
		return fail(why);

	for (long w = 0; w < WAVES; w++) {
		pthread_t t[THREADS];
		for (long j = 0; j < THREADS; j++)
			if (pthread_create(&t[j], NULL, producer, (void *)(w * THREADS + j)))
				return fail("cannot start a thread");
		for (int j = 0; j < THREADS; j++)
			pthread_join(t[j], NULL);
	}
	lifecycle_finish();

	size_t len = 0;
	uint8_t *buf = slurp_fd(fd, &len);
	drec_t *recs = calloc(MAXREC, sizeof(*recs));
	if (!buf || !recs)
		return fail("out of memory");
	int n = decode_all(buf, len, recs, MAXREC);
	if (n <= 0)
		return fail("the trace does not decode");

	/* next[k]: thread k's next block, 2*i for its malloc, 2*i+1 for its free. */
	static long next[WAVES * THREADS];
	long events = 0, marks = 0;
	for (int i = 0; i < n; i++) {
		const drec_t *r = &recs[i];
		if (r->kind == DREC_REC + HT_REC_SNAPSHOT && r->b == HT_SNAP_API) {
			marks++;
			events++;
			continue;
		}
		if (r->kind != HT_OP_MALLOC && r->kind != HT_OP_FREE)
			continue;
		events++;
		uint64_t off = r->a - 0x10000000ull;
		long k = (long)(off >> 20), b = (long)((off & 0xfffff) / 32);
		if (r->a < 0x10000000ull || k >= WAVES * THREADS ||
		    next[k] != 2 * b + (r->kind == HT_OP_FREE))
			return fail("an event is missing, repeated or out of order");
		if (r->kind == HT_OP_MALLOC && r->b != (uint64_t)(k + 1))
			return fail("an allocation has the wrong size");
		next[k]++;
	}
	for (int k = 0; k < WAVES * THREADS; k++)
		if (next[k] != 2 * BLOCKS)
			return fail("a thread's events are missing");
	const drec_t *end = &recs[n - 1];
	long want = (long)WAVES * THREADS * (2 * BLOCKS + MARKS);
	if (marks != (long)WAVES * THREADS * MARKS || events != want)
		return fail("wrong event count");
	if (end->kind != DREC_REC + HT_REC_END || end->b != 0)
		return fail("no END record, or events were lost");
	printf("tsan writer: %d x %d threads, %ld events, in order, none lost\n", WAVES, THREADS,
	       events);
	free(recs);
	free(buf);
	return 0;
}
