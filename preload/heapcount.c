/* heapcount: see heapcount.h. */
#include "heapcount.h"

heapcount_t ht_heapcount;

int64_t heapcount_live(void)
{
	uint32_t n = __atomic_load_n(&ht_reg.nthreads, __ATOMIC_ACQUIRE);
	int64_t sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += __atomic_load_n(&ht_reg.threads[i].heap_live, __ATOMIC_RELAXED);
	return sum;
}

int64_t heapcount_peak(void)
{
	uint32_t gen = __atomic_load_n(&ht_heapcount.gen, __ATOMIC_ACQUIRE);
	int64_t peak = __atomic_load_n(&ht_heapcount.base, __ATOMIC_RELAXED);
	uint32_t n = __atomic_load_n(&ht_reg.nthreads, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		const rec_thread_t *th = &ht_reg.threads[i];
		/* A slot that has not changed since the reset rose by 0. */
		if (__atomic_load_n(&th->heap_gen, __ATOMIC_ACQUIRE) == gen)
			peak += __atomic_load_n(&th->heap_rise, __ATOMIC_RELAXED);
	}
	int64_t live = heapcount_live();
	return peak > live ? peak : live;
}

void heapcount_reset(void)
{
	/* Base first: a slot joining the new generation adds its rise over
	 * the heap from here. */
	__atomic_store_n(&ht_heapcount.base, heapcount_live(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&ht_heapcount.gen, 1, __ATOMIC_SEQ_CST);
}
