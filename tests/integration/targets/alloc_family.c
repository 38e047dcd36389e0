/* Every allocator entry point, each at its own site, in a known pattern
 * (issue 20, defect 5: an allocator preloaded before heaptrail gave half
 * a trace).  Phase one, live at snapshot "all":
 *   malloc 10 x 100, calloc 5 x (4 x 25), realloc: 4 blocks of 50 grown to
 *   400, reallocarray 3 x (8 x 16) (from NULL), posix_memalign 2 x 256
 *   (64-aligned), aligned_alloc 2 x 128 (64), memalign 2 x 96 (32),
 *   valloc 1 x 200.
 * Phase two frees everything but 3 malloc blocks, from free(); nothing
 * else is live at the end.  pvalloc is left out: glibc's pvalloc ignores
 * a preloaded allocator (it takes glibc's own heap) and jemalloc has none.
 * It takes malloc's address, so that its non-PIE build (alloc_family_nopie)
 * has a canonical PLT entry for malloc, as Debian's python3.11 does.
 * Prints "family ok". */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "heaptrail.h"

static void *volatile keep[64];
static void *(*volatile taken)(size_t);
static int n;

int main(void)
{
	taken = malloc; /* an immediate address in non-PIE code */
	for (int i = 0; i < 10; i++)
		keep[n++] = malloc(100); /* @site:malloc */
	for (int i = 0; i < 5; i++)
		keep[n++] = calloc(4, 25); /* @site:calloc */
	for (int i = 0; i < 4; i++) {
		char *p = malloc(50); /* @site:realloc_from */
		p[0] = 1;
		keep[n++] = realloc(p, 400); /* @site:realloc */
	}
	for (int i = 0; i < 3; i++)
		keep[n++] = reallocarray(NULL, 8, 16); /* @site:reallocarray */
	for (int i = 0; i < 2; i++) {
		void *p = NULL;
		if (posix_memalign(&p, 64, 256) != 0) /* @site:posix_memalign */
			return 1;
		keep[n++] = p;
	}
	for (int i = 0; i < 2; i++)
		keep[n++] = aligned_alloc(64, 128); /* @site:aligned_alloc */
	for (int i = 0; i < 2; i++)
		keep[n++] = memalign(32, 96); /* @site:memalign */
	keep[n++] = valloc(200); /* @site:valloc */
	for (int i = 0; i < n; i++)
		if (!keep[i])
			return 1;
	if (!taken)
		return 1;
	heaptrail_snapshot("all");
	for (int i = 3; i < n; i++)
		free(keep[i]);
	puts("family ok");
	return 0;
}
