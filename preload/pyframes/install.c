/* pyframes/install.c: the entry points heaptrail.py calls through ctypes
 * (GIL held): install, per-thread install, mode, opt-out, stop. */
#include "pyframes/internal.h"

#include "util.h"

#include <errno.h>
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
