/* Reads lines from stdin; for each line leaks one block of 1000 bytes and
 * answers "ok N" (flushed), so a test can interleave its own actions (a
 * snapshot signal) with the program's allocations.  Exits 0 at EOF. */
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink;

int main(void)
{
	char line[256];
	int n = 0;
	while (fgets(line, sizeof(line), stdin)) {
		sink = malloc(1000); /* @site:per_line */
		printf("ok %d\n", ++n);
		fflush(stdout);
	}
	return 0;
}
