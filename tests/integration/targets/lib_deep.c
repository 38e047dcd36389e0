/* A library meant to be dlopen'ed with RTLD_DEEPBIND (deepbind.c): its
 * malloc and free bind to libc's first, past the recorder.  Its
 * constructor allocates 3 blocks of 111 B (kept), before the program can
 * call anything in it. */
#include <stdlib.h>

static void *kept[3];

__attribute__((constructor)) static void deep_init(void)
{
	for (int i = 0; i < 3; i++)
		kept[i] = malloc(111); /* @site:deep_init */
}

void *deep_alloc(size_t n)
{
	return malloc(n); /* @site:deep_alloc */
}

void deep_free(void *p)
{
	free(p);
}

int deep_kept(void)
{
	return kept[0] && kept[1] && kept[2];
}
