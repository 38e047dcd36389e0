/* An allocator of its own in the executable, covering only part of the
 * malloc family: malloc, free and realloc are a bump allocator here, but
 * calloc and posix_memalign are libc's, and their calls reach the
 * recorder.  Recording those would mix two allocators' blocks (a calloc
 * recorded, its free never seen: a false leak), so the recorder records
 * none of the family and counts those calls as lost (issue 20).
 *   argv[1] callocs and argv[2] posix_memaligns (default 5 and 3), each
 *   freed with the program's own free; then prints "ok N M".
 * Its output and exit status must be the same with and without heaptrail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char arena[4 << 20];
static size_t used;

void *malloc(size_t n)
{
	if (used + n + 16 > sizeof(arena))
		return NULL;
	size_t *h = (size_t *)(arena + used);
	*h = n;
	used += 16 + ((n + 15) & ~(size_t)15);
	return h + 2;
}

void free(void *p)
{
	(void)p; /* a bump allocator; libc's blocks are simply kept */
}

void *realloc(void *p, size_t n)
{
	void *q = malloc(n);
	if (q && p && (char *)p >= arena && (char *)p < arena + sizeof(arena)) {
		size_t old = ((size_t *)p)[-2];
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

int main(int argc, char **argv)
{
	int nc = argc > 1 ? atoi(argv[1]) : 5, na = argc > 2 ? atoi(argv[2]) : 3;
	for (int i = 0; i < nc; i++) {
		char *c = calloc(10, 100); /* libc's calloc: reaches the recorder */
		if (!c || c[999])
			return 1;
		free(c);
	}
	for (int i = 0; i < na; i++) {
		void *a;
		if (posix_memalign(&a, 64, 256)) /* libc's: reaches the recorder */
			return 1;
		free(a);
	}
	char *s = strdup("own"); /* libc's strdup calls our malloc */
	s = realloc(s, 64);
	char line[64];
	int len = snprintf(line, sizeof line, "ok %d %d %s\n", nc, na, s);
	return write(1, line, (size_t)len) == len ? 0 : 1;
}
