/* Marks ten snapshots 2 ms apart ("m0".."m9"), each after one 100-byte
 * allocation: the marks must read their own times, not the writer's. */
#include <heaptrail.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink[10];

int main(void)
{
	for (int i = 0; i < 10; i++) {
		char label[8];
		snprintf(label, sizeof(label), "m%d", i);
		sink[i] = malloc(100); /* @site:before_mark */
		heaptrail_snapshot(label);
		struct timespec t = { 0, 2 * 1000 * 1000 };
		while (nanosleep(&t, &t) != 0)
			;
	}
	return 0;
}
