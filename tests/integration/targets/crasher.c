/* Dies of a signal after allocating: "segv" (a NULL write) or "abort". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	sink = malloc(99); /* @site:before_crash */
	fprintf(stderr, "about to crash\n");
	if (argc > 1 && strcmp(argv[1], "abort") == 0)
		abort();
	*(volatile int *)sink = 0;
	volatile int *volatile nowhere = NULL;
	*nowhere = 1;
	return 0;
}
