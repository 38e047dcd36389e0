/* A heap whose peak is not its end, for the exports (heaptrail export):
 *   keep_blocks(): 8 x 4096 bytes, leaked           -> snapshot "kept"
 *   big_block():   1 x 65536 bytes, the peak (98304 live), then freed
 *                                                   -> snapshot "freed"
 *   tail_blocks(): 3 x 1000 bytes, leaked; the end holds 35768 bytes.
 * 30 ms pauses between the phases give the points distinct times (the
 * trace's clock ticks every few ms).  No stdio (its buffer would be one
 * more allocation). */
#include <stdlib.h>
#include <unistd.h>

#include "heaptrail.h"

static void *volatile keep[16];

static void keep_blocks(void)
{
	for (int i = 0; i < 8; i++)
		keep[i] = malloc(4096); /* @site:keep */
}

static void *big_block(void)
{
	return malloc(65536); /* @site:big */
}

static void tail_blocks(void)
{
	for (int i = 0; i < 3; i++)
		keep[8 + i] = malloc(1000); /* @site:tail */
}

int main(void)
{
	keep_blocks();
	heaptrail_snapshot("kept");
	usleep(30000);
	void *volatile big = big_block();
	usleep(30000);
	free(big); /* @site:freebig */
	heaptrail_snapshot("freed");
	usleep(30000);
	tail_blocks();
	return 0;
}
