/* A library meant to be dlopen'ed with RTLD_DEEPBIND (deepbind.c): its
 * malloc and free bind to libc's first, past the recorder. */
#include <stdlib.h>

void *deep_alloc(size_t n)
{
	return malloc(n); /* @site:deep_alloc */
}

void deep_free(void *p)
{
	free(p);
}
