/* 200 tiny call sites and one big one, for the "other" node of the page
 * of `heaptrail html`: tiny_0 .. tiny_199 (called from spread()) keep 16
 * bytes each (3200 bytes, 0.3% of the total together, 0.0015% each), and
 * big() keeps 1 MiB.  No stdio. */
#include <stdlib.h>

static void *volatile keep[201];

#define TINY(n)                                          \
	static __attribute__((noinline)) void tiny_##n(void) \
	{                                                    \
		keep[n] = malloc(16);                        \
	}
#define TINY10(d) TINY(d##0) TINY(d##1) TINY(d##2) TINY(d##3) TINY(d##4) \
	TINY(d##5) TINY(d##6) TINY(d##7) TINY(d##8) TINY(d##9)
TINY(0) TINY(1) TINY(2) TINY(3) TINY(4) TINY(5) TINY(6) TINY(7) TINY(8) TINY(9)
TINY10(1) TINY10(2) TINY10(3) TINY10(4) TINY10(5) TINY10(6) TINY10(7) TINY10(8) TINY10(9)
TINY10(10) TINY10(11) TINY10(12) TINY10(13) TINY10(14) TINY10(15) TINY10(16)
TINY10(17) TINY10(18) TINY10(19)

#define PTR(n) tiny_##n,
#define PTR10(d) PTR(d##0) PTR(d##1) PTR(d##2) PTR(d##3) PTR(d##4) \
	PTR(d##5) PTR(d##6) PTR(d##7) PTR(d##8) PTR(d##9)
static void (*const tinies[200])(void) = {
	PTR(0) PTR(1) PTR(2) PTR(3) PTR(4) PTR(5) PTR(6) PTR(7) PTR(8) PTR(9)
	PTR10(1) PTR10(2) PTR10(3) PTR10(4) PTR10(5) PTR10(6) PTR10(7) PTR10(8)
	PTR10(9) PTR10(10) PTR10(11) PTR10(12) PTR10(13) PTR10(14) PTR10(15)
	PTR10(16) PTR10(17) PTR10(18) PTR10(19)
};

/* One call line: every tiny stack goes through the same spread frame. */
static __attribute__((noinline)) void spread(void)
{
	for (int i = 0; i < 200; i++)
		tinies[i]();
}

static __attribute__((noinline)) void big(void)
{
	keep[200] = malloc(1 << 20);
}

int main(void)
{
	spread();
	big();
	return 0;
}
