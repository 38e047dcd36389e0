/* `--by type`: see pytype.h.
 *
 * A rule names a CPython C function and what an allocation made under it
 * is.  Most functions allocate one thing; a few allocate two: PyList_New
 * makes the list object (through the GC allocator) and its items array
 * (PyMem_Calloc, directly).  So a rule has two answers: `object` when a
 * generic object allocator (gc_alloc, PyType_GenericAlloc...) lies between
 * it and malloc, `direct` when it (or an unnamed static helper) called the
 * memory allocator itself.
 *
 * The rules were read off real stacks of release builds of CPython 3.9.18,
 * 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (pyenv, with symbols) and Debian's
 * 3.11.2; each holds for the minor versions [from, to] (0 = open).  A
 * version's table is the rules whose range holds it. */
#include "render/pytype.h"

#include <stdio.h>
#include <string.h>

enum kind {
	K_TYPE = 0, /* answers object / direct */
	K_OBJALLOC, /* a generic object allocator: walk on, "object" next */
	K_STOP, /* the evaluation loop: the caller is Python code */
	K_INSTANCE_DICT, /* a dict made for an instance's attributes */
};

struct rule {
	const char *function;
	enum kind kind;
	const char *object; /* reached through a K_OBJALLOC frame */
	const char *direct; /* the function called malloc itself */
	unsigned char from, to; /* minor versions; 0 = open end */
};

#define T(fn, obj, dir, a, b) { fn, K_TYPE, obj, dir, a, b }
#define ONE(fn, what) T(fn, what, what, 0, 0)
#define OBJALLOC(fn, a, b) { fn, K_OBJALLOC, NULL, NULL, a, b }
#define STOP(fn) { fn, K_STOP, NULL, NULL, 0, 0 }
#define IDICT(fn, a, b) { fn, K_INSTANCE_DICT, NULL, NULL, a, b }

static const char LIST[] = "list", ITEMS[] = "list items array",
		  DICT[] = "dict", KEYS[] = "dict keys table",
		  IVALUES[] = "instance dict / values", INST[] = "instance",
		  SET[] = "set", SETTAB[] = "set table", FRAME[] = "frame";

static const struct rule rules[] = {
	/* Generic object allocators: what they allocate is decided by the
	 * caller. */
	OBJALLOC("_PyObject_GC_Alloc", 9, 10),
	OBJALLOC("_PyObject_GC_Malloc", 9, 10),
	OBJALLOC("gc_alloc", 11, 0),
	OBJALLOC("_PyObject_GC_New", 0, 0),
	OBJALLOC("_PyObject_GC_NewVar", 0, 0),
	OBJALLOC("_PyObject_New", 0, 0),
	OBJALLOC("_PyObject_NewVar", 0, 0),
	OBJALLOC("PyType_GenericAlloc", 0, 0),
	OBJALLOC("_PyType_AllocNoTrack", 11, 0),
	OBJALLOC("_PyObject_MallocWithType", 13, 0),
	/* 3.13+: an object recycled from a free list is recorded from the
	 * reference tracer (preload/pyframes/reftrace.c) under these: an
	 * object, never the direct buffer of the function that took it. */
	OBJALLOC("_Py_NewReference", 13, 0),
	OBJALLOC("_Py_NewReferenceNoTotal", 13, 0),
	OBJALLOC("new_reference", 13, 0),
	OBJALLOC("_PyObject_Init", 13, 0),
	OBJALLOC("_PyObject_InitVar", 13, 0),
	/* The evaluation loop: past it is the Python line, not a type. */
	STOP("_PyEval_EvalFrameDefault"),
	STOP("_PyEval_EvalFrame"),
	STOP("_PyEval_Vector"),
	STOP("_PyEval_EvalCode"),
	STOP("PyEval_EvalCode"),
	STOP("PyObject_Vectorcall"),
	STOP("_PyObject_MakeTpCall"),
	/* int */
	ONE("_PyLong_New", "int"),
	T("_PyLong_FromMedium", "int", "int", 11, 0),
	ONE("_PyLong_Copy", "int"),
	ONE("PyLong_FromLong", "int"),
	ONE("PyLong_FromSsize_t", "int"),
	ONE("PyLong_FromUnsignedLong", "int"),
	/* float */
	ONE("PyFloat_FromDouble", "float"),
	ONE("PyFloat_FromString", "float"),
	/* str */
	ONE("PyUnicode_New", "str"),
	T("_PyUnicode_New", "str", "str", 9, 11),
	ONE("resize_compact", "str"),
	ONE("PyUnicode_Resize", "str"),
	/* bytes, bytearray */
	ONE("_PyBytes_FromSize", "bytes"),
	ONE("PyBytes_FromStringAndSize", "bytes"),
	ONE("bytes_repeat", "bytes"),
	ONE("_PyBytes_Resize", "bytes"),
	ONE("PyByteArray_Resize", "bytearray buffer"),
	/* tuple */
	ONE("tuple_alloc", "tuple"),
	ONE("PyTuple_New", "tuple"),
	ONE("_PyTuple_FromArray", "tuple"),
	ONE("_PyTuple_FromArraySteal", "tuple"),
	ONE("_PyTuple_Resize", "tuple"),
	/* list: the object and its items array */
	T("PyList_New", LIST, ITEMS, 0, 0),
	T("list_vectorcall", LIST, ITEMS, 0, 0),
	T("list_new_impl", LIST, ITEMS, 0, 0),
	T("list_new_prealloc", LIST, ITEMS, 12, 0),
	T("_PyList_FromArraySteal", LIST, ITEMS, 12, 0),
	ONE("list_resize", ITEMS),
	ONE("list_preallocate_exact", ITEMS),
	ONE("list_ass_slice", ITEMS),
	ONE("list_inplace_repeat", ITEMS),
	T("list_repeat", LIST, ITEMS, 0, 0),
	/* dict: the object, its keys table, its values */
	ONE("new_dict", DICT),
	ONE("PyDict_New", DICT),
	ONE("dict_new_presized", DICT),
	ONE("_PyDict_NewPresized", DICT),
	ONE("new_keys_object", KEYS),
	ONE("dictresize", KEYS),
	ONE("clone_combined_dict_keys", KEYS),
	T("new_dict_with_shared_keys", IVALUES, IVALUES, 9, 10),
	T("new_values", IVALUES, IVALUES, 11, 12),
	T("init_inline_values", IVALUES, IVALUES, 11, 12),
	/* Dicts and keys made for an instance's attributes. */
	IDICT("_PyObjectDict_SetItem", 0, 0),
	IDICT("_PyObject_InitializeDict", 11, 12),
	IDICT("_PyObject_MakeDictFromInstanceAttributes", 11, 0),
	IDICT("make_dict_from_instance_attributes", 11, 0),
	IDICT("_PyObject_MaterializeManagedDict", 13, 0),
	IDICT("PyObject_GenericGetDict", 0, 0),
	/* set */
	T("make_new_set", SET, SETTAB, 0, 0),
	T("PySet_New", SET, SETTAB, 0, 0),
	T("PyFrozenSet_New", SET, SETTAB, 0, 0),
	ONE("set_table_resize", SETTAB),
	/* instances of classes (the object; its __dict__ is above) */
	T("object_new", INST, INST, 0, 0),
	T("type_call", INST, INST, 0, 0),
	T("_PyType_NewManagedObject", INST, INST, 13, 0),
	/* frames, generators, functions, code */
	ONE("frame_alloc", FRAME),
	ONE("_PyFrame_New_NoTrack", FRAME),
	ONE("_PyFrame_MakeAndSetFrameObject", FRAME),
	ONE("allocate_chunk", FRAME),
	ONE("push_chunk", FRAME),
	ONE("gen_new_with_qualname", "generator"),
	ONE("make_gen", "generator"),
	ONE("PyGen_NewWithQualName", "generator"),
	ONE("_Py_MakeCoro", "generator"),
	ONE("PyFunction_NewWithQualName", "function"),
	ONE("_PyFunction_FromConstructor", "function"),
	ONE("PyCell_New", "cell"),
	ONE("PyMethod_New", "bound method"),
	ONE("_PyCode_New", "code"),
	ONE("PyCode_NewWithPosOnlyArgs", "code"),
	ONE("PyCode_New", "code"),
	/* numpy's array data (the object and its dims are "other") */
	ONE("PyDataMem_UserNEW", "numpy data buffer"),
	ONE("PyDataMem_UserNEW_ZEROED", "numpy data buffer"),
	ONE("PyDataMem_UserRENEW", "numpy data buffer"),
	ONE("PyDataMem_NEW", "numpy data buffer"),
	ONE("PyDataMem_NEW_ZEROED", "numpy data buffer"),
	ONE("npy_alloc_cache", "numpy data buffer"),
	ONE("npy_alloc_cache_zero", "numpy data buffer"),
};

/* Frames walked past the innermost before giving up. */
#define PYTYPE_MAX_WALK 16

int pytype_minor(const char *module)
{
	if (!module)
		return 0;
	const char *b = strrchr(module, '/');
	b = b ? b + 1 : module;
	if (!strncmp(b, "lib", 3))
		b += 3;
	unsigned major, minor;
	if (sscanf(b, "python%u.%u", &major, &minor) != 2 || major != 3 ||
	    minor > 99)
		return 0;
	return (int)minor;
}

static const struct rule *rule_of(const char *fn, int minor)
{
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		const struct rule *r = &rules[i];
		if (strcmp(r->function, fn))
			continue;
		if (minor && ((r->from && minor < r->from) ||
			      (r->to && minor > r->to)))
			continue;
		return r;
	}
	return NULL;
}

static int is_python_frame(const frame_t *f)
{
	return !f->address && !f->module && f->file;
}

/* numpy's core module (stripped on Debian: its frames have no names). */
static int is_numpy_module(const char *module)
{
	const char *b = module ? strrchr(module, '/') : NULL;
	b = b ? b + 1 : module;
	return b && !strncmp(b, "_multiarray_umath", 17);
}

const char *pytype_of(const frame_t *fr, int n, int minor)
{
	const char *what = NULL;
	int via_object = 0;
	int k = 0;
	for (; k < n && k < PYTYPE_MAX_WALK; k++) {
		const frame_t *f = &fr[k];
		if (f->marker || is_python_frame(f))
			break;
		if (!f->function) {
			/* A stripped numpy names none of its functions: say
			 * whose memory it is at least. */
			if (k == 0 && is_numpy_module(f->module))
				return "numpy (no symbols)";
			continue; /* an unnamed helper: walk on */
		}
		const struct rule *r = rule_of(f->function, minor);
		if (!r)
			continue;
		if (r->kind == K_STOP)
			break;
		if (r->kind == K_OBJALLOC) {
			via_object = 1;
			continue;
		}
		if (r->kind == K_TYPE) {
			what = via_object ? r->object : r->direct;
			break;
		}
	}
	if (!what)
		return PYTYPE_OTHER;
	/* A dict, or its keys, made to hold an instance's attributes. */
	if (what == DICT || what == KEYS)
		for (k++; k < n && k < PYTYPE_MAX_WALK; k++) {
			const frame_t *f = &fr[k];
			if (f->marker || is_python_frame(f))
				break;
			const struct rule *r =
				f->function ? rule_of(f->function, minor) : NULL;
			if (r && r->kind == K_STOP)
				break;
			if (r && r->kind == K_INSTANCE_DICT)
				return IVALUES;
		}
	return what;
}
