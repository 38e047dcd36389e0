/* highwater: the steps by which the heap reached its peak and the call
 * sites contributing to each, from synthetic heap events. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/highwater.h"
#include "render/text.h"

static uint64_t now_us;

static void feed(highwater_t *h, heap_event_t ev)
{
	agg_t *a = highwater_agg(h);
	ev.time_us = now_us;
	cr_assert_eq(a->ops->add(a, &ev), 0);
	now_us += 10;
}

static heap_block_t alloc(highwater_t *h, uint64_t addr, uint64_t size,
			  sidx_t stack)
{
	heap_block_t b = { .addr = addr, .size = size, .stack = stack };
	feed(h, (heap_event_t){ .kind = HEAP_EV_ALLOC, .block = b });
	return b;
}

static void release(highwater_t *h, heap_block_t b)
{
	feed(h, (heap_event_t){ .kind = HEAP_EV_FREE, .block = b });
}

Test(highwater, steps_close_at_the_threshold_and_the_last_ends_at_the_peak)
{
	now_us = 0;
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 10, 100);
	heap_block_t a = alloc(h, 0x100, 100, 0); /* t0: 100 -> step 1 */
	alloc(h, 0x200, 5, 1); /* t10: 105 */
	alloc(h, 0x300, 200, 1); /* t20: 305 -> step 2 */
	release(h, a); /* t30: 205 */
	alloc(h, 0x400, 150, 2); /* t40: 355, peak, +50 < 100 */
	alloc(h, 0x500, 1, 3); /* t50: 356, peak */
	const highwater_step_t *s;
	cr_assert_eq(highwater_steps(h, &s), 3);
	cr_assert_eq(s[0].from_bytes, 0);
	cr_assert_eq(s[0].to_bytes, 100);
	cr_assert_eq(s[0].to_time_us, 0);
	cr_assert_eq(s[0].ncontrib, 1);
	cr_assert_eq(s[0].contrib[0].stack, 0);
	cr_assert_eq(s[0].contrib[0].bytes, 100);
	cr_assert_eq(s[0].is_peak, 0);
	cr_assert_eq(s[1].from_bytes, 100);
	cr_assert_eq(s[1].to_bytes, 305);
	cr_assert_eq(s[1].to_time_us, 20);
	cr_assert_eq(s[1].ncontrib, 1);
	cr_assert_eq(s[1].contrib[0].stack, 1);
	cr_assert_eq(s[1].contrib[0].bytes, 205);
	cr_assert_eq(s[2].from_bytes, 305);
	cr_assert_eq(s[2].to_bytes, 356);
	cr_assert_eq(s[2].to_time_us, 50);
	cr_assert_eq(s[2].is_peak, 1);
	cr_assert_eq(s[2].ncontrib, 2);
	cr_assert_eq(s[2].contrib[0].stack, 2);
	cr_assert_eq(s[2].contrib[0].bytes, 150);
	cr_assert_eq(s[2].contrib[1].stack, 3);
	cr_assert_eq(s[2].contrib[1].bytes, 1);
	cr_assert_eq(s[2].others, -100, "stack 0 freed 100 B");
	cr_assert_eq(s[2].others_sites, 1);
	/* Every changed stack is kept for grouping by key. */
	cr_assert_eq(s[2].ndelta, 3);
	int64_t sum = 0;
	for (size_t i = 0; i < s[2].ndelta; i++)
		sum += s[2].delta_bytes[i];
	cr_assert_eq(sum, 356 - 305);
	cr_assert_eq(s[2].delta_stack[0], 0);
	cr_assert_eq(s[2].delta_bytes[0], -100);
	uint64_t t;
	cr_assert_eq(highwater_peak(h, &t), 356);
	cr_assert_eq(t, 50);
	highwater_free(h);
}

Test(highwater, a_heap_oscillating_below_its_mark_adds_no_steps)
{
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 10, 100);
	for (int i = 0; i < 50; i++) {
		heap_block_t b = alloc(h, 0x100, 1000, 0);
		release(h, b);
	}
	const highwater_step_t *s;
	cr_assert_eq(highwater_steps(h, &s), 1);
	cr_assert_eq(s[0].to_bytes, 1000);
	cr_assert_eq(s[0].is_peak, 0);
	highwater_free(h);
}

Test(highwater, the_final_step_uses_the_sites_as_they_were_at_the_peak)
{
	now_us = 0;
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 10, 100);
	alloc(h, 0x100, 100, 0); /* step 0 -> 100 */
	heap_block_t b = alloc(h, 0x200, 50, 1); /* 150: peak */
	release(h, b); /* 100 */
	alloc(h, 0x300, 30, 2); /* 130: below the peak */
	const highwater_step_t *s;
	cr_assert_eq(highwater_steps(h, &s), 2);
	cr_assert_eq(s[1].from_bytes, 100);
	cr_assert_eq(s[1].to_bytes, 150);
	cr_assert_eq(s[1].to_time_us, 10);
	cr_assert_eq(s[1].is_peak, 1);
	cr_assert_eq(s[1].ncontrib, 1);
	cr_assert_eq(s[1].contrib[0].stack, 1);
	cr_assert_eq(s[1].contrib[0].bytes, 50);
	cr_assert_eq(s[1].others_sites, 0);
	highwater_free(h);
}

Test(highwater, the_percent_threshold_scales_with_the_mark)
{
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 50, 1);
	alloc(h, 0x100, 100, 0); /* 100: step */
	alloc(h, 0x200, 40, 0); /* 140: +40 < 50 */
	alloc(h, 0x300, 20, 0); /* 160: +60 >= 50: step */
	alloc(h, 0x400, 70, 0); /* 230: +70 < 80 */
	const highwater_step_t *s;
	cr_assert_eq(highwater_steps(h, &s), 3);
	cr_assert_eq(s[0].to_bytes, 100);
	cr_assert_eq(s[1].from_bytes, 100);
	cr_assert_eq(s[1].to_bytes, 160);
	cr_assert_eq(s[2].to_bytes, 230);
	cr_assert_eq(s[2].is_peak, 1);
	highwater_free(h);
}

Test(highwater, contributors_beyond_the_top_are_summed_as_others)
{
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 10, 2800);
	/* stacks 0..6 allocate 100, 200, ... 700 = 2800 */
	for (int i = 0; i < 7; i++)
		alloc(h, 0x1000 * (uint64_t)(i + 1), 100 * (uint64_t)(i + 1),
		      (sidx_t)i);
	const highwater_step_t *s;
	cr_assert_eq(highwater_steps(h, &s), 1);
	cr_assert_eq(s[0].to_bytes, 2800);
	cr_assert_eq(s[0].ncontrib, HIGHWATER_TOP);
	for (int k = 0; k < HIGHWATER_TOP; k++) {
		cr_assert_eq(s[0].contrib[k].stack, (sidx_t)(6 - k));
		cr_assert_eq(s[0].contrib[k].bytes, 100 * (7 - k));
	}
	cr_assert_eq(s[0].others, 300);
	cr_assert_eq(s[0].others_sites, 2);
	highwater_free(h);
}

Test(highwater, a_realloc_moves_bytes_to_the_realloc_site)
{
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 10, 1000);
	heap_block_t o = alloc(h, 0x100, 100, 0);
	heap_block_t n = { .addr = 0x900, .size = 1500, .stack = 4 };
	feed(h, (heap_event_t){ .kind = HEAP_EV_REALLOC, .block = n, .old = o,
				.old_known = true });
	const highwater_step_t *s;
	cr_assert_eq(highwater_steps(h, &s), 1);
	cr_assert_eq(s[0].to_bytes, 1500);
	cr_assert_eq(s[0].ncontrib, 1);
	cr_assert_eq(s[0].contrib[0].stack, 4);
	cr_assert_eq(s[0].contrib[0].bytes, 1500);
	cr_assert_eq(s[0].others, 0, "stack 0 is back to 0 at the mark");
	cr_assert_eq(s[0].others_sites, 0);
	highwater_free(h);
}

Test(highwater, text_report_with_a_limit_keeps_the_steps_that_built_the_peak)
{
	now_us = 0;
	highwater_t *h = highwater_new();
	highwater_set_threshold(h, 10, 100);
	alloc(h, 0x100, 100, 0); /* step 1: 0 -> 100 */
	alloc(h, 0x200, 200, 1); /* step 2: 100 -> 300 */
	alloc(h, 0x300, 400, 2); /* step 3: 300 -> 700, peak */
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	highwater_result_t res;
	cr_assert_eq(highwater_result(h, 2, &res), 0);
	text_highwater(out, &res, NULL);
	highwater_result_free(&res);
	fclose(out);
	cr_assert(strstr(text, "(1 earlier step not shown; -n 0 shows all)\n"), "%s", text);
	cr_assert_null(strstr(text, "#1:"), "%s", text);
	cr_assert(strstr(text, "#2: 100 B -> 300 B"), "%s", text);
	cr_assert(strstr(text, "#3: 300 B -> 700 B"), "%s", text);
	free(text);
	highwater_free(h);
}
