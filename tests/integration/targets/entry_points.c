/* Every allocation entry point once, at a marked call site, including the
 * calls that fail (they must record nothing) and the free/realloc corner
 * cases.  Blocks that stay live are leaked on purpose so that `top` at the
 * end of the trace shows each site with an exact count and size.  Prints
 * the results of the calls so that a plain run and a recorded run can be
 * compared: the recorder must not change what the calls return. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed reallocarray leaves its block alone; keeping it is the point. */
#pragma GCC diagnostic ignored "-Wuse-after-free"

static void *volatile keep[32];
static int nkeep;

static void hold(void *p)
{
	keep[nkeep++] = p;
}

int main(void)
{
	int failures = 0;
	void *p;
	volatile size_t huge = SIZE_MAX / 2;

	hold(malloc(100)); /* @site:malloc */
	hold(calloc(10, 30)); /* @site:calloc */
	errno = 0;
	p = calloc(huge, 4); /* @site:calloc_overflow */
	printf("calloc overflow: %s errno=%s\n", p ? "non-NULL" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
	failures += p != NULL;
	hold(realloc(NULL, 200)); /* @site:realloc_null */
	p = malloc(50); /* @site:realloc_src */
	p = realloc(p, 5000); /* @site:realloc_grow */
	hold(p);
	hold(reallocarray(NULL, 7, 11)); /* @site:reallocarray_null */
	void *ra = malloc(64); /* @site:reallocarray_keep */
	errno = 0;
	p = reallocarray(ra, huge, 3); /* @site:reallocarray_overflow */
	printf("reallocarray overflow: %s errno=%s\n", p ? "non-NULL" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
	failures += p != NULL;
	hold(ra);
	void *q = NULL;
	int rc = posix_memalign(&q, 64, 1000); /* @site:posix_memalign */
	printf("posix_memalign: rc=%d aligned=%d\n", rc, ((uintptr_t)q & 63) == 0);
	hold(q);
	void *bad = (void *)0x1;
	rc = posix_memalign(&bad, 24, 10); /* @site:posix_memalign_bad */
	printf("posix_memalign bad alignment: %s, pointer %s\n", rc == EINVAL ? "EINVAL" : "other", bad == (void *)0x1 ? "untouched" : "changed");
	failures += rc != EINVAL;
	hold(aligned_alloc(128, 256)); /* @site:aligned_alloc */
	hold(memalign(256, 300)); /* @site:memalign */
	hold(valloc(1000)); /* @site:valloc */
	hold(pvalloc(1000)); /* @site:pvalloc */
	errno = 0;
	p = malloc(huge); /* @site:malloc_huge */
	printf("malloc huge: %s errno=%s\n", p ? "non-NULL" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
	failures += p != NULL;
	free(NULL);
	p = malloc(40); /* @site:freed */
	free(p);
	p = malloc(60); /* @site:realloc_zero_src */
	p = realloc(p, 0); /* @site:realloc_zero */
	free(p); /* glibc returns NULL here; free(NULL) is fine either way */
	for (int i = 0; i < nkeep; i++)
		if (!keep[i])
			failures++;
	printf("kept %d blocks, failures %d\n", nkeep, failures);
	return failures ? 1 : 0;
}
