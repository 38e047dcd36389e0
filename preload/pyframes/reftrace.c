/* pyframes/reftrace.c: objects CPython recycles from its free lists.
 *
 * A float, tuple or dict taken from a free list is not malloc'd:
 * without this its block stays charged to the line that first allocated
 * it, where tracemalloc moves it to the reusing line (CPython calls
 * _PyTraceMalloc_NewReference only while tracemalloc traces).  CPython
 * 3.13 calls a reference tracer (PyRefTracer_SetTracer) on every new
 * object; ours ignores an object whose block is the thread's last
 * allocation (fresh) and records any other of those three exact types as
 * a reuse of its block (recorder_reuse).  Not lists: the tracer is
 * reached by a tail call, so a recycled list object's stack ends in
 * PyList_New exactly as its items array's does, and `--by type` would call
 * it an items array; list objects (56 B, at most 80 recycled) keep their
 * first line.  Its block and size follow from the
 * type: GC objects carry a 16-byte header before the object, a tuple has
 * ob_size items of 8 bytes.  Installed by heaptrail_py_install (GIL held),
 * removed by heaptrail_py_stop.  Before 3.13 there is no such hook. */
#include "pyframes/internal.h"

#include "recorder.h"
#include "session.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Offsets of the stable ABI (default, GIL build): PyObject is
 * {ob_refcnt, ob_type}, PyVarObject adds ob_size; PyTypeObject's
 * tp_basicsize is its 5th word. */
#define OB_TYPE 8
#define OB_SIZE 16
#define TP_BASICSIZE 32
#define GC_HEADER 16

typedef int (*reftracer_t)(PyObject *op, int event, void *data);

static int (*set_tracer)(reftracer_t fn, void *data);
static const void *float_type, *tuple_type, *dict_type;
static int tracing;

static uint64_t round8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static int reftrace(PyObject *op, int event, void *data)
{
	(void)data;
	if (event != 0 /* PyRefTracer_CREATE */)
		return 0;
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook)
		return 0;
	const char *o = (const char *)op;
	const void *type = *(const void *const *)(o + OB_TYPE);
	uintptr_t block;
	uint64_t size;
	int64_t basic;
	if (type == float_type) {
		memcpy(&basic, (const char *)type + TP_BASICSIZE, sizeof basic);
		block = (uintptr_t)o;
		size = (uint64_t)basic;
	} else if (type == tuple_type) {
		int64_t n;
		memcpy(&basic, (const char *)type + TP_BASICSIZE, sizeof basic);
		memcpy(&n, o + OB_SIZE, sizeof n);
		if (n <= 0)
			return 0;
		block = (uintptr_t)o - GC_HEADER;
		size = GC_HEADER + round8((uint64_t)basic + 8 * (uint64_t)n);
	} else if (type == dict_type) {
		memcpy(&basic, (const char *)type + TP_BASICSIZE, sizeof basic);
		block = (uintptr_t)o - GC_HEADER;
		size = GC_HEADER + (uint64_t)basic;
	} else {
		return 0;
	}
	if (block == t->last_block)
		return 0; /* just malloc'd: already at this line */
	t->in_hook = 1;
	recorder_reuse((void *)block, size);
	t->last_block = 0;
	t->in_hook = 0;
	return 0;
}

void pyf_reftrace_install(void)
{
	/* Only when each object is its own malloc'd block;
	 * HEAPTRAIL_PYTHON_REUSE=0 turns it off (to measure its cost). */
	const char *pm = getenv("PYTHONMALLOC");
	const char *off = getenv("HEAPTRAIL_PYTHON_REUSE");
	if (tracing || pyapi.minor < 13 || !walk_on || !pm ||
	    strcmp(pm, "malloc") || (off && !strcmp(off, "0")))
		return;
	*(void **)&set_tracer = dlsym(RTLD_DEFAULT, "PyRefTracer_SetTracer");
	float_type = dlsym(RTLD_DEFAULT, "PyFloat_Type");
	tuple_type = dlsym(RTLD_DEFAULT, "PyTuple_Type");
	dict_type = dlsym(RTLD_DEFAULT, "PyDict_Type");
	if (!set_tracer || !float_type || !tuple_type || !dict_type)
		return;
	if (set_tracer(reftrace, NULL) == 0)
		tracing = 1;
}

void pyf_reftrace_remove(void)
{
	if (!tracing)
		return;
	set_tracer(NULL, NULL);
	tracing = 0;
}
