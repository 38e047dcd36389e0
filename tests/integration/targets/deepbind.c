/* dlopens lib_deep.so with RTLD_DEEPBIND (as heaptrack's dlopen test
 * does with libindirect), RTLD_NOW or, with argument "lazy", RTLD_LAZY.
 * With argument "second", lib_alloc.so is dlopen'ed first through the same
 * call, so the loader's own allocations for lib_deep.so have stacks the
 * recorder already knows (nothing else makes it look at the module map).
 * The library's constructor keeps 3 blocks of 111 B; then it allocates 25
 * blocks of 333 B and frees 5 of them itself; the program frees 5 more
 * with its own free, and allocates 7 blocks of 444 B that the library
 * frees.  Left live: 3 x 111 B and 15 x 333 B.  Issue 14, defect 5: a
 * deep-bound library's allocator calls went straight to libc. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static void *open_next_to(const char *self, const char *name, int flags)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", self);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
		 "%s", name);
	void *h = dlopen(path, flags);
	if (!h)
		fprintf(stderr, "%s\n", dlerror());
	return h;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int flags = (!strcmp(mode, "lazy") ? RTLD_LAZY : RTLD_NOW) | RTLD_DEEPBIND;
	const char *names[2] = { "lib_alloc.so", "lib_deep.so" };
	void *h = NULL;
	for (int i = strcmp(mode, "second") ? 1 : 0; i < 2; i++)
		if (!(h = open_next_to(argv[0], names[i], flags)))
			return 2;
	void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(h, "deep_alloc");
	void (*release)(void *) = (void (*)(void *))dlsym(h, "deep_free");
	int (*kept)(void) = (int (*)(void))dlsym(h, "deep_kept");
	void *b[25];
	for (int i = 0; i < 25; i++)
		b[i] = alloc(333);
	for (int i = 0; i < 5; i++)
		release(b[i]);
	for (int i = 5; i < 10; i++)
		free(b[i]);
	void *mine[7];
	for (int i = 0; i < 7; i++)
		mine[i] = malloc(444); /* @site:main_alloc */
	for (int i = 0; i < 7; i++)
		release(mine[i]);
	printf("deep done %d\n", kept());
	return 0;
}
