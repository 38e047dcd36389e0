/* Defines its own malloc and free (a bump allocator), so the preloaded
 * recorder never sees its allocations.  The recorder must say so in one
 * line rather than leave a silently empty trace.  Prints "ok". */
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

static char arena[1 << 20];
static size_t used;

void *malloc(size_t n)
{
	if (used + n > sizeof(arena))
		return NULL;
	void *p = arena + used;
	used += (n + 15) & ~(size_t)15;
	return p;
}

void free(void *p)
{
	(void)p;
}

int main(void)
{
	char *s = malloc(16);
	s[0] = 'o';
	s[1] = 'k';
	s[2] = '\n';
	int ok = write(1, s, 3) == 3;
	free(s);
	return ok ? 0 : 1;
}
