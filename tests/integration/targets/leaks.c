/* Known leaks and a known peak; uses no stdio, so libc allocates nothing of
 * its own and the whole heap is ours:
 *   leak_small()  leaks 3 x 128 bytes
 *   leak_big()    leaks 1 x 4096 bytes
 *   no_leak()     allocates 4 x 1000 and frees them
 *   peak()        holds 3 x 100000 at once (the peak: 300000 + the 4480
 *                 leaked before it), frees them
 * End: 4480 bytes in 4 blocks leaked. */
#include <stdlib.h>

static void *volatile sink;

static void leak_small(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(128); /* @site:leak_small */
}

static void leak_big(void)
{
	sink = malloc(4096); /* @site:leak_big */
}

static void no_leak(void)
{
	void *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = malloc(1000); /* @site:no_leak */
	for (int i = 0; i < 4; i++)
		free(p[i]);
}

static void peak(void)
{
	void *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = malloc(100000); /* @site:peak */
	for (int i = 0; i < 3; i++)
		free(p[i]);
}

int main(void)
{
	leak_small();
	leak_big();
	no_leak();
	peak();
	return 0;
}
