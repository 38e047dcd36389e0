/* heaptrail demo: a small C program with a leak.
 * parse_line() returns a strdup'ed copy that process() forgets to free for
 * lines that contain a '#'; cache_put() keeps every entry forever (a cache
 * without eviction: its live bytes grow until the end); log_append() grows
 * one buffer with realloc.  A snapshot is marked every 1000 lines, so
 * `heaptrail leaks` can name the sites that grew in every interval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaptrail.h"

struct entry {
	struct entry *next;
	char key[48];
};

static struct entry *cache;
static char *log_buf;
static size_t log_len, log_cap;

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

static void log_append(const char *s)
{
	size_t n = strlen(s);
	if (log_len + n + 1 > log_cap) {
		log_cap = log_cap ? log_cap * 3 / 2 + n : 64;
		log_buf = realloc(log_buf, log_cap);
	}
	memcpy(log_buf + log_len, s, n + 1);
	log_len += n;
}

static size_t process(int i)
{
	char *line = parse_line(i);
	size_t n = strlen(line);
	if (strchr(line, '#'))
		return n; /* leak: the early return skips the free */
	if (i % 7 == 0)
		log_append(line);
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
		if (i % 1000 == 0)
			heaptrail_snapshot(NULL);
	}
	printf("processed %zu bytes, logged %zu\n", total, log_len);
	free(log_buf);
	return 0;
}
