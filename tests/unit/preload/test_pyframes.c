/* pyframes: Python frames against real CPython 3.9-3.13 embedded in the
 * test process (each Criterion test is its own process, so each loads its
 * own libpython from /root/.pyenv; skipped when that version is missing),
 * by the frame walk (3.11+) and by the profile function's shadow stack
 * (3.9, 3.10, and 3.11+ with HEAPTRAIL_PYTHON_FRAMES=profile).
 * A script calls capture points through ctypes; each test checks exact
 * frames and lines for recursion, deep recursion, generators, exceptions
 * unwinding many frames, threads, a thread pool, and what a capture
 * without the GIL reports. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgfd.h"
#include "pyframes.h"

int heaptrail_py_install(void *frame);
int heaptrail_py_install_thread(void *frame);
void heaptrail_py_stop(void);
int heaptrail_py_mode(void);

/* Captured stacks, one line per capture: "tag: f:line f:line | f:line"
 * ("|" = boundary pseudo frame).  Appended under the GIL, or by the one
 * thread that calls the no-GIL capture while the others wait. */
static char captured[1 << 16];
static char code_name[4096][96];

static void on_code(void *ctx, uint32_t id, const char *file, const char *func,
		    uint32_t firstline)
{
	(void)ctx;
	(void)file;
	(void)firstline;
	if (id < 4096)
		snprintf(code_name[id], sizeof(code_name[id]), "%s", func);
}

static int capture_point(const char *tag)
{
	uint32_t ids[PYFRAMES_MAX], lines[PYFRAMES_MAX];
	int n = pyframes_capture(ids, lines, PYFRAMES_MAX);
	pyframes_emit_new(on_code, NULL);
	size_t o = strlen(captured);
	o += (size_t)snprintf(captured + o, sizeof(captured) - o, "%s:", tag);
	for (int i = 0; i < n && o < sizeof(captured) - 128; i++) {
		const char *fn = ids[i] < 4096 ? code_name[ids[i]] : "?";
		if (!strcmp(fn, PYFRAMES_BOUNDARY_FUNC))
			o += (size_t)snprintf(captured + o, sizeof(captured) - o, " |");
		else
			o += (size_t)snprintf(captured + o, sizeof(captured) - o, " %s:%u",
					      fn, lines[i]);
	}
	snprintf(captured + o, sizeof(captured) - o, "\n");
	return n;
}

/* The line of `tag` in captured, boundaries removed unless keep_bounds. */
static const char *line_of(const char *tag, int keep_bounds)
{
	static char out[8192];
	char key[64];
	snprintf(key, sizeof(key), "%s:", tag);
	for (const char *p = captured; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (!strncmp(p, key, strlen(key))) {
			size_t o = 0;
			for (size_t i = strlen(key); i < len && o < sizeof(out) - 1; i++) {
				if (!keep_bounds && p[i] == ' ' && i + 1 < len && p[i + 1] == '|') {
					i++;
					continue;
				}
				out[o++] = p[i];
			}
			out[o] = 0;
			return out;
		}
		p = nl ? nl + 1 : p + len;
	}
	return "(no capture)";
}

static void *lib;

static void *api(const char *name)
{
	void *p = dlsym(lib, name);
	cr_assert_not_null(p, "%s missing", name);
	return p;
}

/* Loads and starts CPython <ver> (e.g. "3.11.7"), installs Python frame
 * capture (from C with no frame, or from_python: from a Python function,
 * as heaptrail.py does, which gives the layout check frames to compare)
 * and runs `script` with CAP/CAPNG/INST bound to our functions. */
static void run_python_how(const char *ver, const char *script, int from_python)
{
	char home[256], path[512];
	snprintf(home, sizeof(home), "/root/.pyenv/versions/%s", ver);
	int minor = atoi(ver + 2);
	snprintf(path, sizeof(path), "%s/lib/libpython3.%d.so.1.0", home, minor);
	if (access(path, R_OK) != 0)
		cr_skip_test("%s not installed", path);
	setenv("PYTHONHOME", home, 1);
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
	unsetenv("PYTHONPATH");
	lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	cr_assert_not_null(lib, "%s", dlerror());
	pyframes_init();
	((void (*)(int))api("Py_InitializeEx"))(0);
	if (!from_python)
		cr_assert_eq(heaptrail_py_install(NULL), 0);
	char pre[1024];
	snprintf(pre, sizeof(pre),
		 "import ctypes, sys\n"
		 "CAP = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_char_p)(%lu)\n"
		 "CAPNG = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)(%lu)\n"
		 "INST = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object)(%lu)\n"
		 "INSTALL = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object)(%lu)\n"
		 "def install():\n"
		 "    assert INSTALL(sys._getframe(1)) == 0\n"
		 "%s",
		 (unsigned long)(uintptr_t)capture_point, (unsigned long)(uintptr_t)capture_point,
		 (unsigned long)(uintptr_t)heaptrail_py_install_thread,
		 (unsigned long)(uintptr_t)heaptrail_py_install, from_python ? "install()\n" : "");
	int (*run)(const char *) = (int (*)(const char *))api("PyRun_SimpleString");
	cr_assert_eq(run(pre), 0);
	cr_assert_eq(run(script), 0, "script failed (see stderr)");
}

static void run_python(const char *ver, const char *script)
{
	run_python_how(ver, script, 0);
}

/* Line numbers below are those of the script (PyRun_SimpleString names it
 * "<string>" and starts at line 1). */
static const char script[] =
	"import sys, threading\n" /* 1 */
	"def rec(n):\n" /* 2 */
	"    if n == 0:\n" /* 3 */
	"        return CAP(b'rec3')\n" /* 4 */
	"    return rec(n - 1)\n" /* 5 */
	"rec(3)\n" /* 6 */
	"def gen():\n" /* 7 */
	"    CAP(b'gen1')\n" /* 8 */
	"    yield 1\n" /* 9 */
	"    x = [0] * 10\n" /* 10 */
	"    CAP(b'gen2')\n" /* 11 */
	"    yield 2\n" /* 12 */
	"g = gen()\n" /* 13 */
	"next(g)\n" /* 14 */
	"CAP(b'between')\n" /* 15 */
	"next(g)\n" /* 16 */
	"def boom(n):\n" /* 17 */
	"    if n == 0:\n" /* 18 */
	"        raise ValueError('x')\n" /* 19 */
	"    boom(n - 1)\n" /* 20 */
	"def catcher():\n" /* 21 */
	"    try:\n" /* 22 */
	"        boom(40)\n" /* 23 */
	"    except ValueError:\n" /* 24 */
	"        return CAP(b'caught')\n" /* 25 */
	"catcher()\n" /* 26 */
	"try:\n" /* 27 */
	"    boom(60)\n" /* 28 */
	"except ValueError:\n" /* 29 */
	"    CAP(b'unwound')\n" /* 30 */
	"sorted([3, 1], key=lambda v: CAP(b'key%d' % v))\n" /* 31 */
	"def nogil():\n" /* 32 */
	"    CAP(b'warm')\n" /* 33 */
	"    y = 1\n" /* 34 */
	"    CAPNG(b'nogil')\n" /* 35 */
	"nogil()\n" /* 36 */
	"threading.setprofile(lambda f, e, a: INST(f))\n" /* 37 */
	"def work(tag):\n" /* 38 */
	"    return CAP(tag)\n" /* 39 */
	"t = threading.Thread(target=work, args=(b'thread',))\n" /* 40 */
	"t.start(); t.join()\n" /* 41 */
	"from concurrent.futures import ThreadPoolExecutor\n" /* 42 */
	"with ThreadPoolExecutor(2) as ex:\n" /* 43 */
	"    list(ex.map(work, [b'pool1', b'pool2']))\n" /* 44 */
	"sys.setrecursionlimit(10000)\n" /* 45 */
	"def deep(n):\n" /* 46 */
	"    if n == 0:\n" /* 47 */
	"        return CAP(b'deep')\n" /* 48 */
	"    return deep(n - 1)\n" /* 49 */
	"deep(3000)\n" /* 50 */
	"CAP(b'end')\n"; /* 51 */

enum { PROFILE = 1, WALK = 2 }; /* heaptrail_py_mode() */

static void check_common(int bounds_every_frame, int mode)
{
	cr_assert_eq(heaptrail_py_mode(), mode);
	cr_assert_str_eq(line_of("rec3", 0), " rec:4 rec:5 rec:5 rec:5 <module>:6");
	cr_assert_str_eq(line_of("gen1", 0), " gen:8 <module>:14");
	cr_assert_str_eq(line_of("between", 0), " <module>:15");
	cr_assert_str_eq(line_of("gen2", 0), " gen:11 <module>:16");
	cr_assert_str_eq(line_of("caught", 0), " catcher:25 <module>:26");
	cr_assert_str_eq(line_of("unwound", 0), " <module>:30");
	cr_assert_str_eq(line_of("key3", 0), " <lambda>:31 <module>:31");
	cr_assert_str_eq(line_of("key1", 0), " <lambda>:31 <module>:31");
	/* A generator resumed by next() and a key function called by sorted()
	 * run in their own native evaluation invocation. */
	cr_assert_str_eq(line_of("gen2", 1), " gen:11 | <module>:16");
	cr_assert_str_eq(line_of("key1", 1), " <lambda>:31 | <module>:31");
	if (bounds_every_frame)
		cr_assert_str_eq(line_of("rec3", 1), " rec:4 | rec:5 | rec:5 | rec:5 | <module>:6");
	else
		cr_assert_str_eq(line_of("rec3", 1), " rec:4 rec:5 rec:5 rec:5 <module>:6");
	/* Without the GIL the walk still reads the frame's current line; the
	 * shadow stack keeps the line of the frame's last capture. */
	if (mode == WALK)
		cr_assert_str_eq(line_of("nogil", 0), " nogil:35 <module>:36");
	else
		cr_assert_str_eq(line_of("nogil", 0), " nogil:33 <module>:36");
	cr_assert_str_eq(line_of("end", 0), " <module>:51");

	const char *th = line_of("thread", 0);
	cr_assert(strstr(th, " work:39 ") == th, "thread: %s", th);
	cr_assert(strstr(th, "run:") && strstr(th, "_bootstrap_inner:") &&
		  strstr(th, "_bootstrap:"), "thread: %s", th);
	for (int i = 1; i <= 2; i++) {
		char tag[8];
		snprintf(tag, sizeof(tag), "pool%d", i);
		const char *p = line_of(tag, 0);
		cr_assert(strstr(p, " work:39 ") == p, "%s: %s", tag, p);
		cr_assert(strstr(p, "_worker:") && strstr(p, "_bootstrap:"), "%s: %s", tag, p);
		cr_assert_null(strstr(p, "<module>"), "%s: %s", tag, p);
	}

	/* 3000 deep: the innermost frames, then truncation at PYFRAMES_MAX. */
	const char *d = line_of("deep", 0);
	cr_assert(strncmp(d, " deep:48 deep:49 deep:49 ", 25) == 0, "deep: %.80s", d);
	int n = 0;
	for (const char *p = d; (p = strstr(p, " deep:")); p++)
		n++;
	cr_assert_eq(n, bounds_every_frame ? PYFRAMES_MAX / 2 : PYFRAMES_MAX, "deep frames: %d", n);
}

Test(pyframes, cpython_3_9, .timeout = 60)
{
	run_python("3.9.18", script);
	check_common(1, WALK);
}

Test(pyframes, cpython_3_10, .timeout = 60)
{
	run_python("3.10.13", script);
	check_common(1, WALK);
}

Test(pyframes, cpython_3_11, .timeout = 60)
{
	run_python("3.11.7", script);
	check_common(0, WALK);
}

Test(pyframes, cpython_3_12, .timeout = 60)
{
	run_python("3.12.1", script);
	check_common(0, WALK);
}

Test(pyframes, cpython_3_13, .timeout = 60)
{
	run_python("3.13.0", script);
	check_common(0, WALK);
}

/* The profile function stays available on the versions the walk covers. */
Test(pyframes, cpython_3_10_profile_function_when_asked, .timeout = 60)
{
	setenv("HEAPTRAIL_PYTHON_FRAMES", "profile", 1);
	run_python("3.10.13", script);
	check_common(1, PROFILE);
}

Test(pyframes, cpython_3_11_profile_function_when_asked, .timeout = 60)
{
	setenv("HEAPTRAIL_PYTHON_FRAMES", "profile", 1);
	run_python("3.11.7", script);
	check_common(0, PROFILE);
}

Test(pyframes, cpython_3_13_profile_function_when_asked, .timeout = 60)
{
	setenv("HEAPTRAIL_PYTHON_FRAMES", "profile", 1);
	run_python("3.13.0", script);
	check_common(0, PROFILE);
}

/* Installed from Python (as heaptrail.py does): the layout check compares
 * real frames; a row measured for another version is refused (the profile
 * function takes over and frames stay right), the right one is taken. */
static void check_row(const char *ver, const char *row, int mode, int bounds_every_frame)
{
	if (row)
		setenv("HEAPTRAIL_PYTHON_ROW", row, 1);
	run_python_how(ver, script, 1);
	check_common(bounds_every_frame, mode);
}

Test(pyframes, layout_check_takes_the_3_9_row_on_3_9, .timeout = 60)
{
	check_row("3.9.18", NULL, WALK, 1);
}

Test(pyframes, layout_check_takes_the_3_10_row_on_3_10, .timeout = 60)
{
	check_row("3.10.13", NULL, WALK, 1);
}

Test(pyframes, layout_check_refuses_the_3_10_row_on_3_9, .timeout = 60)
{
	check_row("3.9.18", "10", PROFILE, 1);
}

Test(pyframes, layout_check_refuses_the_3_9_row_on_3_10, .timeout = 60)
{
	check_row("3.10.13", "9", PROFILE, 1);
}

Test(pyframes, layout_check_refuses_the_3_11_row_on_3_10, .timeout = 60)
{
	check_row("3.10.13", "11", PROFILE, 1);
}

Test(pyframes, layout_check_refuses_the_3_10_row_on_3_11, .timeout = 60)
{
	check_row("3.11.7", "10", PROFILE, 0);
}

Test(pyframes, layout_check_takes_the_3_11_row_on_3_11, .timeout = 60)
{
	check_row("3.11.7", NULL, WALK, 0);
}

Test(pyframes, layout_check_takes_the_3_12_row_on_3_12, .timeout = 60)
{
	check_row("3.12.1", NULL, WALK, 0);
}

Test(pyframes, layout_check_takes_the_3_13_row_on_3_13, .timeout = 60)
{
	check_row("3.13.0", NULL, WALK, 0);
}

Test(pyframes, layout_check_refuses_the_3_12_row_on_3_11, .timeout = 60)
{
	check_row("3.11.7", "12", PROFILE, 0);
}

Test(pyframes, layout_check_refuses_the_3_13_row_on_3_11, .timeout = 60)
{
	check_row("3.11.7", "13", PROFILE, 0);
}

Test(pyframes, layout_check_refuses_the_3_11_row_on_3_12, .timeout = 60)
{
	check_row("3.12.1", "11", PROFILE, 0);
}

Test(pyframes, layout_check_refuses_the_3_13_row_on_3_12, .timeout = 60)
{
	check_row("3.12.1", "13", PROFILE, 0);
}

Test(pyframes, layout_check_refuses_the_3_11_row_on_3_13, .timeout = 60)
{
	check_row("3.13.0", "11", PROFILE, 0);
}

Test(pyframes, layout_check_refuses_the_3_12_row_on_3_13, .timeout = 60)
{
	check_row("3.13.0", "12", PROFILE, 0);
}

/* Walk only: names read from the str objects (1-, 2- and 4-byte kinds),
 * and captures without the GIL: a code object first met there cannot be
 * interned (no reference can be taken), so the capture keeps the frames
 * inside it and stops; once met with the GIL it is reported. */
#define CAFE "caf\xc3\xa9" /* U+00E9: 1-byte kind, not ASCII */
#define ZHONG "\xe4\xb8\xad" /* U+4E2D: 2-byte kind */
#define ASTRAL "\xf0\xa0\x80\x80" /* U+20000: 4-byte kind */
static const char walk_script[] =
	"def " CAFE "():\n" /* 1 */
	"    return CAP(b'latin1')\n" /* 2 */
	"def " ZHONG "():\n" /* 3 */
	"    return CAP(b'bmp')\n" /* 4 */
	"def " ASTRAL "():\n" /* 5 */
	"    return CAP(b'astral')\n" /* 6 */
	CAFE "(); " ZHONG "(); " ASTRAL "()\n" /* 7 */
	"def call(f, tag):\n" /* 8 */
	"    return f(tag)\n" /* 9 */
	"def fresh():\n" /* 10 */
	"    call(CAPNG, b'cold')\n" /* 11 */
	"    call(CAP, b'warm')\n" /* 12 */
	"    call(CAPNG, b'known')\n" /* 13 */
	"fresh()\n" /* 14 */
	"def first_seen_without_gil():\n" /* 15 */
	"    return call(CAPNG, b'cut')\n" /* 16 */
	"first_seen_without_gil()\n" /* 17 */
	"async def inner():\n" /* 18 */
	"    return CAP(b'coro')\n" /* 19 */
	"async def outer():\n" /* 20 */
	"    return await inner()\n" /* 21 */
	"c = outer()\n" /* 22 */
	"try:\n" /* 23 */
	"    c.send(None)\n" /* 24 */
	"except StopIteration:\n" /* 25 */
	"    pass\n"; /* 26 */

static void check_walk(const char *ver)
{
	setenv("HEAPTRAIL_QUIET", "1", 1);
	run_python(ver, walk_script);
	cr_assert_eq(heaptrail_py_mode(), WALK);
	cr_assert_str_eq(line_of("latin1", 0), " " CAFE ":2 <module>:7");
	cr_assert_str_eq(line_of("bmp", 0), " " ZHONG ":4 <module>:7");
	cr_assert_str_eq(line_of("astral", 0), " " ASTRAL ":6 <module>:7");
	cr_assert_str_eq(line_of("cold", 0), "");
	cr_assert_str_eq(line_of("warm", 0), " call:9 fresh:12 <module>:14");
	cr_assert_str_eq(line_of("known", 0), " call:9 fresh:13 <module>:14");
	cr_assert_str_eq(line_of("cut", 0), " call:9");
	/* Coroutine frames live in their coroutine objects, linked into the
	 * chain while they run. */
	cr_assert_str_eq(line_of("coro", 0), " inner:19 outer:21 <module>:24");
	/* 'cold' and 'cut' were cut short: said once, at exit. */
	char buf[256];
	cr_assert_eq(pyframes_take_warning(buf, sizeof(buf), 0), 0);
	cr_assert_gt(pyframes_take_warning(buf, sizeof(buf), 1), 0);
	cr_assert_str_eq(buf, "2 allocation(s) made while the GIL was released show only "
			      "part of their Python stack: the callers of a Python function "
			      "heaptrail had not seen before are missing");
	cr_assert_eq(pyframes_take_warning(buf, sizeof(buf), 1), 0);
}

Test(pyframes, walk_3_9_names_and_captures_without_the_gil, .timeout = 60)
{
	check_walk("3.9.18");
}

Test(pyframes, walk_3_10_names_and_captures_without_the_gil, .timeout = 60)
{
	check_walk("3.10.13");
}

Test(pyframes, walk_3_11_names_and_captures_without_the_gil, .timeout = 60)
{
	check_walk("3.11.7");
}

Test(pyframes, walk_3_12_names_and_captures_without_the_gil, .timeout = 60)
{
	check_walk("3.12.1");
}

Test(pyframes, walk_3_13_names_and_captures_without_the_gil, .timeout = 60)
{
	check_walk("3.13.0");
}

/* Sends fd 2 to a temporary file; stderr_text() reads what was written. */
static FILE *err_file;

static void capture_stderr(void)
{
	err_file = tmpfile();
	cr_assert_not_null(err_file);
	cr_assert_geq(dup2(fileno(err_file), 2), 0);
	/* The recorder writes on fd 2 only when told to (msgfd.h). */
	setenv("HEAPTRAIL_MSG_FD", "2", 1);
	msgfd_setup(0);
}

static const char *stderr_text(void)
{
	static char buf[4096];
	size_t n = (size_t)pread(fileno(err_file), buf, sizeof(buf) - 1, 0);
	buf[n < sizeof(buf) ? n : 0] = 0;
	return buf;
}

/* The warning goes to stderr exactly once, through the recorder's
 * writer_warn when it is linked in, else kept for pyframes_take_warning. */
Test(pyframes, older_python_is_refused_with_one_warning, .timeout = 60)
{
	const char *path = "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0";
	if (access(path, R_OK) != 0)
		cr_skip_test("%s not installed", path);
	lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	cr_assert_not_null(lib);
	unsetenv("HEAPTRAIL_QUIET");
	capture_stderr();
	pyframes_init();
	cr_assert_eq(heaptrail_py_install(NULL), -ENOSYS);
	cr_assert_eq(heaptrail_py_install(NULL), -ENOSYS);
	char buf[256];
	while (pyframes_take_warning(buf, sizeof(buf), 1) > 0)
		cr_assert_str_eq(buf, "Python frames not captured: CPython 3.8 is older than "
				      "3.9; showing native frames only");
	cr_assert_str_eq(stderr_text(), "heaptrail: Python frames not captured: CPython 3.8 is "
					"older than 3.9; showing native frames only\n");
	uint32_t ids[4], lines[4];
	cr_assert_eq(pyframes_capture(ids, lines, 4), 0);
}

Test(pyframes, python_that_never_installed_is_reported_at_exit, .timeout = 60)
{
	const char *path = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
	if (access(path, R_OK) != 0)
		cr_skip_test("%s not installed", path);
	setenv("PYTHONHOME", "/root/.pyenv/versions/3.11.7", 1);
	unsetenv("HEAPTRAIL_QUIET");
	lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	cr_assert_not_null(lib);
	pyframes_init();
	((void (*)(int))api("Py_InitializeEx"))(0);
	capture_stderr();
	uint32_t ids[4], lines[4];
	cr_assert_eq(pyframes_capture(ids, lines, 4), 0); /* notices Python */
	char buf[256];
	cr_assert_eq(pyframes_take_warning(buf, sizeof(buf), 0), 0);
	cr_assert_gt(pyframes_take_warning(buf, sizeof(buf), 1), 0);
	const char *want = "Python frames not captured: the heaptrail startup module did not "
			   "run (python -I, -E or -S, PYTHONPATH replaced, or no ctypes?); "
			   "showing native frames only";
	cr_assert_str_eq(buf, want);
	cr_assert_eq(pyframes_take_warning(buf, sizeof(buf), 1), 0);
	char line[512];
	snprintf(line, sizeof(line), "heaptrail: %s\n", want);
	cr_assert_str_eq(stderr_text(), line);
}

Test(pyframes, stop_makes_captures_empty, .timeout = 60)
{
	run_python("3.11.7", "def f():\n    CAP(b'on')\nf()\n");
	cr_assert_str_eq(line_of("on", 0), " f:2 <module>:3");
	heaptrail_py_stop();
	captured[0] = 0;
	int (*run)(const char *) = (int (*)(const char *))api("PyRun_SimpleString");
	cr_assert_eq(run("def g():\n    CAP(b'off')\ng()\n"), 0);
	cr_assert_str_eq(line_of("off", 0), "");
}
