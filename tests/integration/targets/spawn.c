/* posix_spawn (vfork-style: no fork handlers run in the child) of
 * /bin/echo, between allocations of the parent: 2 x 700 before, 3 x 900
 * after.  The parent's trace must stay whole and exact. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char **environ;
static void *volatile sink;

int main(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(700); /* @site:before_spawn */
	char *argv[] = { "echo", "spawned", NULL };
	pid_t pid;
	fflush(stdout);
	if (posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ) != 0)
		return 2;
	int status;
	waitpid(pid, &status, 0);
	for (int i = 0; i < 3; i++)
		sink = malloc(900); /* @site:after_spawn */
	printf("child %d status %d\n", (int)pid, status);
	return 0;
}
