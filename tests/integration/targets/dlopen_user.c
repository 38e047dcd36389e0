/* dlopens lib_alloc.so (next to this executable) and leaks 4 x 777 bytes
 * allocated inside it.  With "close" as argument the library is dlclose'd
 * before exit, so its stacks point into an unloaded module.  With
 * "relative" it is opened as "./lib_alloc.so" from its own directory and
 * the program then moves to "/", so the loader's name for it is relative
 * and resolves to nothing afterwards. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n < 0)
		return 2;
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "lib_alloc.so");
	int relative = argc > 1 && strcmp(argv[1], "relative") == 0;
	if (relative) {
		*strrchr(path, '/') = '\0';
		if (chdir(path) != 0)
			return 2;
		strcpy(path, "./lib_alloc.so");
	}
	void *h = dlopen(path, RTLD_NOW);
	if (relative && chdir("/") != 0)
		return 2;
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	void *(*make)(size_t) = (void *(*)(size_t))dlsym(h, "lib_alloc_make");
	if (!make)
		return 2;
	for (int i = 0; i < 4; i++)
		make(777);
	if (argc > 1 && strcmp(argv[1], "close") == 0)
		dlclose(h);
	puts("ok");
	return 0;
}
