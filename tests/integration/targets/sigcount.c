/* Counts the SIGINTs and SIGQUITs it receives: prints "ready <pid>", waits
 * for the first, waits 300 ms more for duplicates, then prints
 * "int N quit M" and exits 0.  Allocates 3 x 500 bytes before and after, so
 * a trace has something to check. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ints, quits;
static void *volatile sink;

static void count(int sig)
{
	if (sig == SIGINT)
		ints++;
	else
		quits++;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = count };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	for (int i = 0; i < 3; i++)
		sink = malloc(500); /* @site:before_signal */
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!ints && !quits)
		pause();
	struct timespec t = { 0, 300 * 1000 * 1000 };
	while (nanosleep(&t, &t) != 0)
		;
	for (int i = 0; i < 3; i++)
		sink = malloc(500); /* @site:after_signal */
	printf("int %d quit %d\n", (int)ints, (int)quits);
	return 0;
}
