/* 30 snapshot marks, for the page of `heaptrail html`: before mark "m<i>"
 * (i = 0..29) step() has allocated (i + 1) * 1000 bytes more, so mark i
 * holds 1000 * (i + 1) * (i + 2) / 2 bytes.  2 ms between the marks give
 * them distinct times.  No stdio. */
#include <stdlib.h>
#include <unistd.h>

#include "heaptrail.h"

static void *volatile keep[30];

static void step(int i)
{
	keep[i] = malloc(1000 * (size_t)(i + 1)); /* @site:step */
}

int main(void)
{
	char label[4] = "m00";
	for (int i = 0; i < 30; i++) {
		step(i);
		label[1] = (char)('0' + i / 10);
		label[2] = (char)('0' + i % 10);
		heaptrail_snapshot(label);
		usleep(2000);
	}
	return 0;
}
