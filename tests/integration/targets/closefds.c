/* Closes its descriptors as daemons do, then allocates 300 blocks of
 * 120 B and prints "done".  Modes: close (close 3..1023), close_range
 * (close_range(3, ~0U, 0)), closefrom (closefrom(3)), dup2 (dup2 of
 * stdout onto every number 3..1023, then close them), setfd (F_GETFD,
 * F_SETFD and F_SETFL on the recorder's number: EBADF each, as on a free
 * number), dupfd and dupfd_cloexec (fcntl(1, F_DUPFD[_CLOEXEC], n) must
 * give n itself, a free number).  The recorder's number is HEAPTRAIL_FD,
 * else 500 (free in a plain run).  Issue 14, defect 4: the trace lost
 * everything not yet written, with `lost events: 0`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *blocks[300];

/* The number the recorder's descriptor sits at (as if it were free). */
static int recorder_fd(void)
{
	const char *v = getenv("HEAPTRAIL_FD");
	return v ? atoi(v) : 500;
}

/* 1 unless the call failed with EBADF. */
static int not_ebadf(int r)
{
	return !(r == -1 && errno == EBADF);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "close";
	int errors = 0;
	if (strcmp(mode, "close_range") == 0) {
		errors += close_range(3, ~0U, 0) != 0;
	} else if (strcmp(mode, "closefrom") == 0) {
		closefrom(3);
	} else if (strcmp(mode, "dup2") == 0) {
		for (int fd = 3; fd < 1024; fd++)
			errors += dup2(1, fd) != fd;
		for (int fd = 3; fd < 1024; fd++)
			errors += close(fd) != 0;
	} else if (strcmp(mode, "setfd") == 0) {
		int n = recorder_fd();
		errors += not_ebadf(fcntl(n, F_GETFD));
		errors += not_ebadf(fcntl(n, F_SETFD, 0));
		errors += not_ebadf(fcntl(n, F_SETFL, O_NONBLOCK));
	} else if (strcmp(mode, "dupfd") == 0 || strcmp(mode, "dupfd_cloexec") == 0) {
		int n = recorder_fd();
		int cmd = strcmp(mode, "dupfd") == 0 ? F_DUPFD : F_DUPFD_CLOEXEC;
		int r = fcntl(1, cmd, n);
		errors += r != n;
		errors += r >= 0 && close(r) != 0;
	} else {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	}
	for (int i = 0; i < 300; i++)
		blocks[i] = malloc(120); /* @site:after_close */
	printf("done, %d errors\n", errors);
	return 0;
}
