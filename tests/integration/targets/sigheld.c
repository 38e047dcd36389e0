/* A signal handler that allocates while the code it interrupted holds the
 * recorder's stack-table insert lock (issue 14, defect 3).  test_hostile
 * attaches gdb, stops the main thread inside that insert (the first
 * allocation after `go`, a stack never seen before) and delivers SIGUSR1
 * there.  The handler's new stacks cannot be interned until the
 * interrupted insert goes on: the recorder used to give up after 1000
 * tries and count the event lost (one of sigalloc's 400 in a third of its
 * runs); now they wait with the pending events.
 *
 * Prints "ready PID", waits for gdb to set `go`, then "handled N". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int go; /* set by the debugger */
static volatile int handled;
static void *given, *kept, *zeroed;

static __attribute__((noinline)) void on_usr1(int sig)
{
	(void)sig;
	kept = malloc(91); /* @site:held_malloc */
	zeroed = calloc(1, 92); /* @site:held_calloc */
	kept = realloc(kept, 93); /* @site:held_realloc */
	free(given);
	handled++;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	given = malloc(55); /* @site:held_given */
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!go)
		usleep(1000);
	void *p = malloc(33); /* @site:held_interrupted */
	printf("handled %d\n", handled);
	fflush(stdout);
	(void)p; /* kept: live at the end */
	return 0;
}
