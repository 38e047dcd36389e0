/* Preloaded after libheaptrail.so, so its constructor runs before the
 * recorder's: these allocations happen before recording starts, and the
 * program (`true`) makes none after. */
#include <stdlib.h>

__attribute__((constructor)) static void early(void)
{
	void *volatile p = malloc(100);
	free(p);
}
