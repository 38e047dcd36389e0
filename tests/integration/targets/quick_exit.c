/* Leaks 5 x 321 bytes, then leaves with _exit(7): no atexit handlers, no
 * destructors.  The trace must still be complete (END record). */
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

int main(void)
{
	for (int i = 0; i < 5; i++)
		sink = malloc(321); /* @site:before_exit */
	_exit(7);
}
