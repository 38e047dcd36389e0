/* Leak-candidate shapes for issue 12's rule, one per argument, each with a
 * heaptrail_snapshot() after every phase:
 *   phases   100 KiB leaked per phase (100 x 1024 B) for six phases, then
 *            nothing more before exit                       -> a candidate
 *   ring     a ring of 63 entries of 1..7 KiB, 40 inserted per phase for
 *            ten phases: full (252 KiB) after two, live at exit -> a
 *            plateau; beside it the 100 KiB leak of `phases` -> a candidate
 *   trim     100 KiB per phase for four phases, then three quarters freed,
 *            two more phases -> not one; beside it the 100 KiB leak of
 *            `phases` for all six                           -> a candidate
 *   doubling a table of 8-byte slots, 10000 inserted per phase for seven
 *            phases, doubling (malloc new, copy, free old) when full from
 *            16384 slots: 128 KiB -> 1 MiB in three steps    -> a candidate
 *   startup  as `phases`, after 60 ms of start-up (a 64 KiB table made,
 *            some churn) for timer snapshots to fall into; phases 20 ms
 *            apart                                          -> a candidate
 *   rank     the 100 KiB leak of `phases` (grows in 5 of 6 intervals, by
 *            500 KiB) and a burst leak of 200 KiB in phases 1, 3 and 5 only
 *            (3 of 6 intervals, by 600 KiB)  -> two candidates, the burst
 *            first: ranked by retained growth, not by how steady
 * Prints nothing; exits 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heaptrail.h"

static void *volatile sink;

static void nap_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void leak_phase(void)
{
	for (int i = 0; i < 100; i++) {
		void **p = malloc(1024); /* @site:leak_phase */
		p[0] = (void *)sink;
		sink = p;
	}
}

static void phases(int gap_ms)
{
	for (int p = 0; p < 6; p++) {
		leak_phase();
		void *t = malloc(5000); /* a temporary per phase */
		free(t);
		if (gap_ms)
			nap_ms(gap_ms);
		heaptrail_snapshot("phase");
	}
}

/* A multiple of the 7 entry sizes: a full ring replaces each entry with
 * one of the same size, so it stays at its bound. */
#define RING 63
static void *ring[RING];

static void ring_put(unsigned i)
{
	free(ring[i % RING]);
	ring[i % RING] = malloc(1024 * (1 + i % 7)); /* @site:ring_put */
}

static void ring_run(void)
{
	unsigned n = 0;
	for (int p = 0; p < 10; p++) {
		for (int k = 0; k < 40; k++)
			ring_put(n++);
		leak_phase();
		heaptrail_snapshot("ring");
	}
}

static void *blocks[400];

static void trim_run(void)
{
	int n = 0;
	for (int p = 0; p < 6; p++) {
		for (int k = 0; p < 4 && k < 100; k++)
			blocks[n++] = malloc(1024); /* @site:trim_grow */
		if (p == 4)
			for (int i = 100; i < 400; i++)
				free(blocks[i]);
		leak_phase();
		heaptrail_snapshot(p < 4 ? "grow" : "trimmed");
	}
}

struct table {
	uint64_t *slot;
	size_t cap, n;
};

static void table_reserve(struct table *t, size_t cap)
{
	uint64_t *s = malloc(cap * sizeof *s); /* @site:table_reserve */
	if (t->n)
		memcpy(s, t->slot, t->n * sizeof *s);
	free(t->slot);
	t->slot = s;
	t->cap = cap;
}

static void table_add(struct table *t, uint64_t v)
{
	if (t->n == t->cap)
		table_reserve(t, 2 * t->cap);
	t->slot[t->n++] = v;
}

static void doubling_run(void)
{
	static struct table t;
	table_reserve(&t, 16384);
	for (int p = 0; p < 7; p++) {
		for (int k = 0; k < 10000; k++)
			table_add(&t, (uint64_t)k * 31);
		heaptrail_snapshot("doubling");
	}
}

static void startup_run(void)
{
	void *table = malloc(64 * 1024); /* @site:startup_table */
	sink = table;
	for (int ms = 0; ms < 60; ms += 5) {
		for (int k = 0; k < 20; k++)
			free(malloc(200));
		nap_ms(5);
	}
	phases(20);
	free(table);
}

static void rank_run(void)
{
	for (int p = 0; p < 6; p++) {
		leak_phase();
		if (p % 2)
			for (int i = 0; i < 200; i++) {
				void **b = malloc(1024); /* @site:burst_leak */
				b[0] = (void *)sink;
				sink = b;
			}
		heaptrail_snapshot("phase");
	}
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "phases";
	if (!strcmp(m, "phases"))
		phases(0);
	else if (!strcmp(m, "ring"))
		ring_run();
	else if (!strcmp(m, "trim"))
		trim_run();
	else if (!strcmp(m, "doubling"))
		doubling_run();
	else if (!strcmp(m, "startup"))
		startup_run();
	else if (!strcmp(m, "rank"))
		rank_run();
	else
		return 2;
	return 0;
}
