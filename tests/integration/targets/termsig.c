/* Ends by a signal left at its default action, or by a raw exit:
 *   wait      allocates 50 x 700 B, prints "ready <pid>", waits for the
 *             signal the test sends (SIGTERM, SIGINT, SIGHUP...)
 *   pipe      allocates 100 x 300 B, then writes to stdout, a pipe whose
 *             reader is gone: dies of SIGPIPE
 *   alarm     allocates 30 x 200 B, then alarm(1) and waits: SIGALRM
 *   rawexit   allocates 40 x 400 B, then syscall(SYS_exit_group, 5)
 * Issue 14, defect 1: such a death kept only the events older than the
 * writer's last flush (0 of 50 after `kill`). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *blocks[100];

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "wait";
	if (strcmp(mode, "pipe") == 0) {
		for (int i = 0; i < 100; i++)
			blocks[i] = malloc(300); /* @site:before_pipe */
		for (;;)
			if (write(1, "x\n", 2) < 0)
				return 9; /* not reached: SIGPIPE */
	}
	if (strcmp(mode, "alarm") == 0) {
		for (int i = 0; i < 30; i++)
			blocks[i] = malloc(200); /* @site:before_alarm */
		alarm(1);
		for (;;)
			pause();
	}
	if (strcmp(mode, "rawexit") == 0) {
		for (int i = 0; i < 40; i++)
			blocks[i] = malloc(400); /* @site:before_rawexit */
		syscall(SYS_exit_group, 5);
	}
	for (int i = 0; i < 50; i++)
		blocks[i] = malloc(700); /* @site:before_kill */
	char line[64];
	int n = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	if (write(1, line, (size_t)n) != n)
		return 2;
	for (;;)
		pause();
}
