/* pyframes/install.c: the entry points heaptrail.py calls through ctypes
 * (GIL held): install, per-thread install, mode, opt-out, stop; and the
 * install after `heaptrail attach` (a pending call CPython runs with the
 * GIL in its main thread). */
#include "pyframes/internal.h"

#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Whether the calling thread (GIL held) runs the main interpreter: a
 * sub-interpreter runs `site`, hence heaptrail.py, too; its install, stop
 * (its atexit runs when it is destroyed) and thread hooks are ignored.
 * Python frames come from the main interpreter only. */
int pyf_in_main_interp(void)
{
	/* Unchecked: PyThreadState_Get would abort without a thread state. */
	if (!pyapi.ThreadState_Unchecked || !pyapi.ThreadState_GetInterpreter ||
	    !pyapi.Interp_Main)
		return 1;
	void *me = pyapi.ThreadState_Unchecked();
	return !me || pyapi.ThreadState_GetInterpreter(me) == pyapi.Interp_Main();
}

/* Called by heaptrail.py (ctypes.PyDLL: GIL held) at startup.  frame: the
 * caller's frame (its callers are seeded on this thread's stack) or NULL.
 * Returns 0, or negative errno when Python frames cannot be captured (said
 * once; -EXDEV silently: a sub-interpreter). */
HT_EXPORT int heaptrail_py_install(PyObject *frame)
{
	atomic_store(&pyf.attempted, 1);
	int rc = pyf_resolve();
	if (rc < 0)
		return rc;
	if (!pyf_in_main_interp())
		return -EXDEV;
	pthread_mutex_lock(&pyf.lock);
	if (!pyf.boundary_id)
		pyf.boundary_id = pyf_info_add("", 0, PYFRAMES_BOUNDARY_FUNC,
					  strlen(PYFRAMES_BOUNDARY_FUNC), 0);
	pthread_mutex_unlock(&pyf.lock);
	if (!pyf.boundary_id)
		goto fail;
	if (walk_on || pyf_walk_enable(frame != NULL)) {
		/* No profile function: captures read the frame chain.  (An
		 * install after Py_Finalize and Py_Initialize: a new main
		 * interpreter, maybe.) */
		main_interp = pyapi.Interp_Main();
		atomic_store(&pyf.py_seen, 1);
		atomic_store(&pyf.installed, 1);
		atomic_store(&pyf.active, 1);
		pyf_reftrace_install();
		return 0;
	}
	pystack_t *s = pyf_stack_get();
	if (!s)
		goto fail;
	pyf_seed(s, frame);
	atomic_store(&pyf.py_seen, 1);
	atomic_store(&pyf.installed, 1);
	atomic_store(&pyf.active, 1);
	if (pyapi.SetProfileAllThreads) {
		pyapi.SetProfileAllThreads(pyf_profile_fn, NULL);
		return 0;
	}
	pyapi.SetProfile(pyf_profile_fn, NULL);
	/* 3.9-3.11: threads already running get it too. */
	void *me = pyapi.ThreadState_Get ? pyapi.ThreadState_Get() : NULL;
	if (me && pyapi.SetProfileTstate && pyapi.ThreadState_GetInterpreter &&
	    pyapi.Interp_ThreadHead && pyapi.ThreadState_Next) {
		void *ip = pyapi.ThreadState_GetInterpreter(me);
		for (void *ts = pyapi.Interp_ThreadHead(ip); ts;
		     ts = pyapi.ThreadState_Next(ts))
			if (ts != me)
				pyapi.SetProfileTstate(ts, pyf_profile_fn, NULL);
	}
	return 0;
fail:
	pyf_say("Python frames not captured: out of memory; showing native frames "
	    "only");
	return -ENOMEM;
}

/* Called by heaptrail.py's threading.setprofile hook on the first event of
 * a new thread (GIL held): seeds the stack from frame, then replaces the
 * Python hook with pyf_profile_fn for this thread. */
HT_EXPORT int heaptrail_py_install_thread(PyObject *frame)
{
	if (!pyf.resolved)
		return -ENOSYS;
	if (!pyf_in_main_interp())
		return -EXDEV;
	if (walk_on) {
		pyapi.SetProfile(NULL, NULL); /* the walk needs no hook */
		return 0;
	}
	pystack_t *s = pyf_stack_get();
	if (!s)
		return -ENOMEM;
	pyf_seed(s, frame);
	pyapi.SetProfile(pyf_profile_fn, NULL);
	return 0;
}

/* How Python frames are captured: 0 not at all, 1 by the profile function,
 * 2 by walking the interpreter's frame chain.  For heaptrail.py and tests. */
HT_EXPORT int heaptrail_py_mode(void)
{
	if (!atomic_load(&pyf.installed))
		return 0;
	return walk_on ? 2 : 1;
}

/* Called by heaptrail.py when the user turned Python frames off
 * (HEAPTRAIL_PYTHON_FRAMES=0): no warning at exit then. */
HT_EXPORT void heaptrail_py_optout(void)
{
	atomic_store(&pyf.attempted, 1);
}

/* Called at interpreter exit (Python atexit, GIL held) and in fork children
 * that are not recorded: captures stop reading Python state. */
HT_EXPORT void heaptrail_py_stop(void)
{
	if (pyf.resolved && !pyf_in_main_interp())
		return;
	pyf_reftrace_remove();
	atomic_store(&pyf.active, 0);
}

/* ---- after `heaptrail attach` ------------------------------------------ */

/* Python's atexit calls this (METH_NOARGS): captures stop before the
 * interpreter is finalized, as heaptrail.py's atexit hook does at start. */
static PyObject *attach_exit_fn(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	heaptrail_py_stop();
	PyObject *none = dlsym(RTLD_DEFAULT, "_Py_NoneStruct");
	pyapi.IncRef(none);
	return none;
}

/* PyMethodDef (the stable ABI's): name, function, METH_NOARGS, doc. */
static struct {
	const char *name;
	PyObject *(*fn)(PyObject *, PyObject *);
	int flags;
	const char *doc;
} attach_exit_def = { "heaptrail_py_stop", attach_exit_fn, 0x0004, NULL };

/* atexit.register(attach_exit_fn); 0 or -1 (GIL held, errors cleared). */
static int attach_register_exit(void)
{
	PyObject *(*import)(const char *) = dlsym(RTLD_DEFAULT, "PyImport_ImportModule");
	PyObject *(*cfunc)(void *, PyObject *, PyObject *) = dlsym(RTLD_DEFAULT, "PyCFunction_NewEx");
	PyObject *(*callargs)(PyObject *, ...) = dlsym(RTLD_DEFAULT, "PyObject_CallFunctionObjArgs");
	void (*clear)(void) = dlsym(RTLD_DEFAULT, "PyErr_Clear");
	if (!import || !cfunc || !callargs || !clear || !dlsym(RTLD_DEFAULT, "_Py_NoneStruct"))
		return -1;
	PyObject *mod = import("atexit"), *reg = NULL, *fn = NULL, *res = NULL;
	if (mod)
		reg = pyapi.GetAttrString(mod, "register");
	if (reg)
		fn = cfunc(&attach_exit_def, NULL, NULL);
	if (fn)
		res = callargs(reg, fn, NULL);
	PyObject *objs[] = { res, fn, reg, mod };
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		if (objs[i])
			pyapi.DecRef(objs[i]);
	if (!res)
		clear();
	return res ? 0 : -1;
}

/* The install after an attach, scheduled by pyframes_attach_schedule with
 * Py_AddPendingCall: CPython runs it in the main thread, with the GIL,
 * between two bytecodes of the main interpreter (a point where the frame
 * chain is complete).  The frame walk only: the profile function would
 * need heaptrail.py's hook in threads started later.  Always returns 0
 * (-1 would raise in the program); the exception state it finds is put
 * back. */
HT_EXPORT int heaptrail_py_attach_call(void *arg)
{
	(void)arg;
	if (atomic_load(&pyf.attach_state) != PYF_ATTACH_PENDING)
		return 0; /* detached before the main thread got here */
	if (pyf_resolve() < 0) {
		atomic_store(&pyf.attach_state, PYF_ATTACH_FAILED);
		atomic_store(&pyf.attempted, 1);
		return 0;
	}
	PyObject *et, *ev, *etb;
	pyapi.Err_Fetch(&et, &ev, &etb);
	char msg[256];
	util_line_t l = { msg, sizeof(msg), 0 };
	int ok = 0;
	pthread_mutex_lock(&pyf.lock);
	if (!pyf.boundary_id)
		pyf.boundary_id = pyf_info_add("", 0, PYFRAMES_BOUNDARY_FUNC,
					       strlen(PYFRAMES_BOUNDARY_FUNC), 0);
	pthread_mutex_unlock(&pyf.lock);
	if (!pyf.boundary_id) {
		util_line_str(&l, "Python frames not captured after the attach: out of memory; "
				  "showing native frames only");
	} else if (walk_on || pyf_walk_enable(1)) {
		main_interp = pyapi.Interp_Main();
		atomic_store(&pyf.py_seen, 1);
		atomic_store(&pyf.installed, 1);
		atomic_store(&pyf.active, 1);
		ok = 1;
		util_line_str(&l, "Python frames on from here (CPython 3.");
		util_line_u64(&l, (uint64_t)pyapi.minor);
		util_line_str(&l, ", the interpreter's own frame chain)");
		if (attach_register_exit() < 0)
			util_line_str(&l, "; atexit.register failed: captures stop only at the detach");
	} else {
		util_line_str(&l, "Python frames not captured after the attach: heaptrail has no "
				  "checked frame layout for this CPython 3.");
		util_line_u64(&l, (uint64_t)pyapi.minor);
		util_line_str(&l, " (a debug or free-threaded build, or its check failed), and "
				  "the profile-function fallback works only under `heaptrail "
				  "record`; showing native frames only");
	}
	atomic_store(&pyf.attempted, 1);
	atomic_store(&pyf.attach_state, ok ? PYF_ATTACH_ON : PYF_ATTACH_FAILED);
	if (ok)
		util_say(0, msg);
	else
		pyf_say(msg);
	pyapi.Err_Restore(et, ev, etb);
	return 0;
}

int pyframes_attach_schedule(void)
{
	int (*initialized)(void) = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	int (*add)(int (*)(void *), void *) = dlsym(RTLD_DEFAULT, "Py_AddPendingCall");
	if (!initialized || !add || !initialized())
		return 0;
	atomic_store(&pyf.attach_state, PYF_ATTACH_PENDING);
	atomic_store(&pyf.py_seen, 1); /* the end says if it never ran */
	if (add(heaptrail_py_attach_call, NULL) != 0) {
		atomic_store(&pyf.attach_state, PYF_ATTACH_FAILED);
		return -EAGAIN;
	}
	return 1;
}

void pyframes_detached(void)
{
	/* A pending install that has not run yet does nothing when it does;
	 * captures stop (no GIL needed: the hooks are no longer reached). */
	atomic_store(&pyf.attach_state, PYF_ATTACH_OFF);
	atomic_store(&pyf.active, 0);
}

const char *pyframes_allocator_name(void)
{
	const char *(*name)(void) = dlsym(RTLD_DEFAULT, "_PyMem_GetCurrentAllocatorName");
	const char *n = name ? name() : NULL;
	if (!n)
		n = getenv("PYTHONMALLOC");
	return n;
}
