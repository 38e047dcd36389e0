/* A program that closes every descriptor above stderr (as daemons and
 * some shells do), then puts a file of its own on the very fd number the
 * recorder was given (HEAPTRAIL_FD, or 500 when unset) and keeps
 * allocating.  The recorder must notice its file is gone and never write
 * into the program's file.  Usage: fd_reuse OUTFILE.
 * Prints "intact" and exits 0 when OUTFILE holds exactly what it wrote. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	static const char data[] = "program data\n";
	if (argc < 2)
		return 2;
	for (int i = 0; i < 10; i++)
		sink = malloc(100); /* @site:before_close */
	const char *env = getenv("HEAPTRAIL_FD");
	int target = env ? atoi(env) : 500;
	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	int fd = open(argv[1], O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || dup2(fd, target) != target)
		return 2;
	close(fd);
	for (int i = 0; i < 20000; i++) {
		void *p = malloc(64 + i % 100); /* @site:after_close */
		free(p);
	}
	if (write(target, data, sizeof(data) - 1) != (ssize_t)(sizeof(data) - 1))
		return 2;
	for (int i = 0; i < 20000; i++)
		free(malloc(32));
	close(target);
	char buf[256];
	FILE *f = fopen(argv[1], "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	if (n == sizeof(data) - 1 && memcmp(buf, data, n) == 0) {
		puts("intact");
		return 0;
	}
	printf("corrupted: %zu bytes\n", n);
	return 1;
}
