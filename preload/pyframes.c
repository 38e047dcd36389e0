/* Python frame capture: see pyframes.h.
 *
 * How it works.  The `heaptrail` Python module (loaded at startup by the
 * sitecustomize.py that `heaptrail record` puts on PYTHONPATH) calls
 * heaptrail_py_install() through ctypes.PyDLL, i.e. with the GIL held.  That
 * resolves the few C-API functions we use with dlsym (no Python headers at
 * build time, one binary for CPython 3.9 to 3.13) and installs profile_fn
 * as the C profile function of every thread.  Threads started later get it
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

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

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
} slot_t;

typedef struct table {
	uint32_t mask; /* slots - 1 */
	uint32_t used;
	slot_t slots[];
} table_t;

static struct state {
	int quiet; /* HEAPTRAIL_QUIET=1 */
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
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The recorder's warning channel (stderr line + WARNING record), when it
 * is linked in; unit tests link without it. */
extern void writer_warn(const char *text) __attribute__((weak));

/* Prints "heaptrail: text" (unless quiet) and keeps text for
 * pyframes_take_warning. */
static void say_pending(const char *text)
{
	if (!st.quiet) {
		char line[320];
		size_t n = 0, tl = strlen(text);
		const char *pre = "heaptrail: ";
		memcpy(line, pre, strlen(pre));
		n = strlen(pre);
		if (tl > sizeof(line) - n - 1)
			tl = sizeof(line) - n - 1;
		memcpy(line + n, text, tl);
		n += tl;
		line[n++] = '\n';
		ssize_t w = write(2, line, n);
		(void)w;
	}
	pthread_mutex_lock(&st.lock);
	if (!st.pending[0]) {
		strncpy(st.pending, text, sizeof(st.pending) - 1);
		st.pending[sizeof(st.pending) - 1] = 0;
	}
	pthread_mutex_unlock(&st.lock);
}

/* A warning from a Python thread: through the recorder's channel when it
 * is linked in (stderr line + WARNING record), else kept for the writer. */
static void say(const char *text)
{
	if (writer_warn)
		writer_warn(text);
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

static uint32_t table_find(const table_t *t, const PyObject *code)
{
	if (!t)
		return 0;
	for (uint32_t i = hash_ptr(code) & t->mask;; i = (i + 1) & t->mask) {
		PyObject *k = atomic_load_explicit(
			(_Atomic(PyObject *) *)&t->slots[i].key,
			memory_order_acquire);
		if (k == code)
			return t->slots[i].id;
		if (!k)
			return 0;
	}
}

static void table_put(table_t *t, PyObject *code, uint32_t id)
{
	uint32_t i = hash_ptr(code) & t->mask;
	while (atomic_load_explicit(&t->slots[i].key, memory_order_relaxed))
		i = (i + 1) & t->mask;
	t->slots[i].id = id;
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

/* Interns code (GIL held): 0 when it cannot be interned. */
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
	if (first < 0)
		first = 0;

	pthread_mutex_lock(&st.lock);
	t = atomic_load_explicit(&st.table, memory_order_acquire);
	id = table_find(t, code);
	if (!id && (!t || (t->used + 1) * 2 > t->mask + 1)) {
		uint32_t n = t ? (t->mask + 1) * 2 : 4096;
		table_t *nt = map(sizeof(table_t) + n * sizeof(slot_t));
		if (nt) {
			nt->mask = n - 1;
			for (uint32_t i = 0; t && i <= t->mask; i++)
				if (t->slots[i].key)
					table_put(nt, t->slots[i].key,
						  t->slots[i].id);
			/* The old table stays mapped: a reader may be in it. */
			atomic_store_explicit(&st.table, nt,
					      memory_order_release);
			t = nt;
		} else if (!t || t->used + 1 > t->mask) {
			t = NULL;
		}
	}
	if (!id && t) {
		id = info_add(fs, (size_t)fl, ns, (size_t)nl, (uint32_t)first);
		if (id) {
			py.IncRef(code); /* its address is never reused */
			table_put(t, code, id);
		}
	}
	pthread_mutex_unlock(&st.lock);

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

/* ---- install ------------------------------------------------------------ */

#define SYM(field, name)                                                  \
	do {                                                              \
		*(void **)&py.field = dlsym(RTLD_DEFAULT, name);          \
	} while (0)

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

	char msg[200];
	const char *v = py.GetVersion ? py.GetVersion() : NULL;
	int major = 0, minor = 0;
	if (v) {
		major = atoi(v);
		const char *dot = strchr(v, '.');
		minor = dot ? atoi(dot + 1) : 0;
	}
	py.minor = minor;
	if (!v || major != 3 || minor < 9) {
		snprintf(msg, sizeof(msg),
			 "Python frames not captured: CPython %d.%d is older "
			 "than 3.9; showing native frames only",
			 major, minor);
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
		snprintf(msg, sizeof(msg),
			 "Python frames not captured: %s not found in CPython "
			 "%d.%d; showing native frames only",
			 missing, major, minor);
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

/* Called by heaptrail.py (ctypes.PyDLL: GIL held) at startup.  frame: the
 * caller's frame (its callers are seeded on this thread's stack) or NULL.
 * Returns 0, or negative errno when Python frames cannot be captured (said
 * once). */
EXPORT int heaptrail_py_install(PyObject *frame)
{
	atomic_store(&st.attempted, 1);
	int rc = resolve();
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&st.lock);
	if (!st.boundary_id)
		st.boundary_id = info_add("", 0, PYFRAMES_BOUNDARY_FUNC,
					  strlen(PYFRAMES_BOUNDARY_FUNC), 0);
	pthread_mutex_unlock(&st.lock);
	pystack_t *s = st.boundary_id ? stack_get() : NULL;
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
EXPORT int heaptrail_py_install_thread(PyObject *frame)
{
	if (!st.resolved)
		return -ENOSYS;
	pystack_t *s = stack_get();
	if (!s)
		return -ENOMEM;
	seed(s, frame);
	py.SetProfile(profile_fn, NULL);
	return 0;
}

/* Called by heaptrail.py when the user turned Python frames off
 * (HEAPTRAIL_PYTHON_FRAMES=0): no warning at exit then. */
EXPORT void heaptrail_py_optout(void)
{
	atomic_store(&st.attempted, 1);
}

/* Called at interpreter exit (Python atexit, GIL held) and in fork children
 * that are not recorded: captures stop reading Python state. */
EXPORT void heaptrail_py_stop(void)
{
	atomic_store(&st.active, 0);
}

/* ---- recorder side --------------------------------------------------- */

void pyframes_init(void)
{
	const char *q = getenv("HEAPTRAIL_QUIET");
	st.quiet = q && q[0] == '1';
	if (!st.key_ok && pthread_key_create(&st.key, stack_release) == 0)
		st.key_ok = 1;
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

int pyframes_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	pystack_t *s = tls_stack;
	if (!atomic_load_explicit(&st.active, memory_order_relaxed)) {
		if (!st.installed && py.IsInitialized && !st.py_seen &&
		    py.IsInitialized())
			atomic_store_explicit(&st.py_seen, 1,
					      memory_order_relaxed);
		return 0;
	}
	if (!s || max <= 0)
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
