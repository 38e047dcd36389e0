/* Finds the public API by name, as an FFI user would (issue 18: the
 * library exported only heaptrail_snapshot_impl): dlsym(RTLD_DEFAULT,
 * "heaptrail_snapshot") and "heaptrail_recording", without heaptrail.h.
 * Allocates 3 x 500 bytes (leaked) before the snapshot "by-name".
 * Prints "found=1 snapshot=0 recording=1" when recorded, "found=0" when
 * the recorder is not loaded. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile keep[3];

int main(void)
{
	int (*snap)(const char *);
	int (*rec)(void);
	*(void **)&snap = dlsym(RTLD_DEFAULT, "heaptrail_snapshot");
	*(void **)&rec = dlsym(RTLD_DEFAULT, "heaptrail_recording");
	if (!snap || !rec) {
		printf("found=0\n");
		return 0;
	}
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(500);
	int s = snap("by-name");
	printf("found=1 snapshot=%d recording=%d\n", s, rec());
	return 0;
}
