/* The parent allocates 5 blocks and forks; the child frees those 5
 * (inherited, never allocated in its own trace) and allocates 1; the
 * parent then frees its copies.  Under --follow-fork the child's trace
 * has exactly 5 frees of blocks from before the fork. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	void *blocks[5];
	for (int i = 0; i < 5; i++)
		blocks[i] = malloc(100 + (size_t)i);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		for (int i = 0; i < 5; i++)
			free(blocks[i]);
		void *volatile mine = malloc(7);
		free(mine);
		printf("child %d\n", (int)getpid());
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	for (int i = 0; i < 5; i++)
		free(blocks[i]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}
