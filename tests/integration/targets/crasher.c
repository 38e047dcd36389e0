/* Dies of a signal after allocating:
 *   segv     a NULL write (the default)
 *   abort    abort()
 *   many     50000 blocks of 48 B, then a NULL write: most of them are still
 *            in the recorder's ring when the program dies
 *   thread   a second thread allocates 20000 blocks of 32 B and dies of a
 *            NULL write while the main thread waits for it
 *   own      the program's own SIGSEGV handler prints "handled" and leaves
 *            with _exit(3)
 *   chain    the program's own SIGSEGV handler passes the fault on to the
 *            action it found installed, as runtimes with signal chaining
 *            do: it calls a handler directly, or puts SIG_DFL back and
 *            returns to fault again */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANY 50000
#define IN_THREAD 20000

static void *volatile sink;
static void *blocks[MANY];

static void crash(void)
{
	volatile int *volatile nowhere = NULL;
	*nowhere = 1;
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < IN_THREAD; i++)
		blocks[i] = malloc(32); /* @site:in_thread */
	crash();
	return NULL;
}

static void on_segv(int sig)
{
	(void)sig;
	static const char msg[] = "handled\n";
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(4);
	_exit(3);
}

static struct sigaction previous;

static void chain_segv(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "passing it on\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(4);
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, uc);
	} else if (previous.sa_handler == SIG_DFL) {
		sigaction(SIGSEGV, &previous, NULL);
	} else if (previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "segv";
	sink = malloc(99); /* @site:before_crash */
	fprintf(stderr, "about to crash\n");
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "many") == 0) {
		for (int i = 0; i < MANY; i++)
			blocks[i] = malloc(48); /* @site:many */
	} else if (strcmp(mode, "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, NULL) != 0)
			return 2;
		pthread_join(t, NULL);
	} else if (strcmp(mode, "own") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_segv;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
	} else if (strcmp(mode, "chain") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = chain_segv;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, &previous);
	}
	*(volatile int *)sink = 0;
	crash();
	return 0;
}
