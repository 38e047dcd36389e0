/* Shared library loaded with dlopen by dlopen_user: allocations made here
 * must be attributed to lib_alloc.so and this file's lines. */
#include <stdlib.h>

void *lib_alloc_make(size_t n)
{
	return malloc(n); /* @site:lib_make */
}
