/* pymodule: the `_heaptrail` built-in module; see pymodule.h.
 *
 * Why a built-in module registered from the constructor: heaptrail.py used
 * to reach the recorder through ctypes, and importing ctypes at start-up
 * left 111 KiB in 656 blocks in every recorded Python program's heap (32%
 * of a one-line script's), with heaptrail.py frames in its reports.
 * PyImport_AppendInittab is the documented way to add a built-in module
 * and must be called before Py_Initialize: the constructor of a preloaded
 * library runs before main, so it is.  No Python headers at build time:
 * the few structures below are the stable ABI's (PyMethodDef, PyModuleDef,
 * the GIL build's PyObject header), the same on CPython 3.9 to 3.13. */
#include "pymodule.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "heapcount.h"
#include "heaptrail_format.h"
#include "recorder.h"
#include "session.h"
#include "util.h"

typedef struct pyobj {
	ssize_t refcnt;
	void *type;
} pyobj_t;

typedef pyobj_t *(*pycfunc_t)(pyobj_t *self, pyobj_t *arg);

typedef struct pymethod {
	const char *name;
	pycfunc_t fn;
	int flags; /* METH_* */
	const char *doc;
} pymethod_t;

typedef struct pymoddef {
	pyobj_t ob_base; /* PyModuleDef_Base: the header, then */
	pyobj_t *(*m_init)(void);
	ssize_t m_index;
	pyobj_t *m_copy;
	const char *m_name;
	const char *m_doc;
	ssize_t m_size;
	pymethod_t *m_methods;
	void *m_slots, *m_traverse, *m_clear, *m_free;
} pymoddef_t;

enum { METH_VARARGS = 0x0001, METH_NOARGS = 0x0004, METH_O = 0x0008 };
#define PYTHON_API_VERSION 1013 /* every CPython 3 */

static struct {
	pyobj_t *(*Module_Create2)(pymoddef_t *def, int apiver);
	pyobj_t *(*Long_FromLongLong)(long long v);
	long (*Long_AsLong)(pyobj_t *o);
	pyobj_t *(*Bool_FromLong)(long v);
	int (*Bytes_AsStringAndSize)(pyobj_t *o, char **s, ssize_t *len);
	const char *(*Unicode_AsUTF8AndSize)(pyobj_t *o, ssize_t *len);
	void *Unicode_Type; /* &PyUnicode_Type */
	void *Bytes_Type; /* &PyBytes_Type */
	ssize_t (*Tuple_Size)(pyobj_t *t);
	pyobj_t *(*Tuple_GetItem)(pyobj_t *t, ssize_t i); /* borrowed */
	pyobj_t *(*Object_Str)(pyobj_t *o);
	pyobj_t *(*Unicode_AsEncodedString)(pyobj_t *o, const char *enc, const char *err);
	void (*Err_Clear)(void);
	void (*DecRef)(pyobj_t *o);
	void (*IncRef)(pyobj_t *o);
	pyobj_t *None;
} api;

/* Implemented in pyframes/install.c (GIL held). */
int heaptrail_py_install(void *frame);
int heaptrail_py_install_thread(void *frame);
int heaptrail_py_mode(void);
void heaptrail_py_optout(void);
void heaptrail_py_stop(void);

static pyobj_t *none(void)
{
	api.IncRef(api.None);
	return api.None;
}

static pyobj_t *m_recording(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	return api.Bool_FromLong(session_on());
}

/* The label's UTF-8 bytes (at most 255, NULs as spaces) into buf; *tmp
 * gets a new reference to drop after use, or NULL.  0, or -1 with a
 * Python exception set. */
static int label_text(pyobj_t *label, char *buf, pyobj_t **tmp)
{
	const char *s = NULL;
	char *b;
	ssize_t len = 0;
	*tmp = NULL;
	buf[0] = 0;
	if (label == api.None)
		return 0;
	if (label->type != api.Unicode_Type && label->type != api.Bytes_Type) {
		if (!(label = *tmp = api.Object_Str(label)))
			return -1;
	}
	if (label->type == api.Bytes_Type) {
		if (api.Bytes_AsStringAndSize(label, &b, &len) == 0)
			s = b;
	} else if (!(s = api.Unicode_AsUTF8AndSize(label, &len))) {
		/* Lone surrogates: replaced, through a temporary bytes. */
		api.Err_Clear();
		pyobj_t *e = api.Unicode_AsEncodedString(label, "utf-8", "replace");
		if (*tmp)
			api.DecRef(*tmp);
		if (!(label = *tmp = e))
			return -1;
		if (api.Bytes_AsStringAndSize(label, &b, &len) == 0)
			s = b;
	}
	if (!s)
		return -1;
	if (len > 255)
		len = 255;
	for (ssize_t i = 0; i < len; i++)
		buf[i] = s[i] ? s[i] : ' ';
	buf[len] = 0;
	return 0;
}

/* snapshot([label]) -> bool: True when recorded.  label: str, bytes or
 * None, anything else through str().  heaptrail.py exports it as
 * heaptrail.snapshot, so that no frame of heaptrail's runs: a str's UTF-8
 * form (cached in it when not ASCII) or str(label) is the caller's, and
 * nothing of heaptrail's is live at the mark it names. */
static pyobj_t *m_snapshot(pyobj_t *self, pyobj_t *args)
{
	(void)self;
	char buf[256];
	pyobj_t *tmp = NULL;
	ssize_t n = api.Tuple_Size(args);
	pyobj_t *label = n > 0 ? api.Tuple_GetItem(args, 0) : api.None;
	if (n > 1 || !label)
		label = api.None; /* extra arguments are ignored */
	if (label_text(label, buf, &tmp) < 0)
		return NULL;
	int rc = recorder_snapshot(label == api.None ? NULL : buf);
	if (tmp)
		api.DecRef(tmp);
	return api.Bool_FromLong(rc == 0);
}

/* mark(origin: int) -> int: a snapshot of origin HT_SNAP_PY_MAIN or
 * HT_SNAP_PY_TEARDOWN, labelled by its origin; 0, or -1. */
static pyobj_t *m_mark(pyobj_t *self, pyobj_t *arg)
{
	(void)self;
	long origin = api.Long_AsLong(arg);
	const char *label = origin == HT_SNAP_PY_MAIN ? "<main module starts>"
			    : origin == HT_SNAP_PY_TEARDOWN ? "<teardown starts>"
							    : NULL;
	if (!label)
		return api.Long_FromLongLong(-1);
	return api.Long_FromLongLong(recorder_snapshot_as(label, (unsigned)origin));
}

/* The counters as heaptrail.py documents them: an int, None when not
 * recording.  (heaptrail.py exports these functions as they are: no
 * Python frame of heaptrail's allocates the int.) */
static pyobj_t *counter(int64_t v)
{
	if (!session_on())
		return none();
	return api.Long_FromLongLong(v > 0 ? v : 0);
}

static pyobj_t *m_heap_bytes(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	return counter(heapcount_live());
}

static pyobj_t *m_heap_peak(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	return counter(heapcount_peak());
}

static pyobj_t *m_heap_peak_reset(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	if (!session_on())
		return api.Bool_FromLong(0);
	heapcount_reset();
	return api.Bool_FromLong(1);
}

static pyobj_t *m_py_install(pyobj_t *self, pyobj_t *frame)
{
	(void)self;
	return api.Long_FromLongLong(heaptrail_py_install(frame == api.None ? NULL : frame));
}

static pyobj_t *m_py_install_thread(pyobj_t *self, pyobj_t *frame)
{
	(void)self;
	return api.Long_FromLongLong(heaptrail_py_install_thread(frame == api.None ? NULL : frame));
}

static pyobj_t *m_py_mode(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	return api.Long_FromLongLong(heaptrail_py_mode());
}

static pyobj_t *m_py_optout(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	heaptrail_py_optout();
	return none();
}

static pyobj_t *m_py_stop(pyobj_t *self, pyobj_t *arg)
{
	(void)self, (void)arg;
	heaptrail_py_stop();
	return none();
}

static pymethod_t methods[] = {
	{ "recording", m_recording, METH_NOARGS,
	  "True when this process is being recorded by heaptrail." },
	{ "snapshot", m_snapshot, METH_VARARGS,
	  "snapshot(label=None) marks a snapshot named label (str; at most 255 "
	  "bytes of its UTF-8 kept) at this point of the trace.  True when it "
	  "was recorded, False when the process is not being recorded." },
	{ "mark", m_mark, METH_O, NULL },
	{ "heap_bytes", m_heap_bytes, METH_NOARGS,
	  "The live heap in bytes as the recorder counts it; None when not recorded." },
	{ "heap_peak", m_heap_peak, METH_NOARGS,
	  "The highest heap_bytes() since the last heap_peak_reset(); None when not recorded." },
	{ "heap_peak_reset", m_heap_peak_reset, METH_NOARGS,
	  "Starts a new peak at the current heap; True when recorded." },
	{ "py_install", m_py_install, METH_O, NULL },
	{ "py_install_thread", m_py_install_thread, METH_O, NULL },
	{ "py_mode", m_py_mode, METH_NOARGS, NULL },
	{ "py_optout", m_py_optout, METH_NOARGS, NULL },
	{ "py_stop", m_py_stop, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static pymoddef_t moddef = {
	.ob_base = { 1, NULL },
	.m_name = "_heaptrail",
	.m_doc = "The heaptrail recorder of this process (see heaptrail.py).",
	.m_size = -1,
	.m_methods = methods,
};

static pyobj_t *init_module(void)
{
	return api.Module_Create2(&moddef, PYTHON_API_VERSION);
}

#define SYM(field, name) (*(void **)&api.field = dlsym(RTLD_DEFAULT, name))

static int is_libpython(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	return slash && strncmp(slash + 1, "libpython", 9) == 0;
}

/* A program that may be CPython: named python*, or with a libpython
 * loaded.  Asked first, so that other programs never see the dlsym
 * calls below (a failed dlsym leaves loader state behind: the GOT
 * redirection of RTLD_DEEPBIND libraries and of preloaded allocators,
 * gotpatch.c, then missed a library's first calls). */
static int maybe_python(void)
{
	const char *name = program_invocation_short_name;
	if (name && strncmp(name, "python", 6) == 0)
		return 1;
	return dl_iterate_phdr(is_libpython, NULL) != 0;
}

int pymodule_register(void)
{
	if (!maybe_python())
		return 0;
	int (*append)(const char *name, pyobj_t *(*init)(void));
	int (*initialized)(void);
	const char *(*version)(void);
	*(void **)&append = dlsym(RTLD_DEFAULT, "PyImport_AppendInittab");
	*(void **)&initialized = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	*(void **)&version = dlsym(RTLD_DEFAULT, "Py_GetVersion");
	if (!append || !initialized || !version || initialized())
		return 0;
	const char *v = version();
	/* 3.9+ (the C API below); not a free-threaded build, whose object
	 * header is not the one above. */
	if (!v || v[0] != '3' || v[1] != '.' || atoi(v + 2) < 9 ||
	    strstr(v, "free-threading"))
		return 0;
	SYM(Module_Create2, "PyModule_Create2");
	SYM(Long_FromLongLong, "PyLong_FromLongLong");
	SYM(Long_AsLong, "PyLong_AsLong");
	SYM(Bool_FromLong, "PyBool_FromLong");
	SYM(Bytes_AsStringAndSize, "PyBytes_AsStringAndSize");
	SYM(Unicode_AsUTF8AndSize, "PyUnicode_AsUTF8AndSize");
	SYM(Unicode_Type, "PyUnicode_Type");
	SYM(Bytes_Type, "PyBytes_Type");
	SYM(Tuple_Size, "PyTuple_Size");
	SYM(Tuple_GetItem, "PyTuple_GetItem");
	SYM(Object_Str, "PyObject_Str");
	SYM(Unicode_AsEncodedString, "PyUnicode_AsEncodedString");
	SYM(Err_Clear, "PyErr_Clear");
	SYM(DecRef, "Py_DecRef");
	SYM(IncRef, "Py_IncRef");
	SYM(None, "_Py_NoneStruct");
	if (!api.Module_Create2 || !api.Long_FromLongLong || !api.Long_AsLong ||
	    !api.Bool_FromLong || !api.Bytes_AsStringAndSize ||
	    !api.Unicode_AsUTF8AndSize || !api.Unicode_Type || !api.Bytes_Type ||
	    !api.Tuple_Size || !api.Tuple_GetItem || !api.Object_Str ||
	    !api.Unicode_AsEncodedString || !api.Err_Clear || !api.DecRef ||
	    !api.IncRef || !api.None)
		return 0;
	return append("_heaptrail", init_module) == 0;
}
