/* A process tree with known allocations in each process (test_proctree):
 *   fork_tree   the root leaks 1 x 1000 at root_leak, forks two children
 *               and waits for them.  Child k (k = 1, 2) leaks k x 2000 at
 *               child_leak; child 2 first forks a grandchild that leaks
 *               3 x 3000 at grandchild_leak, and waits for it.
 * Each process prints "<role> <pid> <ppid>" on stdout, one line each, so
 * the test knows which pid played which role. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

static void say(const char *role)
{
	printf("%s %d %d\n", role, (int)getpid(), (int)getppid());
	fflush(stdout);
}

static void grandchild(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(3000); /* @site:grandchild_leak */
	say("grandchild");
	exit(0);
}

static void child(int k)
{
	if (k == 2) {
		pid_t g = fork();
		if (g == 0)
			grandchild();
		waitpid(g, NULL, 0);
	}
	for (int i = 0; i < k; i++)
		sink = malloc(2000); /* @site:child_leak */
	say(k == 1 ? "child1" : "child2");
	exit(0);
}

int main(void)
{
	sink = malloc(1000); /* @site:root_leak */
	say("root");
	for (int k = 1; k <= 2; k++) {
		pid_t c = fork();
		if (c == 0)
			child(k);
		waitpid(c, NULL, 0);
	}
	return 0;
}
