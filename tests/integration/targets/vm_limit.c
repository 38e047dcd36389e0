/* For the address-space-limit tests (ulimit -v): 300000 mallocs of 24
 * bytes, all kept, then freed.  Prints "failed N" (how many returned NULL)
 * and "vmpeak K" (VmPeak from /proc/self/status, KiB) on stdout; exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 300000

static void *blocks[N];

static long vm_peak_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmPeak:", 7) == 0)
			kib = strtol(line + 7, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

int main(void)
{
	long failed = 0;
	for (int i = 0; i < N; i++) {
		blocks[i] = malloc(24); // @site:block
		failed += blocks[i] == NULL;
	}
	long peak = vm_peak_kib();
	for (int i = 0; i < N; i++)
		free(blocks[i]);
	printf("failed %ld\nvmpeak %ld\n", failed, peak);
	return 0;
}
