/* pymerge: merges a stack's Python frames (from PYCODE/STACK records) into
 * its symbolized native frames, putting Python frames where the CPython
 * evaluation loop ran them.  Called by frames.c for every displayed stack;
 * pure functions, thread-safe. */
#ifndef HEAPTRAIL_PYMERGE_H
#define HEAPTRAIL_PYMERGE_H

#include <stdint.h>

#include "render/symbols.h"

typedef struct pyframe {
	const char *file; /* NULL = unknown */
	const char *function; /* qualified name; NULL = unknown */
	uint32_t line; /* 0 = unknown */
} pyframe_t;

enum pymerge_mode {
	PYMERGE_ALL = 0, /* Python frames in place of the interpreter's */
	PYMERGE_PYTHON = 1, /* Python frames only; native when there are none */
	PYMERGE_NATIVE = 2, /* native frames only */
};

/* Flag or'ed into the mode: the recorder cut the native stack (its outer
 * frames are missing).  A SYM_MARK_CUT_RECORDER frame then stands where
 * the cut is, and the Python frames that no evaluation loop frame in the
 * kept part claims stay outside it (they ran in the part that was cut), in
 * their order, instead of moving innermost. */
#define PYMERGE_NATIVE_CUT 0x100

/* Function name of the recorder's boundary pseudo frame (preload/
 * pyframes.h PYFRAMES_BOUNDARY_FUNC): sits between the Python frames run
 * by one native _PyEval_EvalFrameDefault invocation and those of the next
 * outer one.  Never shown. */
#define PYMERGE_BOUNDARY_FUNC "<heaptrail:native-boundary>"

/* Writes at most `max` merged frames to out, innermost first, and returns
 * how many (>= 0).  native: nn symbolized frames, innermost first (inlined
 * frames expanded); py: np Python frames, innermost first, possibly with
 * boundary pseudo frames.
 *
 * PYMERGE_ALL: walking the native frames innermost first, each evaluation
 * loop frame (_PyEval_EvalFrameDefault) is replaced by the next group of
 * Python frames (groups are split at boundary frames; without boundaries
 * all Python frames form one group), and the interpreter's call
 * trampolines around them (_PyEval_Vector, PyEval_EvalCode, vectorcall
 * and method wrappers, pymain_ and PyRun_ drivers, libc's process and
 * thread entry) are dropped.  Native
 * frames below a C-extension call (numpy, list_resize, ...) stay.  Python
 * groups left over when the native stack ran out of evaluation frames
 * (truncated, unsymbolized) follow at the place of the outermost one, or
 * come first when no evaluation frame was recognised (with
 * PYMERGE_NATIVE_CUT: both follow the cut marker, after every native frame
 * kept).
 * Output frames for Python have module NULL and address 0.
 *
 * For a tracemalloc-like "lineno" grouping use PYMERGE_PYTHON: out[0] is
 * then the innermost Python line (or native frame when no Python ran). */
int pymerge_frames(const sym_frame_t *native, int nn, const pyframe_t *py,
		   int np, int mode, sym_frame_t *out, int max);

/* 1 when `function` (a symbolized native name; suffixes like ".cold" are
 * ignored) is CPython's evaluation loop, 2 when it is one of the call
 * trampolines dropped in PYMERGE_ALL, else 0. */
int pymerge_classify(const char *function);

#endif /* HEAPTRAIL_PYMERGE_H */
