/* Exactly one allocation (100 bytes), freed: for the singular forms of
 * `heaptrail info` ("1 allocation, 1 free").  Prints nothing; exits 0. */
#include <stdlib.h>

static void *volatile sink;

int main(void)
{
	sink = malloc(100);
	free(sink);
	return 0;
}
