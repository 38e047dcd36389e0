/* A daemon's start-up: reopens 0-2 onto its log file (argv[1]), closes
 * every other descriptor with the raw syscall (as programs that cannot
 * trust libc's close do: the recorder's guard never sees it), allocates,
 * and writes its own two lines.  The log must hold only those (issue
 * 20.1: the recorder's "closed the trace" line landed in it). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 3;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	for (int i = 3; i < 4096; i++)
		syscall(SYS_close, i);
	fprintf(stderr, "daemon: started\n");
	for (int i = 0; i < 100; i++) {
		void *volatile p = malloc(64);
		free(p);
	}
	usleep(300 * 1000); /* the writer flushes (and notices) meanwhile */
	printf("daemon: done\n");
	fflush(stdout);
	return 0;
}
