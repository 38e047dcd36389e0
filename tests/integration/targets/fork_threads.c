/* Forks while two other threads are busy allocating (the recorder's locks
 * must survive fork).  The parent leaks 2 x 222 bytes at parent_leak, the
 * child 3 x 111 bytes at child_leak and exits with 0; both print their pid.
 * Parent exits 0 if the child exited 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;
static void *volatile sink;

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *p = malloc(64); /* @site:churn */
		sink = p;
		free(p);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	usleep(20000);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			sink = malloc(111); /* @site:child_leak */
		printf("child %d\n", (int)getpid());
		exit(0);
	}
	for (int i = 0; i < 2; i++)
		sink = malloc(222); /* @site:parent_leak */
	int status;
	waitpid(pid, &status, 0);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("parent %d child-status %d\n", (int)getpid(), status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
