/* Closes its descriptors as daemons do, then allocates 300 blocks of
 * 120 B and prints "done".  Modes: close (close 3..1023), close_range
 * (close_range(3, ~0U, 0)), closefrom (closefrom(3)), dup2 (dup2 of
 * stdout onto every number 3..1023, then close them).  Issue 14, defect 4:
 * the trace lost everything not yet written, with `lost events: 0`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *blocks[300];

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
	} else {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	}
	for (int i = 0; i < 300; i++)
		blocks[i] = malloc(120); /* @site:after_close */
	printf("done, %d errors\n", errors);
	return 0;
}
