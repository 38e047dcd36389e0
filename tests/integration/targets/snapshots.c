/* Two phases separated by heaptrail_snapshot() marks:
 *   phase one: 10 x 100 bytes in phase_one()            -> snapshot "one"
 *   phase two: 20 x 1000 bytes in phase_two(), plus 5 x 100 more in
 *              phase_one()                              -> snapshot "two"
 * All blocks are leaked.  Prints the API's return values: snapshot=-1
 * recording=0 when not preloaded, snapshot=0 recording=1 when recorded. */
#include <stdio.h>
#include <stdlib.h>

#include "heaptrail.h"

static void *volatile keep[64];
static int nkeep;

static void phase_one(int n)
{
	for (int i = 0; i < n; i++)
		keep[nkeep++] = malloc(100); /* @site:phase_one */
}

static void phase_two(int n)
{
	for (int i = 0; i < n; i++)
		keep[nkeep++] = malloc(1000); /* @site:phase_two */
}

int main(void)
{
	phase_one(10);
	int s1 = heaptrail_snapshot("one");
	phase_two(20);
	phase_one(5);
	int s2 = heaptrail_snapshot("two");
	printf("snapshot=%d,%d recording=%d\n", s1, s2, heaptrail_recording());
	return 0;
}
