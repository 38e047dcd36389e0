/* Allocates 3 x 48 bytes at the bottom of a 20-deep recursion, for --depth:
 * the stacks are cut to the requested number of frames. */
#include <stdlib.h>

static void *volatile sink;

static void down(int n)
{
	if (n == 0) {
		for (int i = 0; i < 3; i++)
			sink = malloc(48); /* @site:bottom */
		return;
	}
	down(n - 1); /* @site:recurse */
}

int main(void)
{
	down(20);
	return 0;
}
