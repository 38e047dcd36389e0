/* aggregate: the writer's heap model for --aggregate, read back from the
 * AGG_STATE / AGG_PEAK records it encodes (the analyzer's replay of the
 * same events must agree: tests/integration/test_aggregate.py). */
#include "aggregate.h"
#include "encoder.h"
#include "heaptrail_format.h"

#include <criterion/criterion.h>
#include <string.h>

static enc_t e;

static void setup(void)
{
	cr_assert_eq(enc_init(&e, 4096), 0);
	cr_assert_eq(aggregate_begin(), 0);
}

static void teardown(void)
{
	enc_free(&e);
}

TestSuite(aggregate, .init = setup, .fini = teardown);

#define MAXS 64

/* What the records say: heap totals, per-stack live, the peak. */
typedef struct seen {
	uint64_t heap_bytes, heap_blocks, allocs, frees, reallocs, unknown_frees;
	uint64_t live[MAXS], count[MAXS], nallocs[MAXS];
	uint64_t peak_bytes, peak_blocks, peak_live[MAXS], peak_count[MAXS];
	int npeak;
} seen_t;

static uint64_t v(const uint8_t **p, const uint8_t *end)
{
	uint64_t x = 0;
	cr_assert_eq(ht_get_varint(p, end, &x), 0);
	return x;
}

static void parse(seen_t *s)
{
	const uint8_t *p = e.buf, *end = e.buf + e.len;
	while (p < end) {
		uint64_t head = v(&p, end);
		cr_assert_eq(head & 7, HT_OP_RECORD);
		uint64_t type = head >> 3, len = v(&p, end);
		const uint8_t *b = p, *be = p + len;
		p += len;
		if (type == HT_REC_AGG_STATE) {
			s->heap_bytes = v(&b, be);
			s->heap_blocks = v(&b, be);
			s->allocs = v(&b, be);
			s->frees = v(&b, be);
			s->reallocs = v(&b, be);
			s->unknown_frees = v(&b, be);
			v(&b, be);
			for (uint64_t k = v(&b, be); k; k--)
				v(&b, be);
			for (uint64_t n = v(&b, be); n; n--) {
				uint64_t id = v(&b, be);
				cr_assert_lt(id, MAXS);
				s->live[id] = v(&b, be);
				s->count[id] = v(&b, be);
				s->nallocs[id] = v(&b, be);
				v(&b, be);
			}
		} else if (type == HT_REC_AGG_PEAK) {
			s->npeak++;
			s->peak_bytes = v(&b, be);
			s->peak_blocks = v(&b, be);
			v(&b, be);
			memset(s->peak_live, 0, sizeof(s->peak_live));
			memset(s->peak_count, 0, sizeof(s->peak_count));
			for (uint64_t n = v(&b, be); n; n--) {
				uint64_t id = v(&b, be);
				cr_assert_lt(id, MAXS);
				s->peak_live[id] = v(&b, be);
				s->peak_count[id] = v(&b, be);
				v(&b, be);
			}
		}
		cr_assert_eq(b, be, "record %lu: body fully read", (unsigned long)type);
	}
	e.len = 0;
}

Test(aggregate, frees_and_reallocs_move_the_totals)
{
	seen_t s = { 0 };
	aggregate_alloc(0x1000, 100, 1, HT_KIND_MALLOC);
	aggregate_alloc(0x2000, 200, 2, HT_KIND_MALLOC);
	aggregate_realloc(0x1000, 0x3000, 300, 3);
	aggregate_free(0x2000);
	aggregate_free(0x9999); /* unknown: counted, ignored */
	aggregate_put_state(&e, 1);
	parse(&s);

	cr_assert_eq(s.heap_bytes, 300);
	cr_assert_eq(s.heap_blocks, 1);
	cr_assert_eq(s.allocs, 2);
	cr_assert_eq(s.reallocs, 1);
	cr_assert_eq(s.frees, 2);
	cr_assert_eq(s.unknown_frees, 1);
	cr_assert_eq(s.live[1], 0);
	cr_assert_eq(s.live[2], 0);
	cr_assert_eq(s.live[3], 300);
	cr_assert_eq(s.nallocs[3], 1, "a realloc allocates at its stack");
	/* The peak: the realloc frees its 100 bytes first, then allocates
	 * 300: 200 + 300 = 500, before the free of stack 2's block. */
	cr_assert_eq(s.peak_bytes, 500);
	cr_assert_eq(s.peak_live[2], 200);
	cr_assert_eq(s.peak_live[3], 300);
	cr_assert_eq(s.peak_live[1], 0);
}

Test(aggregate, the_peak_is_the_first_highest_moment)
{
	seen_t s = { 0 };
	aggregate_alloc(0x1000, 1000, 1, HT_KIND_MALLOC);
	aggregate_free(0x1000);
	aggregate_alloc(0x2000, 600, 2, HT_KIND_MALLOC);
	aggregate_alloc(0x3000, 400, 3, HT_KIND_MALLOC); /* 1000 again: not higher */
	aggregate_put_state(&e, 1);
	parse(&s);

	cr_assert_eq(s.peak_bytes, 1000);
	cr_assert_eq(s.peak_blocks, 1);
	cr_assert_eq(s.peak_live[1], 1000);
	cr_assert_eq(s.peak_live[2], 0);
	cr_assert_eq(s.peak_live[3], 0);
}

Test(aggregate, a_state_names_only_the_stacks_changed_since_the_last)
{
	seen_t s = { 0 };
	aggregate_alloc(0x1000, 10, 1, HT_KIND_MALLOC);
	aggregate_alloc(0x2000, 20, 2, HT_KIND_MALLOC);
	aggregate_put_state(&e, 0);
	parse(&s);
	cr_assert_eq(s.npeak, 1, "the peak rose: written");
	aggregate_free(0x1000);
	aggregate_put_state(&e, 0);
	seen_t t = { 0 };
	parse(&t);
	cr_assert_eq(t.npeak, 0, "the peak did not rise: not written");
	cr_assert_eq(t.count[1], 0);
	cr_assert_eq(t.nallocs[1], 1, "stack 1 is named: it changed");
	cr_assert_eq(t.nallocs[2], 0, "stack 2 is not: unchanged");
	cr_assert_eq(t.heap_bytes, 20);
}

Test(aggregate, an_allocation_on_a_live_address_frees_the_stale_block)
{
	seen_t s = { 0 };
	aggregate_alloc(0x1000, 10, 1, HT_KIND_MALLOC);
	aggregate_alloc(0x1000, 30, 2, HT_KIND_MALLOC);
	aggregate_put_state(&e, 0);
	parse(&s);
	cr_assert_eq(s.heap_bytes, 30);
	cr_assert_eq(s.heap_blocks, 1);
	cr_assert_eq(s.count[1], 0);
	cr_assert_eq(s.count[2], 1);
}

Test(aggregate, the_table_grows_and_keeps_every_block)
{
	/* 300k blocks: the address table starts at 64k slots. */
	enum { N = 300000 };
	seen_t s = { 0 };
	for (uint64_t i = 0; i < N; i++)
		cr_assert_eq(aggregate_alloc(0x10000 + 16 * i, 1 + i % 7, 1 + i % 5, HT_KIND_MALLOC), 0);
	for (uint64_t i = 0; i < N; i += 2)
		aggregate_free(0x10000 + 16 * i);
	aggregate_put_state(&e, 1);
	parse(&s);

	uint64_t bytes = 0;
	for (uint64_t i = 1; i < N; i += 2)
		bytes += 1 + i % 7;
	cr_assert_eq(s.heap_blocks, N / 2);
	cr_assert_eq(s.heap_bytes, bytes);
	cr_assert_eq(s.unknown_frees, 0, "every block was found again");
	uint64_t sum = 0;
	for (int id = 1; id <= 5; id++)
		sum += s.count[id];
	cr_assert_eq(sum, N / 2);
}

Test(aggregate, python_startup_takes_everything_so_far)
{
	seen_t s = { 0 };
	aggregate_alloc(0x1000, 10, 1, HT_KIND_MALLOC);
	aggregate_alloc(0x2000, 20, 2, HT_KIND_MALLOC);
	aggregate_free(0x2000);
	aggregate_move_startup();
	aggregate_free(0x1000); /* a start-up block freed after the mark */
	aggregate_alloc(0x3000, 5, 3, HT_KIND_MALLOC);
	aggregate_put_state(&e, 1);
	parse(&s);

	cr_assert_eq(s.live[HT_AGG_STARTUP_ID], 0);
	cr_assert_eq(s.nallocs[HT_AGG_STARTUP_ID], 2);
	cr_assert_eq(s.nallocs[1], 0);
	cr_assert_eq(s.live[3], 5);
	cr_assert_eq(s.peak_live[HT_AGG_STARTUP_ID], 30, "the peak before the mark was start-up's");
}
