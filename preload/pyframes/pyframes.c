/* Python frame capture: see pyframes.h.  The files of this folder:
 * capi.c (C-API resolution), intern.c (code interning), profile.c (the
 * profile-function fallback), walk.c + layout.c (the frame walk, its
 * per-version layout rows and self-test), install.c (heaptrail.py's entry
 * points), and this one: the state, warnings, and the recorder's and
 * writer's side.
 *
 * How it works.  The `heaptrail` Python module (loaded at startup by the
 * sitecustomize.py that `heaptrail record` puts on PYTHONPATH) calls
 * heaptrail_py_install() through ctypes.PyDLL, i.e. with the GIL held.  That
 * resolves the few C-API functions we use with dlsym (no Python headers at
 * build time, one binary for CPython 3.9 to 3.13) and chooses one of two
 * ways to get frames:
 *
 * The frame walk (CPython 3.9-3.13 release builds with the GIL, see
 * walk.c and layout.c): each capture reads the calling thread's own
 * chain of interpreter frames, with a table of per-version structure
 * offsets, checked against the C API at install.  Nothing runs per Python
 * call, so the program's speed and allocations stay as they are.
 *
 * The profile function (debug or free-threaded builds, versions without
 * an offset table or whose check fails, HEAPTRAIL_PYTHON_FRAMES=profile):
 * install() sets profile_fn as the C profile function of every thread.
 * It runs on every call and return, and on 3.11+ it costs a frame object
 * per Python call (the callback receives one), which roughly doubles a
 * Python program's allocations.  Threads started later get it
 * from threading.setprofile(): a tiny Python hook whose first event calls
 * heaptrail_py_install_thread(), which replaces it with profile_fn.
 *
 * profile_fn keeps a per-thread shadow stack (initial-exec TLS pointer to
 * an mmap'ed array, never malloc) of {frame, code id, line, native sp}:
 * CALL pushes (the code object is interned on first sight), RETURN pops.
 * Generators deliver RETURN at yield and CALL at resume; exceptions deliver
 * RETURN for every frame they unwind.  We hold a reference to each frame on
 * the stack so a missed RETURN (someone replaced the profile function) can
 * never leave a dangling pointer behind, and to each interned code object
 * so its address is never reused for another code object.
 *
 * pyframes_capture (called from the allocation hooks) copies the stack.
 * It calls PyFrame_GetLineNumber only when this thread holds the GIL
 * (PyGILState_Check), and then only for the innermost frame and for frames
 * whose line is not known yet: an outer frame cannot change line while its
 * callee runs.  Without the GIL the last computed line is used.
 *
 * Native boundaries: on 3.11+ one _PyEval_EvalFrameDefault invocation runs
 * several Python frames.  Frames entered by the same invocation see their
 * CALL event at the same native stack depth; a frame entered through C (a
 * callback from a builtin, a generator resumed by gen_send_ex) sees it
 * deeper.  capture() puts a boundary pseudo frame between such groups so
 * the analyzer can line Python groups up with native evaluation frames. */
#include "pyframes/internal.h"

#include "util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

struct pyf_state pyf = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The recorder's warning channel (stderr line + WARNING record), set by
 * pyframes_set_warn; NULL in unit tests without a recording. */
static void (*warn_fn)(const char *text);

void pyframes_set_warn(void (*fn)(const char *text))
{
	warn_fn = fn;
}

/* Prints "heaptrail: text" (util_say: not under HEAPTRAIL_QUIET=1) and
 * keeps text for pyframes_take_warning. */
void pyf_say_pending(const char *text)
{
	util_say(0, text);
	pthread_mutex_lock(&pyf.lock);
	if (!pyf.pending[0]) {
		strncpy(pyf.pending, text, sizeof(pyf.pending) - 1);
		pyf.pending[sizeof(pyf.pending) - 1] = 0;
	}
	pthread_mutex_unlock(&pyf.lock);
}

/* A warning from a Python thread: through the recorder's channel when it
 * is set, else kept for the writer. */
void pyf_say(const char *text)
{
	if (warn_fn)
		warn_fn(text);
	else
		pyf_say_pending(text);
}

/* A fork child has only the forking thread.  If it held the GIL, no
 * other thread was interning, but the writer thread or a thread giving its
 * stack back may have held pyf.lock for a few instructions: the child must
 * not find it locked forever. */
static void fork_child(void)
{
	pthread_mutex_init(&pyf.lock, NULL);
}

void pyframes_init(void)
{
	if (!pyf.key_ok && pthread_key_create(&pyf.key, pyf_stack_release) == 0) {
		pyf.key_ok = 1;
		pthread_atfork(NULL, NULL, fork_child);
	}
	*(void **)&pyapi.IsInitialized = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
}

/* Python is there but has not been seen initialized, and no profile
 * function was installed: captures watch for its start (py_seen, for the
 * end-of-run warning). */
static inline int py_start_awaited(void)
{
	return !pyf.installed && pyapi.IsInitialized && !pyf.py_seen;
}

int pyframes_idle(void)
{
	return !atomic_load_explicit(&pyf.active, memory_order_relaxed) && !py_start_awaited();
}

int pyframes_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	/* acquire: layout and the boundary id were set before active */
	if (!atomic_load_explicit(&pyf.active, memory_order_acquire)) {
		if (py_start_awaited() && pyapi.IsInitialized())
			atomic_store_explicit(&pyf.py_seen, 1,
					      memory_order_relaxed);
		return 0;
	}
	if (max <= 0)
		return 0;
	if (walk_on)
		return pyf_walk_capture(code_ids, lines, max);
	return pyf_profile_capture(code_ids, lines, max);
}

void pyframes_emit_new(pyframes_code_fn fn, void *ctx)
{
	uint32_t n = atomic_load_explicit(&pyf.ncodes, memory_order_acquire);
	for (uint32_t id = pyf.emitted + 1; id <= n; id++) {
		const codeinfo_t *ci = pyf_info_at(id);
		if (ci)
			fn(ctx, id, ci->file, ci->func, ci->firstline);
	}
	pyf.emitted = n;
}

void pyframes_attached(void)
{
	pyf.attached = 1;
}

void pyframes_rewind_emitted(void)
{
	pyf.emitted = 0;
}

size_t pyframes_take_warning(char *buf, size_t size, int at_exit)
{
	if (at_exit && !pyf.exit_warned && pyf.py_seen && !pyf.attempted) {
		pyf.exit_warned = 1;
		/* The writer is asking: hand it over directly. */
		if (pyf.attached)
			pyf_say_pending("Python frames not captured after `heaptrail attach`: "
					"the main thread ran no Python bytecode between the attach "
					"and the detach (heaptrail installs them there); showing "
					"native frames only");
		else
			pyf_say_pending("Python frames not captured: the heaptrail startup "
					"module did not run (python -I, -E or -S, PYTHONPATH "
					"replaced, or no ctypes?); showing native frames only");
	}
	uint64_t cut = atomic_load(&walk_cut);
	if (at_exit && cut && !pyf.cut_warned && !pyf.pending[0]) {
		pyf.cut_warned = 1;
		char msg[256];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_u64(&l, cut);
		/* Plain words (issue 20.8): what the user loses, not how. */
		util_line_str(&l, " allocation(s) made while the GIL was released show only "
				  "part of their Python stack: the callers of a Python function "
				  "heaptrail had not seen before are missing");
		pyf_say_pending(msg);
	}
	size_t n = 0;
	pthread_mutex_lock(&pyf.lock);
	if (pyf.pending[0] && size) {
		n = strlen(pyf.pending);
		if (n > size - 1)
			n = size - 1;
		memcpy(buf, pyf.pending, n);
		buf[n] = 0;
		pyf.pending[0] = 0;
	}
	pthread_mutex_unlock(&pyf.lock);
	return n;
}
