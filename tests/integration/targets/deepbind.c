/* dlopens lib_deep.so with RTLD_DEEPBIND (as heaptrack's dlopen test
 * does with libindirect), then has it allocate 25 blocks of 333 B and
 * free 5 of them.  Issue 14, defect 5: a deep-bound library's allocator
 * calls went straight to libc. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	(void)argc;
	char path[4096];
	snprintf(path, sizeof(path), "%s", argv[0]);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
		 "lib_deep.so");
	void *h = dlopen(path, RTLD_NOW | RTLD_DEEPBIND);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 2;
	}
	void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(h, "deep_alloc");
	void (*release)(void *) = (void (*)(void *))dlsym(h, "deep_free");
	void *b[25];
	for (int i = 0; i < 25; i++)
		b[i] = alloc(333);
	for (int i = 0; i < 5; i++)
		release(b[i]);
	puts("deep done");
	return 0;
}
