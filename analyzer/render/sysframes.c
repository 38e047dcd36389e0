/* System frame classifier: see sysframes.h. */
#include "render/sysframes.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

struct sysframes {
	bool builtins;
	char **pat; /* added patterns (owned) */
	size_t n, cap;
};

/* Module basenames (fnmatch). */
static const char *const sys_modules[] = {
	"libc.so*", "libc-*.so", "ld-linux*.so*", "ld-*.so*", "ld.so*",
	"ld64.so*", "libpthread.so*", "libpthread-*.so", "libdl.so*",
	"libdl-*.so", "librt.so*", "librt-*.so", "libm.so*", "libm-*.so",
	"libstdc++.so*", "libc++.so*", "libc++abi.so*", "libgcc_s.so*",
	"libpython*.so*", "python", "python[0-9]*", "libheaptrail*",
};

/* Source files (fnmatch on the path as recorded). */
static const char *const sys_files[] = {
	"/usr/include/*",
	"*/include/c++/*",
	"*/c++/v1/*",
};

/* Functions, for frames without a source file.  The C runtime's start
 * files (crt1.o, crti.o) are linked into the program without debug info:
 * their frames are the executable's but not the user's. */
static const char *const sys_functions[] = {
	"std::*", "__gnu_cxx::*", "__cxxabiv1::*", "__cxa_*",
	"operator new*", "operator delete*",
	"_start", "_init", "_fini", "__libc_csu_*",
};

sysframes_t *sysframes_new(bool builtins)
{
	sysframes_t *s = calloc(1, sizeof(*s));
	if (s)
		s->builtins = builtins;
	return s;
}

void sysframes_free(sysframes_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->pat[i]);
	free(s->pat);
	free(s);
}

sysframes_t *sysframes_default(void)
{
	static sysframes_t fallback = { .builtins = true };
	static sysframes_t *def;
	if (!def) {
		def = sysframes_new(true);
		if (!def)
			return &fallback;
		const char *env = getenv(SYSFRAMES_ENV);
		if (env)
			sysframes_add_list(def, env);
	}
	return def;
}

int sysframes_add(sysframes_t *s, const char *pattern)
{
	if (!pattern || !*pattern)
		return -EINVAL;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		char **np = realloc(s->pat, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->pat = np;
		s->cap = nc;
	}
	if (!(s->pat[s->n] = strdup(pattern)))
		return -ENOMEM;
	s->n++;
	return 0;
}

int sysframes_add_list(sysframes_t *s, const char *list)
{
	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t n = end ? (size_t)(end - list) : strlen(list);
		if (n) {
			char *p = strndup(list, n);
			if (!p)
				return -ENOMEM;
			int rc = sysframes_add(s, p);
			free(p);
			if (rc == -ENOMEM)
				return rc;
		}
		list = end ? end + 1 : NULL;
	}
	return 0;
}

static bool match_list(const char *const *pats, size_t n, const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pats[i], s, 0) == 0)
			return true;
	return false;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

bool sysframes_is_system(const sysframes_t *s, const sym_frame_t *fr,
			 const char *exe)
{
	const char *mod = fr->module;
	if (mod && !*mod)
		mod = exe;
	const char *mbase = mod ? sym_basename(mod) : NULL;
	const char *fbase = fr->file ? sym_basename(fr->file) : NULL;
	if (s->builtins && fr->module) {
		if (match_list(sys_modules, NELEM(sys_modules), mbase))
			return true;
		if (match_list(sys_files, NELEM(sys_files), fr->file))
			return true;
		if (!fr->file && match_list(sys_functions, NELEM(sys_functions),
					    fr->function))
			return true;
	}
	const char *const *p = (const char *const *)s->pat;
	return match_list(p, s->n, mod) || match_list(p, s->n, mbase) ||
	       match_list(p, s->n, fr->file) || match_list(p, s->n, fbase) ||
	       match_list(p, s->n, fr->function);
}
