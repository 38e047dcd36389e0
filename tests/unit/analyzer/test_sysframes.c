/* sysframes: which frames are the system's (C/C++ runtimes, loader,
 * libgcc, the Python interpreter, heaptrail, standard library templates
 * expanded into the program) and which are the user's, and the patterns
 * added by --system / HEAPTRAIL_SYSTEM_FRAMES. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>

#include "render/sysframes.h"

#define EXE "/home/u/app/server"

typedef struct sys_case {
	const char *module; /* NULL: a Python frame */
	const char *file;
	const char *function;
	bool system;
} sys_case_t;

/* Pointers in parameters do not survive Criterion's re-exec of the
 * test binary: the parameter is an index into this table. */
static const sys_case_t builtin_rules_cases[] = {
	/* runtimes by module */
	{ "/lib/x86_64-linux-gnu/libc.so.6", "./libio/filedoalloc.c", "__GI__IO_file_doallocate", true },
	{ "/lib64/ld-linux-x86-64.so.2", NULL, "_dl_allocate_tls", true },
	{ "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", NULL, "std::__cxx11::basic_string<char>::_M_construct(unsigned long, char)", true },
	{ "/usr/lib/llvm-16/lib/libc++.so.1", NULL, "operator new(unsigned long)", true },
	{ "/usr/lib/libc++abi.so.1", NULL, "__cxa_allocate_exception", true },
	{ "/lib/x86_64-linux-gnu/libgcc_s.so.1", NULL, "_Unwind_Find_FDE", true },
	{ "/opt/py/lib/libpython3.11.so.1.0", "Objects/listobject.c", "list_resize", true },
	{ "/usr/bin/python3.11", "Objects/obmalloc.c", "_PyObject_Malloc", true },
	{ "/work/build/libheaptrail.so", NULL, "malloc", true },
	/* standard library templates inlined or instantiated in the
	 * user's own module */
	{ "", "/usr/include/c++/12/bits/new_allocator.h", "std::__new_allocator<double>::allocate(unsigned long, void const*)", true },
	{ EXE, "/opt/gcc-13/include/c++/13/bits/stl_vector.h", "std::vector<int>::push_back(int const&)", true },
	{ EXE, "/usr/lib/llvm-16/include/c++/v1/vector", "std::__1::vector<int>::push_back(int&&)", true },
	{ EXE, "/usr/include/x86_64-linux-gnu/bits/stdio2.h", "printf", true },
	/* no debug info: standard library names */
	{ EXE, NULL, "std::vector<int>::_M_realloc_insert(int const&)", true },
	{ EXE, NULL, "__gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*)", true },
	/* the C runtime's start code, linked into the program */
	{ "", NULL, "_start", true },
	{ EXE, "src/start.c", "_start", false },
	/* the user's code */
	{ "", "src/parse.cc", "parse(int)", false },
	{ EXE, "/home/u/app/src/cache.cc", "std::hash<Key>::operator()(Key const&) const", false },
	{ EXE, NULL, "parse(int)", false },
	{ "/home/u/app/libengine.so", "engine.c", "engine_alloc", false },
	{ "/usr/lib/x86_64-linux-gnu/libz.so.1", NULL, "deflateInit2_", false },
	{ "/usr/bin/pythonista", NULL, "main", false },
	/* Python frames are the user's unless a pattern says not */
	{ NULL, "/usr/lib/python3.11/json/decoder.py", "raw_decode", false },
	{ NULL, "app.py", "<module>", false },
};

ParameterizedTestParameters(sysframes, builtin_rules)
{
	static int idx[sizeof(builtin_rules_cases) / sizeof(builtin_rules_cases[0])];
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(int *i, sysframes, builtin_rules)
{
	const sys_case_t *c = &builtin_rules_cases[*i];
	sysframes_t *s = sysframes_new(true);
	sym_frame_t fr = { .module = c->module, .file = c->file,
			   .function = c->function, .address = c->module ? 0x1234 : 0 };

	bool got = sysframes_is_system(s, &fr, EXE);

	cr_assert_eq(got, c->system, "%s %s %s", c->module ? c->module : "(python)",
		     c->file ? c->file : "-", c->function);
	sysframes_free(s);
}

static bool is_sys(const sysframes_t *s, const char *module, const char *file,
		   const char *function)
{
	sym_frame_t fr = { .module = module, .file = file, .function = function,
			   .address = module ? 0x1234 : 0 };
	return sysframes_is_system(s, &fr, EXE);
}

Test(sysframes, patterns_match_module_file_or_function)
{
	sysframes_t *s = sysframes_new(false);

	cr_assert_eq(sysframes_add(s, "libengine.so*"), 0);
	cr_assert_eq(sysframes_add(s, "*/vendor/*"), 0);
	cr_assert_eq(sysframes_add(s, "util.c"), 0);
	cr_assert_eq(sysframes_add(s, "mylib::*"), 0);
	cr_assert_eq(sysframes_add(s, "*/lib/python3*/*"), 0);

	cr_assert(is_sys(s, "/opt/app/libengine.so.2", "engine.c", "run"), "module basename");
	cr_assert(is_sys(s, EXE, "/home/u/app/vendor/zlib/inflate.c", "inflate"), "file path");
	cr_assert(is_sys(s, "/opt/vendor/libx.so", NULL, "x"), "module path");
	cr_assert(is_sys(s, EXE, "src/util.c", "grow"), "file basename");
	cr_assert(is_sys(s, EXE, "src/a.cc", "mylib::Pool::get(int)"), "function");
	cr_assert(is_sys(s, NULL, "/usr/lib/python3.11/json/decoder.py", "raw_decode"), "python file");
	cr_assert(!is_sys(s, EXE, "src/main.cc", "main"));
	cr_assert(!is_sys(s, "", "/usr/include/c++/12/bits/new_allocator.h", "std::x"),
		  "no built-in rules in this set");
	sysframes_free(s);
}

Test(sysframes, the_main_program_module_is_the_executable)
{
	sysframes_t *s = sysframes_new(false);
	cr_assert_eq(sysframes_add(s, "server"), 0);

	cr_assert(is_sys(s, "", NULL, "main"), "module \"\" is " EXE);
	sysframes_free(s);
}

Test(sysframes, a_list_is_split_at_commas_and_empty_patterns_are_skipped)
{
	sysframes_t *s = sysframes_new(false);

	cr_assert_eq(sysframes_add_list(s, ",index_build*,,names*,"), 0);
	cr_assert_eq(sysframes_add(s, ""), -EINVAL);

	cr_assert(is_sys(s, EXE, "a.cc", "index_build()"));
	cr_assert(is_sys(s, EXE, "a.cc", "names()"));
	cr_assert(!is_sys(s, EXE, "a.cc", "parse(int)"));
	sysframes_free(s);
}

Test(sysframes, the_default_set_reads_the_environment_once)
{
	setenv(SYSFRAMES_ENV, "parse*", 1);

	sysframes_t *s = sysframes_default();

	cr_assert_eq(sysframes_default(), s);
	cr_assert(is_sys(s, EXE, "a.cc", "parse(int)"));
	cr_assert(is_sys(s, "/lib/x86_64-linux-gnu/libc.so.6", NULL, "malloc"), "built-ins too");
	cr_assert(!is_sys(s, EXE, "a.cc", "names()"));
}
