/* sanitizer: see sanitizer.h.  Every sanitizer runtime's init function is
 * in the program's dynamic symbol table: imported (gcc links the runtime
 * as a shared library) or defined and exported (clang links it in). */
#include "launcher/sanitizer.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *init, *name;
} runtimes[] = {
	{ "__asan_init", "AddressSanitizer" },
	{ "__tsan_init", "ThreadSanitizer" },
	{ "__msan_init", "MemorySanitizer" },
	{ "__hwasan_init", "HWAddressSanitizer" },
};

/* The file execvp would run for name: name itself when it has a '/'. */
static int find_in_path(const char *name, char *buf, size_t len)
{
	if (strchr(name, '/'))
		return snprintf(buf, len, "%s", name) < (int)len ? 0 : -1;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (snprintf(buf, len, "%.*s%s%s", (int)n, p, n ? "/" : "", name) < (int)len &&
		    access(buf, X_OK) == 0)
			return 0;
		if (!end)
			return -1;
		p = end;
	}
}

/* The sanitizer named by the dynamic symbols of the ELF image m (len
 * bytes), or NULL.  Every offset is checked against len. */
static const char *scan(const unsigned char *m, size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > len || (len - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		return NULL;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset ||
		    str->sh_offset > len || str->sh_size > len - str->sh_offset)
			return NULL;
		const Elf64_Sym *sym = (const Elf64_Sym *)(m + sh[i].sh_offset);
		const char *names = (const char *)(m + str->sh_offset);
		size_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < nsym; k++) {
			if (sym[k].st_name >= str->sh_size)
				continue;
			const char *s = names + sym[k].st_name;
			size_t room = str->sh_size - sym[k].st_name;
			for (size_t r = 0; r < sizeof(runtimes) / sizeof(runtimes[0]); r++)
				if (strnlen(s, room) < room && !strcmp(s, runtimes[r].init))
					return runtimes[r].name;
		}
	}
	return NULL;
}

const char *sanitizer_of(const char *program)
{
	char path[PATH_MAX];
	if (find_in_path(program, path, sizeof(path)) < 0)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	const char *name = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			name = scan(m, (size_t)st.st_size);
			munmap(m, (size_t)st.st_size);
		}
	}
	close(fd);
	return name;
}
