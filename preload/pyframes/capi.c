/* pyframes/capi.c: resolves the few CPython C-API functions the module
 * uses, with dlsym at install time (no Python headers at build time: one
 * binary for CPython 3.9 to 3.13), and refuses versions it cannot serve. */
#include "pyframes/internal.h"

#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pyapi pyapi;

#define SYM(field, name)                                                  \
	do {                                                              \
		*(void **)&pyapi.field = dlsym(RTLD_DEFAULT, name);          \
	} while (0)

/* "major.minor" (as atoi read them from the version string). */
static void line_version(util_line_t *l, int major, int minor)
{
	util_line_u64(l, (uint64_t)(major < 0 ? 0 : major));
	util_line_str(l, ".");
	util_line_u64(l, (uint64_t)(minor < 0 ? 0 : minor));
}

/* Fills py; 0, or -ENOSYS after saying why (once). */
int pyf_resolve(void)
{
	static int failed;
	if (pyf.resolved)
		return 0;
	if (failed)
		return -ENOSYS;
	SYM(GetVersion, "Py_GetVersion");
	SYM(IsInitialized, "Py_IsInitialized");
	SYM(GILState_Check, "PyGILState_Check");
	SYM(SetProfile, "PyEval_SetProfile");
	SYM(SetProfileAllThreads, "PyEval_SetProfileAllThreads");
	SYM(SetProfileTstate, "_PyEval_SetProfile");
	SYM(ThreadState_Get, "PyThreadState_Get");
	SYM(ThreadState_GetInterpreter, "PyThreadState_GetInterpreter");
	SYM(Interp_ThreadHead, "PyInterpreterState_ThreadHead");
	SYM(ThreadState_Next, "PyThreadState_Next");
	SYM(Frame_GetCode, "PyFrame_GetCode");
	SYM(Frame_GetBack, "PyFrame_GetBack");
	SYM(Frame_GetLineNumber, "PyFrame_GetLineNumber");
	SYM(IncRef, "Py_IncRef");
	SYM(DecRef, "Py_DecRef");
	SYM(GetAttrString, "PyObject_GetAttrString");
	SYM(AsUTF8AndSize, "PyUnicode_AsUTF8AndSize");
	SYM(AsLong, "PyLong_AsLong");
	SYM(Err_Fetch, "PyErr_Fetch");
	SYM(Err_Restore, "PyErr_Restore");
	SYM(GILState_GetThisThreadState, "PyGILState_GetThisThreadState");
	SYM(ThreadState_Unchecked, "PyThreadState_GetUnchecked"); /* 3.13 */
	if (!pyapi.ThreadState_Unchecked)
		SYM(ThreadState_Unchecked, "_PyThreadState_UncheckedGet");
	SYM(Interp_Main, "PyInterpreterState_Main");
	SYM(Eval_GetFrame, "PyEval_GetFrame");
	SYM(Code_Addr2Line, "PyCode_Addr2Line");
	SYM(Code_Type, "PyCode_Type");

	char msg[200];
	util_line_t l = { msg, sizeof(msg), 0 };
	msg[0] = 0;
	const char *v = pyapi.GetVersion ? pyapi.GetVersion() : NULL;
	int major = 0, minor = 0;
	if (v) {
		major = atoi(v);
		const char *dot = strchr(v, '.');
		minor = dot ? atoi(dot + 1) : 0;
	}
	pyapi.minor = minor;
	if (!v || major != 3 || minor < 9) {
		util_line_str(&l, "Python frames not captured: CPython ");
		line_version(&l, major, minor);
		util_line_str(&l, " is older than 3.9; showing native frames only");
		goto fail;
	}
	const char *missing = !pyapi.GILState_Check	? "PyGILState_Check"
			      : !pyapi.SetProfile		? "PyEval_SetProfile"
			      : !pyapi.Frame_GetCode	? "PyFrame_GetCode"
			      : !pyapi.Frame_GetBack	? "PyFrame_GetBack"
			      : !pyapi.Frame_GetLineNumber ? "PyFrame_GetLineNumber"
			      : !pyapi.IncRef		? "Py_IncRef"
			      : !pyapi.DecRef		? "Py_DecRef"
			      : !pyapi.GetAttrString	? "PyObject_GetAttrString"
			      : !pyapi.AsUTF8AndSize	? "PyUnicode_AsUTF8AndSize"
			      : !pyapi.AsLong		? "PyLong_AsLong"
			      : !pyapi.Err_Fetch		? "PyErr_Fetch"
			      : !pyapi.Err_Restore		? "PyErr_Restore"
							: NULL;
	if (missing) {
		util_line_str(&l, "Python frames not captured: ");
		util_line_str(&l, missing);
		util_line_str(&l, " not found in CPython ");
		line_version(&l, major, minor);
		util_line_str(&l, "; showing native frames only");
		goto fail;
	}
	pyf.every_frame_entry = minor < 11;
	pyf.resolved = 1;
	return 0;
fail:
	failed = 1;
	pyf_say(msg);
	return -ENOSYS;
}
