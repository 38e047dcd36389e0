/* Python frame capture: see pyframes.h.
 *
 * How it works.  The `heaptrail` Python module (loaded at startup by the
 * sitecustomize.py that `heaptrail record` puts on PYTHONPATH) calls
 * heaptrail_py_install() through ctypes.PyDLL, i.e. with the GIL held.  That
 * resolves the few C-API functions we use with dlsym (no Python headers at
 * build time, one binary for CPython 3.9 to 3.13) and chooses one of two
 * ways to get frames:
 *
 * The frame walk (CPython 3.9-3.13 release builds with the GIL, see
 * "the frame walk" below): each capture reads the calling thread's own
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
#include "pyframes.h"

#include "config.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the C API we use, resolved at run time ------------------------- */

typedef struct _object PyObject;
typedef int (*py_tracefunc_t)(PyObject *obj, void *frame, int what,
			      PyObject *arg);

enum { PYTRACE_CALL = 0, PYTRACE_RETURN = 3 };

static struct pyapi {
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
} py;

/* ---- state ----------------------------------------------------------- */

/* One Python frame on a thread's shadow stack. */
typedef struct pyent {
	void *frame; /* PyFrameObject *, a reference we own */
	uintptr_t sp; /* native sp at its CALL event; 0 = seeded at install */
	uint32_t code; /* interned code id (>= 2) */
	uint32_t line; /* last computed line, 0 = never; see LINE_FRESH */
} pyent_t;

/* The line in pyent_t.line is current (the frame has not run since). */
#define LINE_FRESH 0x80000000u

#define STACK_BYTES (4u << 20) /* virtual; pages are touched as used */
#define STACK_CAP ((STACK_BYTES - 64) / sizeof(pyent_t))

typedef struct pystack {
	uint32_t depth; /* entries in use; written after the entry */
	uint32_t overflow; /* CALLs past STACK_CAP, not stored */
	struct pystack *next_free; /* free list link (thread gone) */
	uint64_t pad[5]; /* entries start at a cache line */
	pyent_t ent[];
} pystack_t;

static __thread pystack_t *tls_stack __attribute__((tls_model("initial-exec")));

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

static struct state {
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
	int cut_warned; /* the walk_cut warning was given */
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The recorder's warning channel (stderr line + WARNING record), set by
 * pyframes_set_warn; NULL in unit tests without a recording. */
static void (*warn_fn)(const char *text);

void pyframes_set_warn(void (*fn)(const char *text))
{
	warn_fn = fn;
}

/* Prints "heaptrail: text" (util_say: not under HEAPTRAIL_QUIET=1) and
 * keeps text for pyframes_take_warning. */
static void say_pending(const char *text)
{
	util_say(0, text);
	pthread_mutex_lock(&st.lock);
	if (!st.pending[0]) {
		strncpy(st.pending, text, sizeof(st.pending) - 1);
		st.pending[sizeof(st.pending) - 1] = 0;
	}
	pthread_mutex_unlock(&st.lock);
}

/* A warning from a Python thread: through the recorder's channel when it
 * is set, else kept for the writer. */
static void say(const char *text)
{
	if (warn_fn)
		warn_fn(text);
	else
		say_pending(text);
}

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- per-thread shadow stacks ----------------------------------------- */

static void stack_release(void *p)
{
	pystack_t *s = p;
	if (tls_stack == s)
		tls_stack = NULL;
	/* Frames still on it (a thread that ended without RETURN events)
	 * keep their references: we may not touch Python here. */
	s->depth = 0;
	s->overflow = 0;
	pthread_mutex_lock(&st.lock);
	s->next_free = st.free_stacks;
	st.free_stacks = s;
	pthread_mutex_unlock(&st.lock);
}

static pystack_t *stack_get(void)
{
	pystack_t *s = tls_stack;
	if (s)
		return s;
	pthread_mutex_lock(&st.lock);
	s = st.free_stacks;
	if (s)
		st.free_stacks = s->next_free;
	pthread_mutex_unlock(&st.lock);
	if (!s) {
		s = map(STACK_BYTES);
		if (!s)
			return NULL;
	}
	s->depth = 0;
	s->overflow = 0;
	s->next_free = NULL;
	if (st.key_ok)
		pthread_setspecific(st.key, s);
	tls_stack = s;
	return s;
}

/* ---- code interning ---------------------------------------------------- */

static const char *arena_copy(const char *s, size_t n)
{
	if (n > 4095)
		n = 4095;
	if (st.arena_left < n + 1) {
		size_t sz = 1u << 20;
		char *a = map(sz);
		if (!a)
			return "";
		st.arena = a;
		st.arena_left = sz;
	}
	char *d = st.arena;
	memcpy(d, s, n);
	d[n] = 0;
	st.arena += n + 1;
	st.arena_left -= n + 1;
	return d;
}

static codeinfo_t *info_at(uint32_t id)
{
	uint32_t c = (id - 1) / INFO_CHUNK;
	if (c >= INFO_CHUNKS || !st.chunks[c])
		return NULL;
	return &st.chunks[c][(id - 1) % INFO_CHUNK];
}

static inline uint32_t hash_ptr(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static const slot_t *table_slot(const table_t *t, const PyObject *code)
{
	if (!t)
		return NULL;
	for (uint32_t i = hash_ptr(code) & t->mask;; i = (i + 1) & t->mask) {
		PyObject *k = atomic_load_explicit(
			(_Atomic(PyObject *) *)&t->slots[i].key,
			memory_order_acquire);
		if (k == code)
			return &t->slots[i];
		if (!k)
			return NULL;
	}
}

static uint32_t table_find(const table_t *t, const PyObject *code)
{
	const slot_t *sl = table_slot(t, code);
	return sl ? sl->id : 0;
}

static void table_put(table_t *t, PyObject *code, uint32_t id,
		      uint32_t nunits, _Atomic uint32_t *lines)
{
	uint32_t i = hash_ptr(code) & t->mask;
	while (atomic_load_explicit(&t->slots[i].key, memory_order_relaxed))
		i = (i + 1) & t->mask;
	t->slots[i].id = id;
	t->slots[i].nunits = nunits;
	t->slots[i].lines = lines;
	atomic_store_explicit(&t->slots[i].key, code, memory_order_release);
	t->used++;
}

/* Adds an info under st.lock; returns its id or 0 when out of memory. */
static uint32_t info_add(const char *file, size_t fl, const char *func,
			 size_t fnl, uint32_t firstline)
{
	uint32_t id = atomic_load_explicit(&st.ncodes, memory_order_relaxed) + 1;
	uint32_t c = (id - 1) / INFO_CHUNK;
	if (c >= INFO_CHUNKS)
		return 0;
	if (!st.chunks[c]) {
		st.chunks[c] = map(INFO_CHUNK * sizeof(codeinfo_t));
		if (!st.chunks[c])
			return 0;
	}
	codeinfo_t *ci = &st.chunks[c][(id - 1) % INFO_CHUNK];
	ci->file = arena_copy(file, fl);
	ci->func = arena_copy(func, fnl);
	ci->firstline = firstline;
	atomic_store_explicit(&st.ncodes, id, memory_order_release);
	return id;
}

/* Line arrays for the frame walk: bump-allocated from mmap'ed chunks
 * (under st.lock), never freed, like the code objects they describe. */
static _Atomic uint32_t *lines_alloc(uint32_t nunits)
{
	static char *cur;
	static size_t left;
	size_t need = ((size_t)nunits * sizeof(uint32_t) + 15) & ~(size_t)15;
	if (!need)
		need = 16;
	if (need > left) {
		size_t sz = need > (1u << 20) ? need : (1u << 20);
		char *m = map(sz);
		if (!m)
			return NULL;
		if (need == sz)
			return (_Atomic uint32_t *)m; /* a big one: its own map */
		cur = m;
		left = sz;
	}
	_Atomic uint32_t *r = (_Atomic uint32_t *)cur;
	cur += need;
	left -= need;
	return r;
}

/* Adds code (whose names were read already) to the table, taking a
 * reference so its address is never reused; returns its id (the existing
 * one if another thread was first), or 0 when out of memory.  nunits > 0
 * (frame walk) also gives it a line array.  The caller holds the GIL (the
 * thread is attached): Py_IncRef needs it. */
static uint32_t intern_named(PyObject *code, const char *fs, size_t fl,
			     const char *ns, size_t nl, long first,
			     uint32_t nunits)
{
	pthread_mutex_lock(&st.lock);
	table_t *t = atomic_load_explicit(&st.table, memory_order_acquire);
	uint32_t id = table_find(t, code);
	if (!id && (!t || (t->used + 1) * 2 > t->mask + 1)) {
		uint32_t n = t ? (t->mask + 1) * 2 : 4096;
		table_t *nt = map(sizeof(table_t) + n * sizeof(slot_t));
		if (nt) {
			nt->mask = n - 1;
			for (uint32_t i = 0; t && i <= t->mask; i++)
				if (t->slots[i].key)
					table_put(nt, t->slots[i].key,
						  t->slots[i].id,
						  t->slots[i].nunits,
						  t->slots[i].lines);
			/* The old table stays mapped: a reader may be in it. */
			atomic_store_explicit(&st.table, nt,
					      memory_order_release);
			t = nt;
		} else if (!t || t->used + 1 > t->mask) {
			t = NULL;
		}
	}
	if (!id && t) {
		_Atomic uint32_t *lines = nunits ? lines_alloc(nunits) : NULL;
		if (!nunits || lines)
			id = info_add(fs, fl, ns, nl,
				      first > 0 ? (uint32_t)first : 0);
		if (id) {
			py.IncRef(code); /* its address is never reused */
			table_put(t, code, id, lines ? nunits : 0, lines);
		}
	}
	pthread_mutex_unlock(&st.lock);
	return id;
}

/* Interns code (GIL held, profile mode): 0 when it cannot be interned. */
static uint32_t code_intern(PyObject *code)
{
	table_t *t = atomic_load_explicit(&st.table, memory_order_acquire);
	uint32_t id = table_find(t, code);
	if (id)
		return id;

	/* Read the names before taking the lock: these calls may allocate
	 * (the recorder captures those allocations; it never comes back
	 * here, profile functions are not re-entered). */
	PyObject *et, *ev, *etb;
	py.Err_Fetch(&et, &ev, &etb);
	PyObject *fo = py.GetAttrString(code, "co_filename");
	PyObject *no = py.GetAttrString(code, py.minor >= 11 ? "co_qualname"
							     : "co_name");
	PyObject *lo = py.GetAttrString(code, "co_firstlineno");
	ssize_t fl = 0, nl = 0;
	const char *fs = fo ? py.AsUTF8AndSize(fo, &fl) : NULL;
	const char *ns = no ? py.AsUTF8AndSize(no, &nl) : NULL;
	long first = lo ? py.AsLong(lo) : 0;
	if (!fs)
		fs = "<unknown>", fl = 9;
	if (!ns)
		ns = "<unknown>", nl = 9;

	id = intern_named(code, fs, (size_t)fl, ns, (size_t)nl, first, 0);

	if (fo)
		py.DecRef(fo);
	if (no)
		py.DecRef(no);
	if (lo)
		py.DecRef(lo);
	py.Err_Restore(et, ev, etb);
	return id;
}

/* ---- the profile function ---------------------------------------------- */

static void push(pystack_t *s, void *frame, uint32_t code, uintptr_t sp)
{
	if (s->depth >= STACK_CAP || s->overflow) {
		s->overflow++;
		return;
	}
	py.IncRef(frame);
	pyent_t *e = &s->ent[s->depth];
	e->frame = frame;
	e->code = code;
	e->sp = sp;
	e->line = 0;
	if (s->depth)
		s->ent[s->depth - 1].line &= ~LINE_FRESH; /* caller moved */
	/* A capture from a signal handler must not see a half entry. */
	atomic_signal_fence(memory_order_release);
	s->depth++;
}

static void pop(pystack_t *s, void *frame)
{
	if (s->overflow) {
		s->overflow--;
		return;
	}
	uint32_t d = s->depth;
	uint32_t k = d;
	while (k > 0 && s->ent[k - 1].frame != frame)
		k--;
	if (k == 0)
		return; /* entered before we were installed */
	/* Entries above it missed their RETURN: drop them too. */
	s->depth = k - 1;
	atomic_signal_fence(memory_order_release);
	for (uint32_t i = d; i-- > k - 1;)
		py.DecRef(s->ent[i].frame);
}

static int profile_fn(PyObject *obj, void *frame, int what, PyObject *arg)
{
	(void)obj;
	(void)arg;
	if (what == PYTRACE_CALL) {
		pystack_t *s = stack_get();
		if (!s)
			return 0;
		PyObject *code = py.Frame_GetCode(frame);
		uint32_t id = code ? code_intern(code) : 0;
		if (code)
			py.DecRef(code);
		if (!id)
			id = st.boundary_id; /* keeps push/pop paired */
		push(s, frame, id, (uintptr_t)__builtin_frame_address(0));
	} else if (what == PYTRACE_RETURN) {
		pystack_t *s = tls_stack;
		if (s)
			pop(s, frame);
	}
	return 0;
}

/* Pushes frame and its callers (outermost first) as the stack's base. */
static void seed(pystack_t *s, void *frame)
{
	void *chain[512];
	int n = 0;
	if (!frame)
		return;
	py.IncRef(frame);
	for (void *f = frame; f && n < 512;) {
		chain[n++] = f; /* reference owned by chain[] */
		f = py.Frame_GetBack(f);
	}
	/* Frames already on the stack (an install repeated) are skipped. */
	int skip = 0;
	for (uint32_t i = 0; i < s->depth && skip < n; i++)
		if (s->ent[i].frame == chain[n - 1 - skip])
			skip++;
	for (int i = n - 1 - skip; i >= 0; i--) {
		PyObject *code = py.Frame_GetCode(chain[i]);
		uint32_t id = code ? code_intern(code) : 0;
		if (code)
			py.DecRef(code);
		/* sp 0: one native invocation for all seeded frames on 3.11+
		 * (they are the thread's bootstrap, run inline). */
		push(s, chain[i], id ? id : st.boundary_id, 0);
	}
	for (int i = 0; i < n; i++)
		py.DecRef(chain[i]);
}

/* ---- the frame walk (CPython 3.9+) ------------------------------------- */

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

static const pylayout_t layouts[] = {
	{ .minor = 9, .frame_objects = 1, .fr_lasti = 104, .lasti_bytes = 1,
	  .ts_interp = 16, .ts_cframe = -1, .cf_current = -1, .ts_current = 24,
	  .fr_code = 32, .fr_previous = 24, .fr_instr = -1, .fr_owner = -1,
	  .fr_is_entry = -1, .co_size = -1, .co_firstlineno = 40,
	  .co_filename = 104, .co_qualname = 112, .co_firsttraceable = -1,
	  .co_code = 48, .str_ascii_data = 48, .str_utf8_length = 48,
	  .str_utf8 = 56, .str_compact_data = 72 },
	{ .minor = 10, .frame_objects = 1, .fr_lasti = 96, .lasti_bytes = 0,
	  .ts_interp = 16, .ts_cframe = -1, .cf_current = -1, .ts_current = 24,
	  .fr_code = 32, .fr_previous = 24, .fr_instr = -1, .fr_owner = -1,
	  .fr_is_entry = -1, .co_size = -1, .co_firstlineno = 40,
	  .co_filename = 104, .co_qualname = 112, .co_firsttraceable = -1,
	  .co_code = 48, .str_ascii_data = 48, .str_utf8_length = 48,
	  .str_utf8 = 56, .str_compact_data = 72 },
	{ .minor = 11, .ts_interp = 16, .ts_cframe = 56, .cf_current = 8,
	  .ts_current = -1, .fr_code = 32, .fr_previous = 48, .fr_instr = 56,
	  .fr_owner = 69, .fr_is_entry = 68, .co_size = 16,
	  .co_firstlineno = 72, .co_filename = 112, .co_qualname = 128,
	  .co_firsttraceable = 168, .co_code = 184, .str_ascii_data = 48,
	  .str_utf8_length = 48, .str_utf8 = 56, .str_compact_data = 72 },
	{ .minor = 12, .ts_interp = 16, .ts_cframe = 56, .cf_current = 0,
	  .ts_current = -1, .fr_code = 0, .fr_previous = 8, .fr_instr = 56,
	  .fr_owner = 70, .fr_is_entry = -1, .co_size = 16,
	  .co_firstlineno = 68, .co_filename = 112, .co_qualname = 128,
	  .co_firsttraceable = 176, .co_code = 192, .str_ascii_data = 40,
	  .str_utf8_length = 40, .str_utf8 = 48, .str_compact_data = 56 },
	{ .minor = 13, .ts_interp = 16, .ts_cframe = -1, .cf_current = -1,
	  .ts_current = 72, .fr_code = 0, .fr_previous = 8, .fr_instr = 56,
	  .fr_owner = 70, .fr_is_entry = -1, .co_size = 16,
	  .co_firstlineno = 68, .co_filename = 112, .co_qualname = 128,
	  .co_firsttraceable = 184, .co_code = 200, .str_ascii_data = 40,
	  .str_utf8_length = 40, .str_utf8 = 48, .str_compact_data = 56 },
};

/* enum _frameowner (3.11+; CSTACK from 3.12) */
enum { OWNED_BY_GENERATOR = 1, OWNED_BY_CSTACK = 3 };

/* PyASCIIObject.state (offset 32 in every version here): the bit fields
 * interned:2, kind:3, compact:1, ascii:1 from the low bit. */
#define STR_STATE 32
#define STR_LENGTH 16

static const pylayout_t *L; /* the row in use (or being checked) */
static int walk_on; /* L passed its check: captures walk (set once) */
static void *main_interp; /* PyInterpreterState_Main() */
static _Atomic uint64_t walk_cut; /* captures cut at a code object first
				     seen without the GIL */

static inline void *rd_ptr(const void *base, int off)
{
	return *(void *const *)((const char *)base + off);
}

static inline int rd_int(const void *base, int off)
{
	return *(const int *)((const char *)base + off);
}

/* UTF-8 of a str object without calling Python (nothing may allocate
 * here): compact strings only (all strings a code object holds).  Writes
 * at most cap bytes to out; returns the length, or -1 when unreadable. */
static ssize_t str_utf8(const char *so, char *out, size_t cap)
{
	if (!so)
		return -1;
	uint32_t state = *(const uint32_t *)(so + STR_STATE);
	unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1,
		 ascii = (state >> 6) & 1;
	ssize_t len = *(const ssize_t *)(so + STR_LENGTH);
	if (!compact || len < 0 || (kind != 1 && kind != 2 && kind != 4))
		return -1;
	if (ascii) {
		size_t n = (size_t)len < cap ? (size_t)len : cap;
		memcpy(out, so + L->str_ascii_data, n);
		return (ssize_t)n;
	}
	const char *u8 = rd_ptr(so, L->str_utf8);
	if (u8) {
		ssize_t ul = *(const ssize_t *)(so + L->str_utf8_length);
		size_t n = ul <= 0 ? 0 : (size_t)ul < cap ? (size_t)ul : cap;
		memcpy(out, u8, n);
		return (ssize_t)n;
	}
	const unsigned char *d =
		(const unsigned char *)so + L->str_compact_data;
	size_t o = 0;
	for (ssize_t i = 0; i < len; i++) {
		uint32_t c = kind == 1	 ? d[i]
			     : kind == 2 ? ((const uint16_t *)d)[i]
					 : ((const uint32_t *)d)[i];
		char b[4];
		size_t k;
		if (c >= 0xd800 && c < 0xe000)
			c = '?'; /* a lone surrogate */
		if (c < 0x80) {
			b[0] = (char)c, k = 1;
		} else if (c < 0x800) {
			b[0] = (char)(0xc0 | c >> 6);
			b[1] = (char)(0x80 | (c & 0x3f)), k = 2;
		} else if (c < 0x10000) {
			b[0] = (char)(0xe0 | c >> 12);
			b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f)), k = 3;
		} else {
			b[0] = (char)(0xf0 | c >> 18);
			b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (char)(0x80 | (c & 0x3f)), k = 4;
		}
		if (o + k > cap)
			break;
		memcpy(out + o, b, k);
		o += k;
	}
	return (ssize_t)o;
}

/* Number of code units (2 bytes each) of a code object's instructions. */
static ssize_t code_units(const void *code)
{
	if (L->co_size >= 0)
		return *(const ssize_t *)((const char *)code + L->co_size);
	const char *bytes = rd_ptr(code, L->co_code); /* ob_size at 16 */
	return bytes ? *(const ssize_t *)(bytes + 16) / 2 : 0;
}

/* Interns a code object met by the walk, inside an allocation hook: no
 * Python call, only reads of immutable fields.  Needs this thread to hold
 * the GIL (Py_IncRef) and the code object not to be dying (it can be the
 * current frame's while _PyFrame_Clear releases it); returns the slot or
 * NULL. */
static const slot_t *walk_intern(PyObject *code, const void *tstate)
{
	if (!py.ThreadState_Unchecked || py.ThreadState_Unchecked() != tstate)
		return NULL; /* not attached: no GIL */
	if (*(const ssize_t *)code <= 0 ||
	    rd_ptr(code, 8) != py.Code_Type) /* ob_refcnt, ob_type */
		return NULL;
	char fs[4096], ns[1024];
	ssize_t fl = str_utf8(rd_ptr(code, L->co_filename), fs, sizeof(fs));
	ssize_t nl = str_utf8(rd_ptr(code, L->co_qualname), ns, sizeof(ns));
	if (fl < 0)
		memcpy(fs, "<unknown>", 9), fl = 9;
	if (nl < 0)
		memcpy(ns, "<unknown>", 9), nl = 9;
	ssize_t units = code_units(code);
	if (units <= 0 || units > (1 << 28))
		return NULL;
	if (!intern_named(code, fs, (size_t)fl, ns, (size_t)nl,
			  rd_int(code, L->co_firstlineno), (uint32_t)units))
		return NULL;
	return table_slot(atomic_load_explicit(&st.table, memory_order_acquire),
			  code);
}

/* The innermost interpreter frame of tstate (a _PyInterpreterFrame *). */
static inline const char *walk_top(const void *tstate)
{
	if (L->ts_current >= 0)
		return rd_ptr(tstate, L->ts_current);
	const void *cf = rd_ptr(tstate, L->ts_cframe);
	return cf ? rd_ptr(cf, L->cf_current) : NULL;
}

/* pyframes_capture by walking the calling thread's own frame chain.
 *
 * Why reading it without the GIL is safe: the chain hangs off this
 * thread's PyThreadState and only this thread pushes and pops its frames
 * (sys._current_frames in another thread only reads them).  This thread is
 * inside malloc, so it is not between two steps of a push or pop: CPython
 * links a frame (previous, then current_frame) only after it is fully
 * initialized and unlinks it before freeing it, with no allocation in
 * between (3.9, 3.10: the evaluation loop links a frame object it was
 * given complete).  Frames it may allocate in are linked but "incomplete" (3.11+:
 * MAKE_CELL, COPY_FREE_VARS run before the first traceable instruction);
 * CPython's own traceback and frame code skips those, and so do we.  A
 * frame being cleared (_PyFrame_Clear) is still the current one while it
 * drops its references, its code object last: its f_code pointer stays
 * readable, and walk_intern refuses a code object whose count is 0.
 * Generator frames live in the generator while suspended and are linked
 * into the chain only while running.  The code objects we report are held
 * by a reference we own (interned), so their line tables stay readable.
 *
 * Boundaries: 3.9 and 3.10 run each frame in its own invocation of
 * _PyEval_EvalFrameDefault (a boundary between every two frames); 3.11
 * marks the first frame of each invocation with is_entry; 3.12+ pushes a
 * shim frame owned by the C stack
 * under it.  A boundary goes between that frame and its caller, also when
 * the frame itself is skipped as incomplete (its evaluation frame is on
 * the native stack all the same), so groups line up one to one with the
 * native evaluation frames.
 *
 * Main interpreter only: a thread of a sub-interpreter gets no frames.
 * (walk_capture below; first its per-thread cache.) */

/* A frame the walk resolved before: instr (an address inside an interned,
 * hence immortal, code object's instructions) always maps to the same code
 * id and line, on any thread.  Only complete frames are entered. */
typedef struct wcache {
	const char *instr; /* key; NULL = empty */
	PyObject *code; /* the frame's code object */
	uint32_t id; /* its PYCODE id */
	uint32_t line; /* the line of instr */
} wcache_t;

#define WCACHE_BITS 8 /* 256 entries, 6 KiB per thread */

/* This thread's cache: direct-mapped, in the thread's pystack_t block
 * (unused by the walk otherwise), NULL when none could be had. */
static wcache_t *wcache_get(void)
{
	pystack_t *s = tls_stack;
	if (__builtin_expect(!s, 0))
		s = stack_get(); /* mmap, no malloc; entries stay valid */
	return s ? (wcache_t *)(void *)s->ent : NULL;
}

static inline uint32_t wcache_slot(const char *instr)
{
	return (uint32_t)(((uintptr_t)instr >> 1) * 0x9e3779b97f4a7c15ull >>
			  (64 - WCACHE_BITS));
}

/* The slow path of the walk for one complete frame: its code object's
 * slot (interned now if need be) and the line of code unit `index` (-1:
 * not started: the first line).  Fills the cache entry ce (key: `key`).
 * Returns 1 with *id and *line set, or -1 when the code object cannot be
 * interned (the capture stops there). */
static int walk_lookup(const void *ts, PyObject *code, ptrdiff_t index,
		       const char *key, wcache_t *ce, uint32_t *id,
		       uint32_t *line)
{
	table_t *t = atomic_load_explicit(&st.table, memory_order_acquire);
	const slot_t *sl = table_slot(t, code);
	if (!sl) {
		sl = walk_intern(code, ts);
		if (!sl) {
			atomic_fetch_add_explicit(&walk_cut, 1,
						  memory_order_relaxed);
			return -1;
		}
	}
	uint32_t l = 0;
	if (index >= 0 && index < (ptrdiff_t)sl->nunits) {
		l = atomic_load_explicit(&sl->lines[index],
					 memory_order_relaxed);
		if (!l) {
			int r = py.Code_Addr2Line(code, (int)index * 2);
			l = r > 0 ? (uint32_t)r : UINT32_MAX;
			atomic_store_explicit(&sl->lines[index], l,
					      memory_order_relaxed);
		}
	}
	if (!l || l == UINT32_MAX) {
		const codeinfo_t *ci = info_at(sl->id);
		l = ci ? ci->firstline : 0;
	}
	*id = sl->id;
	*line = l;
	if (ce) {
		ce->instr = key;
		ce->code = code;
		ce->id = sl->id;
		ce->line = l;
	}
	return 1;
}

/* walk_capture for 3.9 and 3.10: a chain of frame objects, each run by its
 * own evaluation-loop invocation (a boundary between every two).  The
 * cache key is code + 2 * instruction index, unique with the code check. */
static int walk_capture_fo(const void *ts, const char *top, wcache_t *cache,
			   uint32_t *code_ids, uint32_t *lines, int max)
{
	const int o_prev = L->fr_previous, o_code = L->fr_code,
		  o_lasti = L->fr_lasti, lasti_bytes = L->lasti_bytes;
	const uint32_t bid = st.boundary_id;
	int n = 0;
	for (const char *f = top; f; f = rd_ptr(f, o_prev)) {
		PyObject *code = rd_ptr(f, o_code);
		int lasti = rd_int(f, o_lasti);
		ptrdiff_t index = lasti < 0 ? -1 : lasti_bytes ? lasti / 2 : lasti;
		const char *key = (const char *)code + 2 * index;
		uint32_t id, line;
		wcache_t *ce = cache ? &cache[wcache_slot(key)] : NULL;
		if (ce && ce->instr == key && ce->code == code) {
			id = ce->id;
			line = ce->line;
		} else if (walk_lookup(ts, code, index, key, ce, &id, &line) <
			   0) {
			break; /* the frames known so far */
		}
		if (n + (n > 0) >= max)
			break;
		if (n > 0) {
			code_ids[n] = bid;
			lines[n] = 0;
			n++;
		}
		code_ids[n] = id;
		lines[n] = line;
		n++;
	}
	return n;
}

static int walk_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	const void *ts = py.GILState_GetThisThreadState();
	if (!ts || rd_ptr(ts, L->ts_interp) != main_interp)
		return 0;
	const char *top = walk_top(ts);
	if (!top)
		return 0; /* a thread state running no Python code */
	wcache_t *cache = wcache_get();
	if (L->frame_objects)
		return walk_capture_fo(ts, top, cache, code_ids, lines, max);
	/* Offsets in locals: the stores below may alias the table (int). */
	const int o_prev = L->fr_previous, o_owner = L->fr_owner,
		  o_entry = L->fr_is_entry, o_code = L->fr_code,
		  o_instr = L->fr_instr, o_start = L->co_code,
		  o_first = L->co_firsttraceable;
	const uint32_t bid = st.boundary_id;
	int n = 0, bound = 0;
	for (const char *f = top; f; f = rd_ptr(f, o_prev)) {
		int owner = *(const signed char *)(f + o_owner);
		if (owner == OWNED_BY_CSTACK) {
			bound = 1;
			continue;
		}
		int entry = o_entry >= 0 && f[o_entry];
		PyObject *code = rd_ptr(f, o_code);
		const char *instr = rd_ptr(f, o_instr);
		uint32_t id, line;
		wcache_t *ce = cache ? &cache[wcache_slot(instr)] : NULL;
		if (ce && ce->instr == instr && ce->code == code) {
			id = ce->id;
			line = ce->line;
		} else {
			const char *start = (const char *)code + o_start;
			if (owner != OWNED_BY_GENERATOR &&
			    instr < start + 2 * (ptrdiff_t)rd_int(code, o_first)) {
				/* incomplete: not started yet; its native
				 * evaluation frame is there all the same */
				bound |= entry;
				continue;
			}
			/* Instruction index: 3.11/3.12 keep the previous
			 * instruction, 3.13 the current one; CPython's own
			 * line lookup takes the pointer as it is
			 * (PyFrame_GetLineNumber), and so do we. */
			if (walk_lookup(ts, code, (instr - start) / 2, instr, ce,
					&id, &line) < 0)
				break; /* the frames known so far */
		}
		if (n + bound >= max)
			break;
		if (bound) {
			code_ids[n] = bid;
			lines[n] = 0;
			n++;
		}
		bound = entry;
		code_ids[n] = id;
		lines[n] = line;
		n++;
	}
	return n;
}

/* Reads n bytes at src for the install-time check, where a wrong layout
 * row may give a wild pointer: process_vm_readv on ourselves fails with
 * EFAULT instead of faulting.  Where that call is not allowed (seccomp),
 * plain reads: the row was measured for this version, the check then only
 * guards against a build that differs. */
static int peek(const void *src, void *dst, size_t n)
{
	static int direct;
	if (!direct) {
		struct iovec l = { dst, n }, r = { (void *)src, n };
		ssize_t got = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		if (got == (ssize_t)n)
			return 0;
		if (got >= 0 || errno == EFAULT)
			return -1;
		direct = 1;
	}
	if (!src)
		return -1;
	memcpy(dst, src, n);
	return 0;
}

static int peek_ptr(const void *base, int off, const void **out)
{
	return peek((const char *)base + off, out, sizeof(*out));
}

/* The next frame from f on (f included) that the walk would report, with
 * its code object and instruction index (-1: not started), or *f = NULL;
 * -1 on a bad read. */
static int selftest_next(const char **f, PyObject **code, ptrdiff_t *index)
{
	for (int steps = 0; *f && steps < 100000; steps++) {
		signed char owner = 0;
		const void *c, *ip, *prev;
		int first, lasti;
		if ((L->fr_owner >= 0 && peek(*f + L->fr_owner, &owner, 1)) ||
		    peek_ptr(*f, L->fr_previous, &prev) ||
		    peek_ptr(*f, L->fr_code, &c))
			return -1;
		if (L->frame_objects) {
			if (peek(*f + L->fr_lasti, &lasti, sizeof(lasti)))
				return -1;
			*code = (PyObject *)c;
			*index = lasti < 0	   ? -1
				 : L->lasti_bytes ? lasti / 2
						  : lasti;
			return 0;
		}
		if (owner < 0 || owner > 3)
			return -1;
		if (owner != OWNED_BY_CSTACK) {
			if (peek_ptr(*f, L->fr_instr, &ip) ||
			    peek((const char *)c + L->co_firsttraceable,
				 &first, sizeof(first)))
				return -1;
			const char *c0 = (const char *)c + L->co_code;
			if (owner == OWNED_BY_GENERATOR ||
			    (const char *)ip >= c0 + 2 * (ptrdiff_t)first) {
				*code = (PyObject *)c;
				*index = ((const char *)ip - c0) / 2;
				return 0;
			}
		}
		*f = prev;
	}
	*f = NULL;
	return 0;
}

/* Whether the layout row fits this interpreter (GIL held): the walk from
 * this thread must find the same code objects and lines as the C API does
 * from PyEval_GetFrame(), and read the same names, first line and size
 * from each code object. */
static int walk_selftest(int need_frames)
{
	const void *ts = py.GILState_GetThisThreadState(), *interp, *cf;
	if (!ts || peek_ptr(ts, L->ts_interp, &interp) || interp != main_interp)
		return 0;
	const char *f;
	if (L->ts_current >= 0) {
		if (peek_ptr(ts, L->ts_current, (const void **)&f))
			return 0;
	} else if (peek_ptr(ts, L->ts_cframe, &cf) ||
		   (cf && peek_ptr(cf, L->cf_current, (const void **)&f))) {
		return 0;
	} else if (!cf) {
		f = NULL;
	}
	void *fo = py.Eval_GetFrame();
	if (fo)
		py.IncRef(fo);
	int ok = 1, checked = 0;
	for (; ok && checked < 64; checked++) {
		PyObject *wcode = NULL;
		ptrdiff_t index = -1;
		if (selftest_next(&f, &wcode, &index) < 0) {
			ok = 0;
			break;
		}
		if (!fo) {
			ok = !f; /* the API found no further frame: nor may we */
			break;
		}
		PyObject *code = py.Frame_GetCode(fo);
		ok = code && f && wcode == code && rd_ptr(code, 8) == py.Code_Type &&
		     (!L->frame_objects || (const void *)f == fo);
		PyObject *fn = NULL, *qn = NULL, *fl = NULL, *cc = NULL;
		if (ok) {
			fn = py.GetAttrString(code, "co_filename");
			qn = py.GetAttrString(code, py.minor >= 11 ? "co_qualname"
								   : "co_name");
			fl = py.GetAttrString(code, "co_firstlineno");
			cc = py.GetAttrString(code, "co_code");
			ok = fn && qn && fl && cc &&
			     rd_ptr(code, L->co_filename) == fn &&
			     rd_ptr(code, L->co_qualname) == qn &&
			     rd_int(code, L->co_firstlineno) == py.AsLong(fl);
		}
		if (ok) {
			/* co_code (bytes, ob_size at 16 like every
			 * PyVarObject here) holds 2 bytes per code unit */
			ssize_t units = code_units(code);
			ssize_t nbytes = *(const ssize_t *)((const char *)cc + 16);
			ssize_t ql = 0;
			const char *qs = py.AsUTF8AndSize(qn, &ql);
			char buf[1024];
			ssize_t bl = str_utf8((const char *)qn, buf, sizeof(buf));
			int line = py.Code_Addr2Line(code, (int)index * 2);
			ok = units > 0 && nbytes == 2 * units && index >= -1 &&
			     index < units &&
			     (!L->frame_objects || rd_ptr(code, L->co_code) == cc) &&
			     qs && bl == ql && memcmp(buf, qs, (size_t)ql) == 0 &&
			     line == py.Frame_GetLineNumber(fo);
		}
		PyObject *objs[] = { fn, qn, fl, cc, code };
		for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
			if (objs[i])
				py.DecRef(objs[i]);
		if (f && peek_ptr(f, L->fr_previous, (const void **)&f))
			ok = 0;
		void *back = py.Frame_GetBack(fo);
		py.DecRef(fo);
		fo = back;
	}
	if (fo)
		py.DecRef(fo);
	/* Called from Python: there was a frame to compare. */
	return ok && (!need_frames || checked > 0);
}

/* Chooses the frame walk when this interpreter has a verified layout row.
 * GIL held; from_python: install() was given the caller's frame.
 * HEAPTRAIL_PYTHON_FRAMES=profile forces the profile function;
 * HEAPTRAIL_PYTHON_ROW=<minor> tries that version's row whatever the
 * version (for the tests of walk_selftest). */
static int walk_enable(int from_python)
{
	/* Once: a row that failed is not tried again while the profile
	 * function may already be capturing. */
	static int tried;
	if (tried)
		return 0;
	tried = 1;
	const char *v = py.GetVersion();
	config_python_t want;
	config_python(&want);
	if (want.profile)
		return 0;
	/* Debug builds (Py_REF_DEBUG, maybe Py_TRACE_REFS: another object
	 * header) and free-threaded builds lay objects out differently. */
	if (strstr(v, "free-threading") ||
	    dlsym(RTLD_DEFAULT, "_Py_NegativeRefcount") ||
	    dlsym(RTLD_DEFAULT, "_Py_PrintReferences"))
		return 0;
	if (!py.GILState_GetThisThreadState || !py.ThreadState_Unchecked ||
	    !py.Interp_Main || !py.Eval_GetFrame || !py.Code_Addr2Line ||
	    !py.Code_Type)
		return 0;
	int row = want.row ? want.row : py.minor;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == row)
			L = &layouts[i];
	if (!L)
		return 0;
	main_interp = py.Interp_Main();
	if (!main_interp || !walk_selftest(from_python)) {
		L = NULL;
		return 0;
	}
	walk_on = 1; /* published by the active store that follows */
	return 1;
}

/* ---- install ------------------------------------------------------------ */

#define SYM(field, name)                                                  \
	do {                                                              \
		*(void **)&py.field = dlsym(RTLD_DEFAULT, name);          \
	} while (0)

/* "major.minor" (as atoi read them from the version string). */
static void line_version(util_line_t *l, int major, int minor)
{
	util_line_u64(l, (uint64_t)(major < 0 ? 0 : major));
	util_line_str(l, ".");
	util_line_u64(l, (uint64_t)(minor < 0 ? 0 : minor));
}

/* Fills py; 0, or -ENOSYS after saying why (once). */
static int resolve(void)
{
	static int failed;
	if (st.resolved)
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
	if (!py.ThreadState_Unchecked)
		SYM(ThreadState_Unchecked, "_PyThreadState_UncheckedGet");
	SYM(Interp_Main, "PyInterpreterState_Main");
	SYM(Eval_GetFrame, "PyEval_GetFrame");
	SYM(Code_Addr2Line, "PyCode_Addr2Line");
	SYM(Code_Type, "PyCode_Type");

	char msg[200];
	util_line_t l = { msg, sizeof(msg), 0 };
	msg[0] = 0;
	const char *v = py.GetVersion ? py.GetVersion() : NULL;
	int major = 0, minor = 0;
	if (v) {
		major = atoi(v);
		const char *dot = strchr(v, '.');
		minor = dot ? atoi(dot + 1) : 0;
	}
	py.minor = minor;
	if (!v || major != 3 || minor < 9) {
		util_line_str(&l, "Python frames not captured: CPython ");
		line_version(&l, major, minor);
		util_line_str(&l, " is older than 3.9; showing native frames only");
		goto fail;
	}
	const char *missing = !py.GILState_Check	? "PyGILState_Check"
			      : !py.SetProfile		? "PyEval_SetProfile"
			      : !py.Frame_GetCode	? "PyFrame_GetCode"
			      : !py.Frame_GetBack	? "PyFrame_GetBack"
			      : !py.Frame_GetLineNumber ? "PyFrame_GetLineNumber"
			      : !py.IncRef		? "Py_IncRef"
			      : !py.DecRef		? "Py_DecRef"
			      : !py.GetAttrString	? "PyObject_GetAttrString"
			      : !py.AsUTF8AndSize	? "PyUnicode_AsUTF8AndSize"
			      : !py.AsLong		? "PyLong_AsLong"
			      : !py.Err_Fetch		? "PyErr_Fetch"
			      : !py.Err_Restore		? "PyErr_Restore"
							: NULL;
	if (missing) {
		util_line_str(&l, "Python frames not captured: ");
		util_line_str(&l, missing);
		util_line_str(&l, " not found in CPython ");
		line_version(&l, major, minor);
		util_line_str(&l, "; showing native frames only");
		goto fail;
	}
	st.every_frame_entry = minor < 11;
	st.resolved = 1;
	return 0;
fail:
	failed = 1;
	say(msg);
	return -ENOSYS;
}

/* Whether the calling thread (GIL held) runs the main interpreter: a
 * sub-interpreter runs `site`, hence heaptrail.py, too; its install, stop
 * (its atexit runs when it is destroyed) and thread hooks are ignored.
 * Python frames come from the main interpreter only. */
static int in_main_interp(void)
{
	/* Unchecked: PyThreadState_Get would abort without a thread state. */
	if (!py.ThreadState_Unchecked || !py.ThreadState_GetInterpreter ||
	    !py.Interp_Main)
		return 1;
	void *me = py.ThreadState_Unchecked();
	return !me || py.ThreadState_GetInterpreter(me) == py.Interp_Main();
}

/* Called by heaptrail.py (ctypes.PyDLL: GIL held) at startup.  frame: the
 * caller's frame (its callers are seeded on this thread's stack) or NULL.
 * Returns 0, or negative errno when Python frames cannot be captured (said
 * once; -EXDEV silently: a sub-interpreter). */
HT_EXPORT int heaptrail_py_install(PyObject *frame)
{
	atomic_store(&st.attempted, 1);
	int rc = resolve();
	if (rc < 0)
		return rc;
	if (!in_main_interp())
		return -EXDEV;
	pthread_mutex_lock(&st.lock);
	if (!st.boundary_id)
		st.boundary_id = info_add("", 0, PYFRAMES_BOUNDARY_FUNC,
					  strlen(PYFRAMES_BOUNDARY_FUNC), 0);
	pthread_mutex_unlock(&st.lock);
	if (!st.boundary_id)
		goto fail;
	if (walk_on || walk_enable(frame != NULL)) {
		/* No profile function: captures read the frame chain.  (An
		 * install after Py_Finalize and Py_Initialize: a new main
		 * interpreter, maybe.) */
		main_interp = py.Interp_Main();
		atomic_store(&st.py_seen, 1);
		atomic_store(&st.installed, 1);
		atomic_store(&st.active, 1);
		return 0;
	}
	pystack_t *s = stack_get();
	if (!s)
		goto fail;
	seed(s, frame);
	atomic_store(&st.py_seen, 1);
	atomic_store(&st.installed, 1);
	atomic_store(&st.active, 1);
	if (py.SetProfileAllThreads) {
		py.SetProfileAllThreads(profile_fn, NULL);
		return 0;
	}
	py.SetProfile(profile_fn, NULL);
	/* 3.9-3.11: threads already running get it too. */
	void *me = py.ThreadState_Get ? py.ThreadState_Get() : NULL;
	if (me && py.SetProfileTstate && py.ThreadState_GetInterpreter &&
	    py.Interp_ThreadHead && py.ThreadState_Next) {
		void *ip = py.ThreadState_GetInterpreter(me);
		for (void *ts = py.Interp_ThreadHead(ip); ts;
		     ts = py.ThreadState_Next(ts))
			if (ts != me)
				py.SetProfileTstate(ts, profile_fn, NULL);
	}
	return 0;
fail:
	say("Python frames not captured: out of memory; showing native frames "
	    "only");
	return -ENOMEM;
}

/* Called by heaptrail.py's threading.setprofile hook on the first event of
 * a new thread (GIL held): seeds the stack from frame, then replaces the
 * Python hook with profile_fn for this thread. */
HT_EXPORT int heaptrail_py_install_thread(PyObject *frame)
{
	if (!st.resolved)
		return -ENOSYS;
	if (!in_main_interp())
		return -EXDEV;
	if (walk_on) {
		py.SetProfile(NULL, NULL); /* the walk needs no hook */
		return 0;
	}
	pystack_t *s = stack_get();
	if (!s)
		return -ENOMEM;
	seed(s, frame);
	py.SetProfile(profile_fn, NULL);
	return 0;
}

/* How Python frames are captured: 0 not at all, 1 by the profile function,
 * 2 by walking the interpreter's frame chain.  For heaptrail.py and tests. */
HT_EXPORT int heaptrail_py_mode(void)
{
	if (!atomic_load(&st.installed))
		return 0;
	return walk_on ? 2 : 1;
}

/* Called by heaptrail.py when the user turned Python frames off
 * (HEAPTRAIL_PYTHON_FRAMES=0): no warning at exit then. */
HT_EXPORT void heaptrail_py_optout(void)
{
	atomic_store(&st.attempted, 1);
}

/* Called at interpreter exit (Python atexit, GIL held) and in fork children
 * that are not recorded: captures stop reading Python state. */
HT_EXPORT void heaptrail_py_stop(void)
{
	if (st.resolved && !in_main_interp())
		return;
	atomic_store(&st.active, 0);
}

/* ---- recorder side --------------------------------------------------- */

/* A fork child has only the forking thread.  If it held the GIL, no
 * other thread was interning, but the writer thread or a thread giving its
 * stack back may have held st.lock for a few instructions: the child must
 * not find it locked forever. */
static void fork_child(void)
{
	pthread_mutex_init(&st.lock, NULL);
}

void pyframes_init(void)
{
	if (!st.key_ok && pthread_key_create(&st.key, stack_release) == 0) {
		st.key_ok = 1;
		pthread_atfork(NULL, NULL, fork_child);
	}
	*(void **)&py.IsInitialized = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
}

/* Whether the entry at index i (not the bottom one) was entered by a new
 * native evaluation-loop invocation rather than inline by its caller.
 * Inline entries share the caller's sp exactly; a new invocation is deeper
 * by at least the evaluation loop's own frame. */
static inline int is_entry(const pystack_t *s, uint32_t i)
{
	if (st.every_frame_entry)
		return 1;
	uintptr_t sp = s->ent[i].sp, below = s->ent[i - 1].sp;
	return sp != below;
}

/* Python is there but has not been seen initialized, and no profile
 * function was installed: captures watch for its start (py_seen, for the
 * end-of-run warning). */
static inline int py_start_awaited(void)
{
	return !st.installed && py.IsInitialized && !st.py_seen;
}

int pyframes_idle(void)
{
	return !atomic_load_explicit(&st.active, memory_order_relaxed) && !py_start_awaited();
}

int pyframes_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	pystack_t *s = tls_stack;
	/* acquire: L and the boundary id were set before active */
	if (!atomic_load_explicit(&st.active, memory_order_acquire)) {
		if (py_start_awaited() && py.IsInitialized())
			atomic_store_explicit(&st.py_seen, 1,
					      memory_order_relaxed);
		return 0;
	}
	if (max <= 0)
		return 0;
	if (walk_on)
		return walk_capture(code_ids, lines, max);
	if (!s)
		return 0;
	uint32_t d = s->depth;
	atomic_signal_fence(memory_order_acquire);
	if (!d)
		return 0;
	int gil = py.GILState_Check() == 1;
	int n = 0;
	for (uint32_t i = d; i-- > 0 && n < max;) {
		pyent_t *e = &s->ent[i];
		uint32_t line = e->line;
		if (gil && (i == d - 1 || !(line & LINE_FRESH))) {
			int l = py.Frame_GetLineNumber(e->frame);
			if (l > 0) {
				line = (uint32_t)l | LINE_FRESH;
				e->line = line;
			}
		}
		line &= ~LINE_FRESH;
		if (!line) {
			const codeinfo_t *ci = info_at(e->code);
			line = ci ? ci->firstline : 0;
		}
		code_ids[n] = e->code;
		lines[n] = line;
		n++;
		if (i > 0 && n < max && is_entry(s, i)) {
			code_ids[n] = st.boundary_id;
			lines[n] = 0;
			n++;
		}
	}
	if (n > 1 && code_ids[n - 1] == st.boundary_id && lines[n - 1] == 0)
		n--; /* truncated right after a boundary */
	return n;
}

void pyframes_emit_new(pyframes_code_fn fn, void *ctx)
{
	uint32_t n = atomic_load_explicit(&st.ncodes, memory_order_acquire);
	for (uint32_t id = st.emitted + 1; id <= n; id++) {
		const codeinfo_t *ci = info_at(id);
		if (ci)
			fn(ctx, id, ci->file, ci->func, ci->firstline);
	}
	st.emitted = n;
}

void pyframes_rewind_emitted(void)
{
	st.emitted = 0;
}

size_t pyframes_take_warning(char *buf, size_t size, int at_exit)
{
	if (at_exit && !st.exit_warned && st.py_seen && !st.attempted) {
		st.exit_warned = 1;
		/* The writer is asking: hand it over directly. */
		say_pending("Python frames not captured: the heaptrail startup module "
		    "did not run (python -I, -E or -S, PYTHONPATH replaced, "
		    "or no ctypes?); showing native frames only");
	}
	uint64_t cut = atomic_load(&walk_cut);
	if (at_exit && cut && !st.cut_warned && !st.pending[0]) {
		st.cut_warned = 1;
		char msg[256];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_u64(&l, cut);
		util_line_str(&l, " allocation(s) without the GIL in Python code never seen "
				  "with the GIL: their Python frames stop there (the frames "
				  "inside it are kept)");
		say_pending(msg);
	}
	size_t n = 0;
	pthread_mutex_lock(&st.lock);
	if (st.pending[0] && size) {
		n = strlen(st.pending);
		if (n > size - 1)
			n = size - 1;
		memcpy(buf, st.pending, n);
		buf[n] = 0;
		st.pending[0] = 0;
	}
	pthread_mutex_unlock(&st.lock);
	return n;
}
