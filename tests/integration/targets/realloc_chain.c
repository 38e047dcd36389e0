/* Two realloc chains with known steps: grow_buffer() goes
 * 10 -> 100 -> 1000 -> 10000 -> 100000 -> 50 and keeps the block;
 * double_up() doubles 16 -> 32 -> ... -> 16384 (10 steps) and frees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile kept;

static void grow_buffer(void)
{
	static const size_t sizes[] = { 100, 1000, 10000, 100000, 50 };
	char *p = malloc(10); /* @site:grow_start */
	memset(p, 1, 10);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = realloc(p, sizes[i]); /* @site:grow_step */
		memset(p, 2, sizes[i]);
	}
	kept = p;
}

static void double_up(void)
{
	size_t n = 16;
	char *p = malloc(n); /* @site:double_start */
	for (int i = 0; i < 10; i++) {
		n *= 2;
		p = realloc(p, n); /* @site:double_step */
		p[n - 1] = 1;
	}
	free(p);
}

int main(void)
{
	grow_buffer();
	double_up();
	puts("done");
	return 0;
}
