/* Leaks 6 x 4000 bytes, prints "ready <pid>", then sleeps until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

int main(void)
{
	for (int i = 0; i < 6; i++)
		sink = malloc(4000); /* @site:before_kill */
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
