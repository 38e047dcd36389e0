/* pyframes/internal.h: what the files of preload/pyframes/ share (the
 * module's interface is preload/pyframes.h): the resolved C API, the
 * shadow-stack and intern-table types, the state, the frame walk's layout
 * row.  Included by the .c files of preload/pyframes/ only.  Thread-safety is stated per
 * field and per function, as before the split. */
#ifndef HT_PYFRAMES_INTERNAL_H
#define HT_PYFRAMES_INTERNAL_H

#include "pyframes.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the C API we use, resolved at run time (capi.c) ------------------ */

typedef struct _object PyObject;
typedef int (*py_tracefunc_t)(PyObject *obj, void *frame, int what,
			      PyObject *arg);

enum { PYTRACE_CALL = 0, PYTRACE_RETURN = 3 };

struct pyapi {
	const char *(*GetVersion)(void);
	int (*IsInitialized)(void);
	int (*GILState_Check)(void);
	void (*SetProfile)(py_tracefunc_t fn, PyObject *arg);
	void (*SetProfileAllThreads)(py_tracefunc_t fn, PyObject *arg); /* 3.12+ */
	/* 3.9-3.11: sets another thread's profile function */
	int (*SetProfileTstate)(void *tstate, py_tracefunc_t fn, PyObject *arg);
	void *(*ThreadState_Get)(void);
	void *(*ThreadState_GetInterpreter)(void *tstate);
	void *(*Interp_ThreadHead)(void *interp);
	void *(*ThreadState_Next)(void *tstate);
	PyObject *(*Frame_GetCode)(void *frame); /* new reference */
	void *(*Frame_GetBack)(void *frame); /* new reference or NULL */
	int (*Frame_GetLineNumber)(void *frame);
	void (*IncRef)(PyObject *o);
	void (*DecRef)(PyObject *o);
	PyObject *(*GetAttrString)(PyObject *o, const char *name);
	const char *(*AsUTF8AndSize)(PyObject *s, ssize_t *size);
	long (*AsLong)(PyObject *o);
	void (*Err_Fetch)(PyObject **t, PyObject **v, PyObject **tb);
	void (*Err_Restore)(PyObject *t, PyObject *v, PyObject *tb);
	/* the frame walk (3.11+) */
	void *(*GILState_GetThisThreadState)(void); /* this thread's, GIL or not */
	void *(*ThreadState_Unchecked)(void); /* the attached one or NULL */
	void *(*Interp_Main)(void);
	void *(*Eval_GetFrame)(void); /* borrowed reference */
	int (*Code_Addr2Line)(PyObject *code, int byte_offset);
	void *Code_Type; /* &PyCode_Type */
	int minor; /* 3.<minor> */
};

/* The C API, resolved by pyf_resolve (capi.c). */
extern struct pyapi pyapi HT_HIDDEN;

/* Fills pyapi; 0, or -ENOSYS after saying why (once).  GIL held. */
int pyf_resolve(void);

/* ---- state (pyframes.c) ------------------------------------------------ */

/* One Python frame on a thread's shadow stack. */
typedef struct pyent {
	void *frame; /* PyFrameObject *, a reference we own */
	uintptr_t sp; /* native sp at its CALL event; 0 = seeded at install */
	uint32_t code; /* interned code id (>= 2) */
	uint32_t line; /* last computed line, 0 = never; see LINE_FRESH */
} pyent_t;

/* The line in pyent_t.line is current (the frame has not run since). */
#define LINE_FRESH 0x80000000u

#define STACK_BYTES (1u << 20) /* 43690 frames; pages are touched as used */
#define STACK_CAP ((STACK_BYTES - 64) / sizeof(pyent_t))

typedef struct pystack {
	uint32_t depth; /* entries in use; written after the entry */
	uint32_t overflow; /* CALLs past STACK_CAP, not stored */
	struct pystack *next_free; /* free list link (thread gone) */
	uint64_t pad[5]; /* entries start at a cache line */
	pyent_t ent[];
} pystack_t;

/* This thread's shadow stack (profile.c), NULL until its first CALL. */
extern __thread pystack_t *tls_stack __attribute__((tls_model("initial-exec"))) HT_HIDDEN;

/* Interned code objects: id -> info (ids are dense from 1), and an open
 * addressing table code object -> id read without locks. */
typedef struct codeinfo {
	const char *file; /* NUL-terminated, in the string arena */
	const char *func;
	uint32_t firstline;
} codeinfo_t;

#define INFO_CHUNK 4096u /* infos per mmap'ed chunk */
#define INFO_CHUNKS 4096u /* at most 16M code objects */

typedef struct slot {
	_Atomic(PyObject *) key; /* published last (release) */
	uint32_t id;
	uint32_t nunits; /* frame walk: code units of key, lines[] size */
	/* frame walk: line of each code unit, 0 = not computed yet (racing
	 * writers store the same value); NULL in profile mode */
	_Atomic uint32_t *lines;
} slot_t;

typedef struct table {
	uint32_t mask; /* slots - 1 */
	uint32_t used;
	slot_t slots[];
} table_t;

struct pyf_state {
	int resolved; /* py is filled */
	_Atomic int active; /* capture may read Python state */
	_Atomic int installed; /* the profile function was installed once */
	_Atomic int attempted; /* heaptrail.py asked (it said why it failed) */
	_Atomic int py_seen; /* Python initialized in this process */
	int every_frame_entry; /* 3.9/3.10: one native eval per frame */
	pthread_key_t key; /* thread exit: returns the stack */
	int key_ok;
	pthread_mutex_t lock; /* intern writers, free list, warnings */
	_Atomic(table_t *) table;
	codeinfo_t *chunks[INFO_CHUNKS];
	_Atomic uint32_t ncodes; /* highest id whose info is complete */
	uint32_t emitted; /* writer: ids delivered so far */
	uint32_t boundary_id; /* id of the boundary pseudo code, 0 = none */
	char *arena; /* string arena: current chunk */
	size_t arena_left;
	pystack_t *free_stacks;
	char pending[256]; /* a warning not yet taken by the writer */
	int exit_warned;
	int attached; /* recording began at `heaptrail attach` (pyframes_attached) */
	int cut_warned; /* the walk_cut warning was given */
	_Atomic int attach_state; /* PYF_ATTACH_*: the install after an attach */
};

enum {
	PYF_ATTACH_OFF = 0, /* no attach, or detached */
	PYF_ATTACH_PENDING, /* Py_AddPendingCall made, not run yet */
	PYF_ATTACH_ON, /* the frame walk runs */
	PYF_ATTACH_FAILED, /* said why; native frames only */
};

/* The shared state (pyframes.c). */
extern struct pyf_state pyf HT_HIDDEN;

/* Warnings: through pyframes_set_warn's callback when set, else printed
 * with util_say and kept for pyframes_take_warning (pyf_say_pending). */
void pyf_say(const char *text);
void pyf_say_pending(const char *text);

/* ---- code interning (intern.c) ---------------------------------------- */

/* n bytes of fresh zeroed memory (mmap, never malloc); NULL on failure. */
void *pyf_map(size_t n);
static inline codeinfo_t *pyf_info_at(uint32_t id)
{
	uint32_t c = (id - 1) / INFO_CHUNK;
	if (c >= INFO_CHUNKS || !pyf.chunks[c])
		return NULL;
	return &pyf.chunks[c][(id - 1) % INFO_CHUNK];
}

/* Interns code (GIL held, or a code object seen before); its id, 0 when
 * memory ran out. */
uint32_t pyf_code_intern(PyObject *code);
/* A new info (file, function, first line) with pyf.lock held; its id or 0. */
uint32_t pyf_info_add(const char *file, size_t fl, const char *func, size_t fnl,
		      uint32_t firstline);
/* The table slot of code, NULL when not interned (lock-free). */
const slot_t *pyf_table_slot(const table_t *t, const PyObject *code);
/* Interns code with its lines table for the frame walk (see intern.c). */
uint32_t pyf_intern_named(PyObject *code, const char *fs, size_t fl, const char *ns, size_t nl,
			  long first, uint32_t nunits);
/* UTF-8 of a str object, code units of a code object (walk.c). */
ssize_t pyf_str_utf8(const char *so, char *out, size_t cap);
ssize_t pyf_code_units(const void *code);

/* ---- the profile function (profile.c) --------------------------------- */

/* This thread's shadow stack, mapped on first use; NULL when out of memory. */
pystack_t *pyf_stack_get(void);
/* Key destructor: gives a gone thread's stack back. */
void pyf_stack_release(void *p);
/* Pushes frame and its callers (install, GIL held). */
void pyf_seed(pystack_t *s, void *frame);
int pyf_profile_fn(PyObject *obj, void *frame, int what, PyObject *arg);
/* pyframes_capture from the shadow stack. */
int pyf_profile_capture(uint32_t *code_ids, uint32_t *lines, int max);

/* ---- the frame walk (walk.c) and its layout rows (layout.c) ----------- */

/* Byte offsets into CPython's private structures, read at allocation time.
 * There are no Python headers at build time (one binary serves 3.9 to
 * 3.13), so each supported minor version has one row, measured with
 * offsetof() against that version's own headers (Include/cpython/pystate.h,
 * Include/internal/pycore_frame.h, Include/cpython/code.h,
 * Include/cpython/unicodeobject.h) for x86-64/aarch64 LP64, release
 * builds with the GIL.  Debian's 3.11.2 and pyenv's 3.9.18, 3.10.13,
 * 3.11.7, 3.12.1 and 3.13.0 were checked; install() also checks the row against the
 * interpreter before trusting it (walk_selftest).  Versions without a row,
 * debug and free-threaded builds use the profile function instead. */
typedef struct pylayout {
	int minor;
	/* 3.9, 3.10: the chain is of frame objects (PyFrameObject: f_back,
	 * f_code, f_lasti), each run by its own evaluation-loop invocation,
	 * never incomplete; the instructions are the bytes object co_code. */
	int frame_objects;
	int fr_lasti; /* PyFrameObject.f_lasti (int; -1 = not started) */
	int lasti_bytes; /* f_lasti counts bytes (3.9), not code units */
	int ts_interp; /* PyThreadState.interp */
	int ts_cframe; /* PyThreadState.cframe (3.11, 3.12), else -1 */
	int cf_current; /* _PyCFrame.current_frame */
	int ts_current; /* PyThreadState.current_frame (3.13+), .frame
			 * (3.9, 3.10), else -1 */
	int fr_code; /* _PyInterpreterFrame.f_code (3.13: f_executable) */
	int fr_previous; /* .previous (3.9, 3.10: f_back) */
	int fr_instr; /* .prev_instr (3.13: instr_ptr), else -1 */
	int fr_owner; /* .owner (char, enum _frameowner), else -1 */
	int fr_is_entry; /* .is_entry (bool, 3.11 only), else -1 */
	int co_size; /* PyVarObject.ob_size of a code object: code units
		      * (3.9, 3.10: -1, the size of co_code) */
	int co_firstlineno; /* PyCodeObject.co_firstlineno (int) */
	int co_filename; /* .co_filename (str) */
	int co_qualname; /* .co_qualname (str; 3.9, 3.10: co_name) */
	int co_firsttraceable; /* ._co_firsttraceable (int, code units) */
	int co_code; /* .co_code_adaptive: the instructions (3.9, 3.10:
		      * .co_code, a bytes object) */
	int str_ascii_data; /* sizeof(PyASCIIObject): compact ASCII data */
	int str_utf8_length; /* PyCompactUnicodeObject.utf8_length */
	int str_utf8; /* PyCompactUnicodeObject.utf8 (may be NULL) */
	int str_compact_data; /* sizeof(PyCompactUnicodeObject) */
} pylayout_t;

/* enum _frameowner (3.11+; CSTACK from 3.12) */
enum { OWNED_BY_GENERATOR = 1, OWNED_BY_CSTACK = 3 };

/* PyASCIIObject.state (offset 32 in every version here): the bit fields
 * interned:2, kind:3, compact:1, ascii:1 from the low bit. */
#define STR_STATE 32
#define STR_LENGTH 16

/* The frame walk's state (walk.c). */
extern const pylayout_t *layout HT_HIDDEN; /* the row in use (or being checked) */
/* Fills pyframes_keyer (pyframes.h) from the checked layout: before
 * walk_on is set. */
void pyf_keyer_set(void) HT_HIDDEN;
extern int walk_on HT_HIDDEN; /* layout passed its check: captures walk (set once) */
extern void *main_interp HT_HIDDEN; /* PyInterpreterState_Main() */
extern _Atomic uint64_t walk_cut HT_HIDDEN; /* captures cut at a code object first
				     seen without the GIL */

static inline void *rd_ptr(const void *base, int off)
{
	return *(void *const *)((const char *)base + off);
}

static inline int rd_int(const void *base, int off)
{
	return *(const int *)((const char *)base + off);
}

/* pyframes_capture by walking the interpreter's frames (walk_on). */
int pyf_walk_capture(uint32_t *code_ids, uint32_t *lines, int max);
/* Chooses the frame walk when a layout row passes its check (install, GIL
 * held); 1 when chosen. */
int pyf_walk_enable(int from_python);

/* In the main interpreter (sub-interpreters are ignored), GIL held. */
int pyf_in_main_interp(void);

/* CPython 3.13+: objects recycled from free lists are recorded at the
 * reusing line (reftrace.c).  GIL held; no-ops before 3.13, without the
 * frame walk or without PYTHONMALLOC=malloc. */
void pyf_reftrace_install(void);
void pyf_reftrace_remove(void);

#endif /* HT_PYFRAMES_INTERNAL_H */
