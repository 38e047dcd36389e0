/* heaptrail demo: a small C program with a leak.
 * parse_line() returns a strdup'ed copy that process() forgets to free for
 * lines that contain a '#'; cache_put() keeps every entry forever (a cache
 * without eviction: the live bytes grow until the end).  The rest is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	char key[48];
};

static struct entry *cache;

static char *parse_line(int i)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "line %d%s", i, i % 10 == 0 ? " #comment" : "");
	return strdup(buf);
}

static void cache_put(int i)
{
	struct entry *e = malloc(sizeof(*e));
	snprintf(e->key, sizeof(e->key), "key-%d", i);
	e->next = cache;
	cache = e;
}

static size_t process(int i)
{
	char *line = parse_line(i);
	size_t n = strlen(line);
	if (strchr(line, '#'))
		return n; /* leak: the early return skips the free */
	free(line);
	return n;
}

int main(void)
{
	size_t total = 0;
	for (int i = 0; i < 5000; i++) {
		total += process(i);
		if (i % 5 == 0)
			cache_put(i);
		char *scratch = malloc(256);
		memset(scratch, 0, 256);
		free(scratch);
	}
	printf("processed %zu bytes\n", total);
	return 0;
}
