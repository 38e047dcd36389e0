/* pyframes: Python frames for the recorder: read from the calling thread's
 * own interpreter frame chain (CPython 3.9-3.13 release builds) or from
 * per-thread shadow stacks kept by a C profile function (other builds), the
 * code-object intern table and the PYCODE feed.  Implemented in
 * preload/pyframes/ (one file per part, see pyframes/pyframes.c).
 * Callers: stackid.c/.h (pyframes_capture, pyframes_idle: any thread,
 * malloc-free; a lock only at a code object's first sight), writer.c
 * (emit/rewind/warnings, writer thread only), lifecycle.c (init and the
 * warning channel), heaptrail.py (the heaptrail_py_* entry points),
 * attach.c (pyframes_attach_schedule, pyframes_detached).
 * Calls nothing above it: warnings go to pyframes_set_warn's callback. */
#ifndef HEAPTRAIL_PYFRAMES_H
#define HEAPTRAIL_PYFRAMES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Most Python frames one capture returns (the recorder's array size). */
#define PYFRAMES_MAX 256

/* Called once from the library constructor.  Cheap; resolves nothing that
 * is not there yet and never fails (Python support is simply off until
 * the `heaptrail` Python module installs the profile function). */
void pyframes_init(void);

/* Where warnings from Python threads go (the writer's writer_warn: stderr
 * line + WARNING record).  Until set, they are printed with util_say and
 * kept for pyframes_take_warning.  Set by the lifecycle before recording. */
void pyframes_set_warn(void (*fn)(const char *text));

/* Python frames of the calling thread, innermost first: code_ids[i] is a
 * PYCODE id (>= 1), lines[i] its current line.  Returns how many (0 when
 * the thread runs no Python, or Python support is off).  Keeps the
 * innermost `max` frames when there are more.  Without the GIL: the frame
 * walk reports current lines but stops at a code object it has never seen
 * (it cannot take a reference to it); the shadow stack reports the line
 * each frame had at its last capture.
 *
 * A pseudo frame may appear between two real ones: a code id whose PYCODE
 * function name is PYFRAMES_BOUNDARY_FUNC (file "", line 0).  It marks
 * where one native evaluation-loop invocation ends and the next (outer)
 * one begins, so the analyzer can interleave Python and native frames. */
int pyframes_capture(uint32_t *code_ids, uint32_t *lines, int max);

/* pyframes_capture(code_id, line, 1), quicker: the innermost frame (what
 * a free's site names).  Returns 1 or 0 as that call would; *first: 1
 * when the frame is the chain's first (pyframes_top's), 0 when incomplete
 * frames were skipped or the chain was not read directly. */
int pyframes_innermost(uint32_t *code_id, uint32_t *line, int *first);

/* The innermost interpreter frame as it is in memory: a free site's key.
 * The same key (code object, instruction pointer and owner) always gives
 * the same pyframes_innermost result when that call read this frame
 * itself (*first 1): the code object is interned (immortal) and the line
 * is its instruction's. */
typedef struct pyframes_top {
	const void *code; /* the frame's code object */
	const void *instr; /* its instruction pointer */
	int owner; /* thread, generator, frame object or C stack */
} pyframes_top_t;

/* What pyframes_top reads: set once by the frame walk (pyframes/walk.c)
 * when its layout passed the check, for 3.11+ frames (3.9 and 3.10 leave
 * it unset).  Offsets in bytes into PyThreadState and frames. */
typedef struct pyframes_keyer {
	const _Atomic int *active; /* the capture switch; NULL: never keyed
				      (published last, with release) */
	const void *(*tstate)(void); /* PyGILState_GetThisThreadState */
	const void *interp; /* the main interpreter */
	int ts_interp, ts_cframe, cf_current, ts_current; /* ts_current < 0:
							     through cframe */
	int fr_code, fr_instr, fr_owner;
} pyframes_keyer_t;
extern pyframes_keyer_t pyframes_keyer __attribute__((visibility("hidden")));

static inline const char *pyframes_rd(const char *base, int off)
{
	return *(const char *const *)(const void *)(base + off);
}

/* Reads the calling thread's innermost frame (no lookups): 1 with *k
 * set; 0 when there is none to key on (Python frames off, no thread state,
 * a sub-interpreter, or 3.9/3.10's frame objects: pyframes_innermost
 * decides).  Any thread, no allocation.  Inline: every Python free asks. */
static inline int pyframes_top(pyframes_top_t *k)
{
	const pyframes_keyer_t *y = &pyframes_keyer;
	const _Atomic int *on = __atomic_load_n(&y->active, __ATOMIC_ACQUIRE);
	if (!on || !atomic_load_explicit(on, memory_order_acquire))
		return 0;
	const char *ts = y->tstate(), *f;
	if (!ts || pyframes_rd(ts, y->ts_interp) != y->interp)
		return 0;
	if (y->ts_current >= 0) {
		f = pyframes_rd(ts, y->ts_current);
	} else {
		const char *cf = pyframes_rd(ts, y->ts_cframe);
		f = cf ? pyframes_rd(cf, y->cf_current) : NULL;
	}
	if (!f)
		return 0;
	k->code = pyframes_rd(f, y->fr_code);
	k->instr = pyframes_rd(f, y->fr_instr);
	k->owner = *(const signed char *)(f + y->fr_owner);
	return 1;
}

/* 1 when pyframes_capture would return 0 and has nothing to notice (no
 * Python frames are captured and Python's start is not awaited): the
 * recorder may skip the call. */
int pyframes_idle(void);
/* Receives one code object to write as a PYCODE record.  Strings are
 * NUL-terminated and stay valid for the life of the process. */
typedef void (*pyframes_code_fn)(void *ctx, uint32_t id, const char *file,
				  const char *func, uint32_t firstline);

/* Calls fn for every code id interned since the previous call, in id order.
 * Call it before writing any STACK record captured earlier: every id a
 * capture returned is delivered by the next call.  Writer thread only. */
void pyframes_emit_new(pyframes_code_fn fn, void *ctx);

/* Makes the next pyframes_emit_new deliver every id again from 1 (a new
 * trace file was started, e.g. in a followed fork child). */
void pyframes_rewind_emitted(void);
/* Recording began at an attach: the startup module never ran, and the
 * warning says so in those words. */
void pyframes_attached(void);
/* After an attach (attach.c): when the process runs an initialized CPython,
 * schedules the frame walk's install with Py_AddPendingCall (it runs in the
 * main thread with the GIL at its next bytecode boundary and says on the
 * message channel whether Python frames are on).  1 when scheduled, 0 when
 * the process runs no Python, -EAGAIN when CPython refused the call. */
int pyframes_attach_schedule(void);
/* At the detach: captures stop, a pending install does nothing. */
void pyframes_detached(void);
/* The name of CPython's current allocator ("pymalloc", "malloc", ...;
 * PYTHONMALLOC when the interpreter does not say), or NULL. */
const char *pyframes_allocator_name(void);

/* Copies one pending one-line warning (no newline) into buf and returns its
 * length, or returns 0 when there is none.  Each warning is returned once.
 * With at_exit != 0 it also decides the end-of-run warnings (Python ran but
 * its frames were never captured).  The text was already printed on stderr
 * (unless HEAPTRAIL_QUIET=1); the recorder writes it as a WARNING record.
 * Writer thread only. */
size_t pyframes_take_warning(char *buf, size_t size, int at_exit);

/* The function name of the boundary pseudo frame (see pyframes_capture). */
#define PYFRAMES_BOUNDARY_FUNC "<heaptrail:native-boundary>"

#endif /* HEAPTRAIL_PYFRAMES_H */
