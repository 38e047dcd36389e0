/* symbols: offline symbolization against the real test binary and
 * libstdc++, with module maps built from dl_iterate_phdr exactly as the
 * recorder builds them. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/symbols.h"

/* ---- functions with known call sites ------------------------------------ */

__attribute__((noinline, noclone, used)) static uintptr_t return_address(void)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
	return ra;
}

static int plain_call_line;
__attribute__((noinline, noclone, used)) static uintptr_t plain_caller(void)
{
	plain_call_line = __LINE__ + 1;
	uintptr_t ra = return_address();
	__asm__ volatile("" ::: "memory");
	return ra;
}

static int inner_call_line, outer_call_line;
static inline __attribute__((always_inline)) uintptr_t inlined_helper(void)
{
	inner_call_line = __LINE__ + 1;
	uintptr_t ra = return_address();
	__asm__ volatile("" ::: "memory");
	return ra;
}

__attribute__((noinline, noclone, used)) static uintptr_t inline_outer(void)
{
	outer_call_line = __LINE__ + 1;
	uintptr_t ra = inlined_helper();
	__asm__ volatile("" ::: "memory");
	return ra;
}

/* ---- module map of this process ----------------------------------------- */

struct self_map {
	sym_t *sym;
	const char *only; /* add only modules whose path contains this */
	int corrupt_build_id; /* flip a build-id byte */
	const char *rename; /* add under this path instead */
};

static size_t find_build_id(struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof *nh;
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4) && nh->n_descsz <= 64) {
				memcpy(out, desc, nh->n_descsz);
				return nh->n_descsz;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct self_map *sm = arg;
	const char *path = info->dlpi_name ? info->dlpi_name : "";
	if (sm->only && !strstr(*path ? path : "<main>", sm->only))
		return 0;
	uint64_t segs[32][3];
	size_t n = 0;
	for (int i = 0; i < info->dlpi_phnum && n < 32; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		segs[n][0] = ph->p_vaddr;
		segs[n][1] = ph->p_memsz;
		segs[n][2] = ph->p_flags;
		n++;
	}
	uint8_t bid[64];
	size_t blen = find_build_id(info, bid);
	if (sm->corrupt_build_id && blen)
		bid[0] ^= 0xff;
	sym_module_add(sm->sym, sm->rename ? sm->rename : path,
		       info->dlpi_addr, bid, blen,
		       (const uint64_t(*)[3])segs, n);
	return 0;
}

static char exe[4096];

static sym_t *self_sym(const char *only, int corrupt, const char *rename)
{
	sym_t *sym = sym_new();
	cr_assert_not_null(sym);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cr_assert_gt(n, 0);
	exe[n] = 0;
	sym_set_exe_path(sym, exe);
	sym_modules_begin(sym, 1);
	struct self_map sm = { sym, only, corrupt, rename };
	dl_iterate_phdr(add_module, &sm);
	return sym;
}

static int count_warnings(sym_t *sym, const char *needle)
{
	const char *const *w;
	size_t n = sym_warnings(sym, &w);
	int c = 0;
	for (size_t i = 0; i < n; i++)
		if (strstr(w[i], needle))
			c++;
	return c;
}

static void assert_file(const char *file)
{
	cr_assert_not_null(file);
	const char *b = strrchr(file, '/');
	cr_assert_str_eq(b ? b + 1 : file, "test_symbols.c");
}

/* ---- tests -------------------------------------------------------------- */

Test(symbols, call_site_in_the_test_binary_has_function_file_and_line)
{
	uintptr_t ra = plain_caller();
	sym_t *sym = self_sym("<main>", 0, NULL);
	const sym_frame_t *f;
	int n = sym_resolve(sym, 1, ra - 1, &f);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(f[0].function, "plain_caller");
	assert_file(f[0].file);
	cr_assert_eq(f[0].line, (uint32_t)plain_call_line);
	cr_assert_str_eq(f[0].module, exe);
	cr_assert_eq(f[0].address, ra);
	cr_assert_eq(f[0].inlined, 0);
	const char *const *w;
	cr_assert_eq(sym_warnings(sym, &w), 0, "unexpected: %s",
		     sym_warnings(sym, &w) ? w[0] : "");
	sym_free(sym);
}

Test(symbols, inlined_call_expands_to_two_frames)
{
	uintptr_t ra = inline_outer();
	sym_t *sym = self_sym("<main>", 0, NULL);
	const sym_frame_t *f;
	int n = sym_resolve(sym, 1, ra - 1, &f);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(f[0].function, "inlined_helper");
	assert_file(f[0].file);
	cr_assert_eq(f[0].line, (uint32_t)inner_call_line);
	cr_assert_eq(f[0].inlined, 1);
	cr_assert_str_eq(f[1].function, "inline_outer");
	assert_file(f[1].file);
	cr_assert_eq(f[1].line, (uint32_t)outer_call_line);
	cr_assert_eq(f[1].inlined, 0);
	cr_assert_eq(f[1].address, ra);
	sym_free(sym);
}

Test(symbols, each_address_is_symbolized_once)
{
	uintptr_t ra = plain_caller();
	sym_t *sym = self_sym("<main>", 0, NULL);
	const sym_frame_t *a, *b;
	cr_assert_eq(sym_resolve(sym, 1, ra - 1, &a), 1);
	/* A later generation listing the same module shares the entry. */
	sym_modules_begin(sym, 2);
	struct self_map sm = { sym, "<main>", 0, NULL };
	dl_iterate_phdr(add_module, &sm);
	cr_assert_eq(sym_resolve(sym, 2, ra - 1, &b), 1);
	cr_assert_eq(a, b);
	sym_free(sym);
}

Test(symbols, changed_build_id_gives_module_offset_and_one_warning)
{
	uintptr_t ra = plain_caller();
	uintptr_t rb = inline_outer();
	sym_t *sym = self_sym("<main>", 1, NULL);
	const sym_frame_t *f;
	cr_assert_eq(sym_resolve(sym, 1, ra - 1, &f), 1);
	cr_assert_null(f[0].function);
	cr_assert_null(f[0].file);
	cr_assert_str_eq(f[0].module, exe);
	cr_assert_eq(f[0].address, ra);
	cr_assert_eq(sym_resolve(sym, 1, rb - 1, &f), 1);
	cr_assert_null(f[0].function);
	const char *const *w;
	cr_assert_eq(sym_warnings(sym, &w), 1);
	cr_assert(strstr(w[0], "changed since recording (build-id differs"),
		  "%s", w[0]);
	cr_assert(strstr(w[0], exe), "%s", w[0]);
	char buf[256], want[256];
	sym_frame_format(f, buf, sizeof buf);
	snprintf(want, sizeof want, "%s+0x%llx", sym_basename(exe),
		 (unsigned long long)f[0].offset);
	cr_assert_str_eq(buf, want);
	sym_free(sym);
}

Test(symbols, missing_file_gives_module_offset_and_one_warning)
{
	uintptr_t ra = plain_caller();
	sym_t *sym = self_sym("<main>", 0, "/nonexistent/dir/libgone.so");
	const sym_frame_t *f;
	cr_assert_eq(sym_resolve(sym, 1, ra - 1, &f), 1);
	cr_assert_null(f[0].function);
	cr_assert_str_eq(f[0].module, "/nonexistent/dir/libgone.so");
	uintptr_t rb = inline_outer();
	cr_assert_eq(sym_resolve(sym, 1, rb - 1, &f), 1);
	cr_assert_eq(count_warnings(sym, "/nonexistent/dir/libgone.so: cannot "
					 "open"),
		     1);
	const char *const *w;
	cr_assert_eq(sym_warnings(sym, &w), 1);
	char buf[256];
	sym_frame_format(f, buf, sizeof buf);
	cr_assert(!strncmp(buf, "libgone.so+0x", 13), "%s", buf);
	sym_free(sym);
}

Test(symbols, unnamed_main_executable_without_exe_path_is_raw)
{
	uintptr_t ra = plain_caller();
	sym_t *sym = sym_new();
	sym_modules_begin(sym, 0);
	struct self_map sm = { sym, "<main>", 0, NULL };
	dl_iterate_phdr(add_module, &sm);
	const sym_frame_t *f;
	cr_assert_eq(sym_resolve(sym, 0, ra - 1, &f), 1);
	cr_assert_null(f[0].function);
	cr_assert_eq(count_warnings(sym, "main executable: path unknown"), 1);
	sym_free(sym);
}

Test(symbols, address_outside_every_module_is_shown_raw)
{
	sym_t *sym = self_sym("<main>", 0, NULL);
	const sym_frame_t *f;
	cr_assert_eq(sym_resolve(sym, 1, 0x10, &f), 1);
	cr_assert_null(f[0].module);
	cr_assert_null(f[0].function);
	cr_assert_eq(f[0].address, 0x11);
	char buf[64];
	sym_frame_format(f, buf, sizeof buf);
	cr_assert_str_eq(buf, "0x11");
	sym_free(sym);
}

Test(symbols, disabled_symbols_open_nothing)
{
	uintptr_t ra = plain_caller();
	sym_t *sym = self_sym("<main>", 0, "/nonexistent/never-opened");
	sym_set_enabled(sym, 0);
	const sym_frame_t *f;
	cr_assert_eq(sym_resolve(sym, 1, ra - 1, &f), 1);
	cr_assert_null(f[0].function);
	cr_assert_str_eq(f[0].module, "/nonexistent/never-opened");
	const char *const *w;
	cr_assert_eq(sym_warnings(sym, &w), 0);
	sym_free(sym);
}

Test(symbols, cxx_names_from_the_symbol_table_are_demangled)
{
	void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h);
	void *fn = dlsym(h, "_ZNSt9bad_allocD0Ev");
	cr_assert_not_null(fn);
	sym_t *sym = self_sym("libstdc++", 0, NULL);
	const sym_frame_t *f;
	cr_assert_geq(sym_resolve(sym, 1, (uintptr_t)fn + 1, &f), 1);
	cr_assert_not_null(f[0].function);
	cr_assert_str_eq(f[0].function, "std::bad_alloc::~bad_alloc()");
	cr_assert(strstr(f[0].module, "libstdc++"));
	sym_free(sym);
	dlclose(h);
}

/* A library whose DWARF lives in a separate file found through
 * .gnu_debuglink (the same lookup finds /usr/lib/debug/.build-id/). */
Test(symbols, separate_debug_info_is_found, .timeout = 60)
{
	if (system("command -v cc >/dev/null && command -v objcopy >/dev/null"))
		cr_skip_test("cc or objcopy missing");
	char dir[] = "/tmp/heaptrail-sym-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[512], cmd[2048];
	snprintf(path, sizeof path, "%s/sep.c", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("#include <stdint.h>\n"
	      "uintptr_t sep_caller(uintptr_t (*cb)(void))\n"
	      "{\n"
	      "\tuintptr_t r = cb();\n" /* line 4 */
	      "\t__asm__ volatile(\"\" ::: \"memory\");\n"
	      "\treturn r;\n"
	      "}\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "cd %s && cc -shared -fPIC -g -O1 -o libsep.so sep.c && "
		 "objcopy --only-keep-debug libsep.so libsep.so.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=libsep.so.debug "
		 "libsep.so",
		 dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(path, sizeof path, "%s/libsep.so", dir);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "%s", dlerror());
	uintptr_t (*fn)(uintptr_t (*)(void)) =
		(uintptr_t(*)(uintptr_t(*)(void)))dlsym(h, "sep_caller");
	cr_assert_not_null(fn);
	uintptr_t ra = fn(return_address);
	sym_t *sym = self_sym("libsep.so", 0, NULL);
	const sym_frame_t *fr;
	cr_assert_eq(sym_resolve(sym, 1, ra - 1, &fr), 1);
	cr_assert_str_eq(fr[0].function, "sep_caller");
	cr_assert_not_null(fr[0].file);
	cr_assert(strstr(fr[0].file, "sep.c"), "%s", fr[0].file);
	cr_assert_eq(fr[0].line, 4);
	const char *const *w;
	cr_assert_eq(sym_warnings(sym, &w), 0, "%s",
		     sym_warnings(sym, &w) ? w[0] : "");
	sym_free(sym);
	dlclose(h);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* The same library stripped of everything but its symbol table: function
 * names, one warning, no file:line. */
Test(symbols, no_debug_info_gives_symbol_table_names_and_one_warning,
     .timeout = 60)
{
	if (system("command -v cc >/dev/null"))
		cr_skip_test("cc missing");
	char dir[] = "/tmp/heaptrail-sym-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[512], cmd[2048];
	snprintf(path, sizeof path, "%s/nodbg.c", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("#include <stdint.h>\n"
	      "uintptr_t nodbg_caller(uintptr_t (*cb)(void))\n"
	      "{\n"
	      "\tuintptr_t r = cb();\n"
	      "\t__asm__ volatile(\"\" ::: \"memory\");\n"
	      "\treturn r;\n"
	      "}\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "cd %s && cc -shared -fPIC -O1 -o libnodbg.so nodbg.c", dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(path, sizeof path, "%s/libnodbg.so", dir);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "%s", dlerror());
	uintptr_t (*fn)(uintptr_t (*)(void)) =
		(uintptr_t(*)(uintptr_t(*)(void)))dlsym(h, "nodbg_caller");
	cr_assert_not_null(fn);
	uintptr_t ra = fn(return_address);
	uintptr_t rb = fn(return_address);
	sym_t *sym = self_sym("libnodbg.so", 0, NULL);
	const sym_frame_t *fr;
	cr_assert_eq(sym_resolve(sym, 1, ra - 1, &fr), 1);
	cr_assert_str_eq(fr[0].function, "nodbg_caller");
	cr_assert_null(fr[0].file);
	cr_assert_eq(fr[0].line, 0);
	cr_assert_eq(sym_resolve(sym, 1, rb - 1, &fr), 1);
	cr_assert_eq(count_warnings(sym, "no debug info"), 1);
	char buf[256];
	sym_frame_format(fr, buf, sizeof buf);
	cr_assert_str_eq(buf, "nodbg_caller (libnodbg.so)");
	sym_free(sym);
	dlclose(h);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
