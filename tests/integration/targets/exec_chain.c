/* exec without fork and fork+exec.
 *   exec_chain self     leaks 1 x 1111 at before_exec, then execs itself
 *                       ("final"), which leaks 2 x 2222 at final_leak.
 *   exec_chain selflp / selfle: the same through execlp / execle.
 *   exec_chain forkexec leaks 1 x 3333 at parent_leak, forks a child that
 *                       execs itself ("final"), waits for it.
 *   exec_chain final    leaks 2 x 2222 at final_leak, prints its pid.
 *   exec_chain failexec leaks 1 x 1111 at before_exec, tries to exec a
 *                       missing file, then leaks 3 x 4444 at after_failed_exec
 *                       (the image goes on: a failed exec changes nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "self";
	if (strcmp(mode, "final") == 0) {
		for (int i = 0; i < 2; i++)
			sink = malloc(2222); /* @site:final_leak */
		printf("final %d\n", (int)getpid());
		return 0;
	}
	if (strcmp(mode, "self") == 0 || strcmp(mode, "selflp") == 0 ||
	    strcmp(mode, "selfle") == 0) {
		extern char **environ;
		sink = malloc(1111); /* @site:before_exec */
		printf("self %d\n", (int)getpid());
		fflush(stdout);
		if (strcmp(mode, "selflp") == 0)
			execlp("/proc/self/exe", argv[0], "final", (char *)NULL);
		else if (strcmp(mode, "selfle") == 0)
			execle("/proc/self/exe", argv[0], "final", (char *)NULL, environ);
		else
			execl("/proc/self/exe", argv[0], "final", (char *)NULL);
		perror("exec");
		return 2;
	}
	if (strcmp(mode, "failexec") == 0) {
		sink = malloc(1111); /* @site:failexec_before */
		execl("/nonexistent/heaptrail-test", "x", (char *)NULL);
		for (int i = 0; i < 3; i++)
			sink = malloc(4444); /* @site:after_failed_exec */
		puts("exec failed, still here");
		return 0;
	}
	sink = malloc(3333); /* @site:forkexec_parent */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "final", (char *)NULL);
		_exit(2);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("parent %d\n", (int)getpid());
	return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}
