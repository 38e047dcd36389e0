/* N (argv[1]) malloc/free pairs of varying sizes, then one line: a known
 * number of events, far more than a tiny filesystem holds. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(16 + (size_t)(i % 100) * 8);
		free(p);
	}
	printf("%ld pairs\n", n);
	return 0;
}
