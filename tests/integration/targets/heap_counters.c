/* heaptrail_heap_bytes / _peak / _peak_reset through heaptrail.h, with
 * sizes glibc counts exactly (24 + 16k bytes: usable size = request),
 * printed relative to the heap at the start of main:
 *   10 x 1000 kept                 -> live +10000, peak +10000
 *   reset; 3 x 100008 held, freed  -> live +10000, peak +310024
 *   realloc one 1000 to 4088       -> live +13088
 *   reset                          -> peak +13088
 *   free everything                -> live +0, peak still +13088
 * Without the recorder every call returns -1 and it prints "off".  Also
 * built -no-pie (heap_counters_nopie), where the header's weak references
 * resolve to NULL at link time. */
#include <stdio.h>
#include <stdlib.h>

#include "heaptrail.h"

static void *volatile keep[10];
/* volatile: a malloc/free pair whose block is unused is elided at -O2 */
static void *volatile big[3];

int main(void)
{
	long long b0 = heaptrail_heap_bytes();
	if (b0 < 0) {
		printf("off %lld %lld %d\n", heaptrail_heap_peak(), b0,
		       heaptrail_heap_peak_reset());
		return 0;
	}
	/* stdout's buffer: allocated now, before the baseline is taken. */
	printf("on\n");
	fflush(stdout);
	b0 = heaptrail_heap_bytes();
	heaptrail_heap_peak_reset();
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(1000);
	long long l1 = heaptrail_heap_bytes() - b0, p1 = heaptrail_heap_peak() - b0;
	int r = heaptrail_heap_peak_reset();
	for (int i = 0; i < 3; i++)
		big[i] = malloc(100008);
	for (int i = 0; i < 3; i++)
		free(big[i]);
	long long l2 = heaptrail_heap_bytes() - b0, p2 = heaptrail_heap_peak() - b0;
	keep[0] = realloc(keep[0], 4088);
	long long l3 = heaptrail_heap_bytes() - b0;
	heaptrail_heap_peak_reset();
	long long p3 = heaptrail_heap_peak() - b0;
	for (int i = 0; i < 10; i++)
		free(keep[i]);
	long long l4 = heaptrail_heap_bytes() - b0, p4 = heaptrail_heap_peak() - b0;
	printf("live %lld %lld %lld %lld peak %lld %lld %lld %lld reset %d\n", l1, l2, l3, l4,
	       p1, p2, p3, p4, r);
	return 0;
}
