/* heapcount: per-slot counters summed into the live heap and its peak
 * (issue 18: heaptrail_heap_bytes / _peak / _peak_reset).  The slots are
 * driven directly, no hooks. */
#include <criterion/criterion.h>
#include <string.h>

#include "heapcount.h"

static rec_thread_t *a, *b;

static void two_slots(void)
{
	memset(&ht_reg, 0, sizeof(ht_reg));
	memset(&ht_heapcount, 0, sizeof(ht_heapcount));
	ht_reg.nthreads = 2;
	a = &ht_reg.threads[0];
	b = &ht_reg.threads[1];
}

Test(heapcount, live_is_the_sum_over_slots_frees_included, .init = two_slots)
{
	heapcount_add(a, 1000);
	heapcount_add(a, 24);
	heapcount_add(b, -1000); /* b frees a's block */

	cr_assert_eq(heapcount_live(), 24);
	cr_assert_eq(a->heap_live, 1024);
	cr_assert_eq(b->heap_live, -1000);
}

Test(heapcount, peak_of_one_thread_is_exact, .init = two_slots)
{
	heapcount_add(a, 5000);
	heapcount_add(a, 3000);
	heapcount_add(a, -3000);
	heapcount_add(a, 100);

	cr_assert_eq(heapcount_peak(), 8000);
	cr_assert_eq(heapcount_live(), 5100);
}

Test(heapcount, reset_starts_the_peak_at_the_live_heap, .init = two_slots)
{
	heapcount_add(a, 8000);
	heapcount_add(a, -6000);
	heapcount_add(b, 500);

	heapcount_reset();
	cr_assert_eq(heapcount_peak(), 2500);
	heapcount_add(a, 700); /* a joins the new generation at 2000 */
	heapcount_add(a, -700);

	cr_assert_eq(heapcount_peak(), 3200);
	cr_assert_eq(heapcount_live(), 2500);
	heapcount_reset();
	cr_assert_eq(heapcount_peak(), 2500);
}

Test(heapcount, peak_of_several_threads_is_an_upper_bound, .init = two_slots)
{
	/* a rises by 100 and falls back, then b does: the heap's real peak
	 * is 100, the per-slot bound says 200. */
	heapcount_add(a, 100);
	heapcount_add(a, -100);
	heapcount_add(b, 100);
	heapcount_add(b, -100);

	cr_assert_eq(heapcount_peak(), 200);
	cr_assert_eq(heapcount_live(), 0);
}
