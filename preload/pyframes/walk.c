/* pyframes/walk.c: the frame walk (CPython 3.9-3.13 release builds with
 * the GIL): each capture reads the calling thread's own chain of
 * interpreter frames through the layout row (layout.c), interning code
 * objects at first sight and caching lines per instruction.  Any thread,
 * no allocation, no Python call. */
#include "pyframes/internal.h"

#include "util.h"

#include <string.h>

const pylayout_t *layout; /* the row in use (or being checked) */
int walk_on; /* layout passed its check: captures walk (set once) */
void *main_interp; /* PyInterpreterState_Main() */
_Atomic uint64_t walk_cut; /* captures cut at a code object first
				     seen without the GIL */

/* UTF-8 of a str object without calling Python (nothing may allocate
 * here): compact strings only (all strings a code object holds).  Writes
 * at most cap bytes to out; returns the length, or -1 when unreadable. */
ssize_t pyf_str_utf8(const char *so, char *out, size_t cap)
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
		memcpy(out, so + layout->str_ascii_data, n);
		return (ssize_t)n;
	}
	const char *u8 = rd_ptr(so, layout->str_utf8);
	if (u8) {
		ssize_t ul = *(const ssize_t *)(so + layout->str_utf8_length);
		size_t n = ul <= 0 ? 0 : (size_t)ul < cap ? (size_t)ul : cap;
		memcpy(out, u8, n);
		return (ssize_t)n;
	}
	const unsigned char *d =
		(const unsigned char *)so + layout->str_compact_data;
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
ssize_t pyf_code_units(const void *code)
{
	if (layout->co_size >= 0)
		return *(const ssize_t *)((const char *)code + layout->co_size);
	const char *bytes = rd_ptr(code, layout->co_code); /* ob_size at 16 */
	return bytes ? *(const ssize_t *)(bytes + 16) / 2 : 0;
}

/* Interns a code object met by the walk, inside an allocation hook: no
 * Python call, only reads of immutable fields.  Needs this thread to hold
 * the GIL (Py_IncRef) and the code object not to be dying (it can be the
 * current frame's while _PyFrame_Clear releases it); returns the slot or
 * NULL. */
static const slot_t *walk_intern(PyObject *code, const void *tstate)
{
	if (!pyapi.ThreadState_Unchecked || pyapi.ThreadState_Unchecked() != tstate)
		return NULL; /* not attached: no GIL */
	if (*(const ssize_t *)code <= 0 ||
	    rd_ptr(code, 8) != pyapi.Code_Type) /* ob_refcnt, ob_type */
		return NULL;
	char fs[4096], ns[1024];
	ssize_t fl = pyf_str_utf8(rd_ptr(code, layout->co_filename), fs, sizeof(fs));
	ssize_t nl = pyf_str_utf8(rd_ptr(code, layout->co_qualname), ns, sizeof(ns));
	if (fl < 0)
		memcpy(fs, "<unknown>", 9), fl = 9;
	if (nl < 0)
		memcpy(ns, "<unknown>", 9), nl = 9;
	ssize_t units = pyf_code_units(code);
	if (units <= 0 || units > (1 << 28))
		return NULL;
	if (!pyf_intern_named(code, fs, (size_t)fl, ns, (size_t)nl,
			  rd_int(code, layout->co_firstlineno), (uint32_t)units))
		return NULL;
	return pyf_table_slot(atomic_load_explicit(&pyf.table, memory_order_acquire),
			  code);
}

/* The innermost interpreter frame of tstate (a _PyInterpreterFrame *). */
static inline const char *walk_top(const void *tstate)
{
	if (layout->ts_current >= 0)
		return rd_ptr(tstate, layout->ts_current);
	const void *cf = rd_ptr(tstate, layout->ts_cframe);
	return cf ? rd_ptr(cf, layout->cf_current) : NULL;
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
		s = pyf_stack_get(); /* mmap, no malloc; entries stay valid */
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
	table_t *t = atomic_load_explicit(&pyf.table, memory_order_acquire);
	const slot_t *sl = pyf_table_slot(t, code);
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
			int r = pyapi.Code_Addr2Line(code, (int)index * 2);
			l = r > 0 ? (uint32_t)r : UINT32_MAX;
			atomic_store_explicit(&sl->lines[index], l,
					      memory_order_relaxed);
		}
	}
	if (!l || l == UINT32_MAX) {
		const codeinfo_t *ci = pyf_info_at(sl->id);
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
	const int o_prev = layout->fr_previous, o_code = layout->fr_code,
		  o_lasti = layout->fr_lasti, lasti_bytes = layout->lasti_bytes;
	const uint32_t bid = pyf.boundary_id;
	int n = 0;
	for (const char *f = top; f; f = rd_ptr(f, o_prev)) {
		PyObject *code = rd_ptr(f, o_code);
		int lasti = rd_int(f, o_lasti);
		ptrdiff_t index = lasti < 0 ? -1 : lasti_bytes ? lasti / 2 : lasti;
		const char *key = (const char *)code + 2 * index;
		uint32_t id, line;
		if (n + (n > 0) >= max)
			break; /* full: the frame is not looked up */
		wcache_t *ce = cache ? &cache[wcache_slot(key)] : NULL;
		if (ce && ce->instr == key && ce->code == code) {
			id = ce->id;
			line = ce->line;
		} else if (walk_lookup(ts, code, index, key, ce, &id, &line) <
			   0) {
			break; /* the frames known so far */
		}
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

/* The frame loop of walk_capture for 3.11+, inlined once per case so
 * that the common one (a cache; 3.11's is_entry or 3.12+'s shims) tests
 * neither inside the loop. */
static inline __attribute__((always_inline)) int
walk_frames(const void *ts, const char *top, wcache_t *cache, const int use_cache,
	    const int has_entry, uint32_t *code_ids, uint32_t *lines, int max)
{
	/* Offsets in locals: the stores below may alias the table (int). */
	const int o_prev = layout->fr_previous, o_owner = layout->fr_owner,
		  o_entry = layout->fr_is_entry, o_code = layout->fr_code,
		  o_instr = layout->fr_instr, o_start = layout->co_code,
		  o_first = layout->co_firsttraceable;
	const uint32_t bid = pyf.boundary_id;
	int n = 0, bound = 0;
	for (const char *f = top; f; f = rd_ptr(f, o_prev)) {
		int owner = *(const signed char *)(f + o_owner);
		if (owner == OWNED_BY_CSTACK) {
			bound = 1;
			continue;
		}
		/* Full: the frame is not looked up (a lookup may intern). */
		if (n + bound >= max)
			break;
		int entry = has_entry && f[o_entry];
		PyObject *code = rd_ptr(f, o_code);
		const char *instr = rd_ptr(f, o_instr);
		uint32_t id, line;
		wcache_t *ce = use_cache ? &cache[wcache_slot(instr)] : NULL;
		if (use_cache && ce->instr == instr && ce->code == code) {
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

int pyf_walk_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	const void *ts = pyapi.GILState_GetThisThreadState();
	if (!ts || rd_ptr(ts, layout->ts_interp) != main_interp)
		return 0;
	const char *top = walk_top(ts);
	if (!top)
		return 0; /* a thread state running no Python code */
	wcache_t *cache = wcache_get();
	if (layout->frame_objects)
		return walk_capture_fo(ts, top, cache, code_ids, lines, max);
	int has_entry = layout->fr_is_entry >= 0;
	if (HT_UNLIKELY(!cache))
		return walk_frames(ts, top, NULL, 0, has_entry, code_ids, lines, max);
	if (has_entry)
		return walk_frames(ts, top, cache, 1, 1, code_ids, lines, max);
	return walk_frames(ts, top, cache, 1, 0, code_ids, lines, max);
}

/* pyframes_capture(code_id, line, 1), in fewer steps: a free's site
 * wants the innermost frame only, on every free (here, so that the whole
 * walk is one call).  Same result: 0 when a boundary would come first (the
 * innermost frame is a shim, or an incomplete entry frame). */
pyframes_keyer_t pyframes_keyer;

void pyf_keyer_set(void)
{
	pyframes_keyer_t *y = &pyframes_keyer;
	if (layout->frame_objects || layout->fr_owner < 0 || layout->fr_instr < 0)
		return; /* 3.9, 3.10: pyframes_innermost reads frame objects */
	y->tstate = (const void *(*)(void))pyapi.GILState_GetThisThreadState;
	y->interp = main_interp;
	y->ts_interp = layout->ts_interp;
	y->ts_cframe = layout->ts_cframe;
	y->cf_current = layout->cf_current;
	y->ts_current = layout->ts_current;
	y->fr_code = layout->fr_code;
	y->fr_instr = layout->fr_instr;
	y->fr_owner = layout->fr_owner;
	__atomic_store_n(&y->active, &pyf.active, __ATOMIC_RELEASE);
}

int pyframes_innermost(uint32_t *code_id, uint32_t *line, int *first)
{
	*first = 0;
	/* walk_on is set before active (released by it) */
	if (HT_UNLIKELY(!atomic_load_explicit(&pyf.active, memory_order_acquire) || !walk_on ||
			layout->frame_objects))
		return pyframes_capture(code_id, line, 1);
	const void *ts = pyapi.GILState_GetThisThreadState();
	if (!ts || rd_ptr(ts, layout->ts_interp) != main_interp)
		return 0;
	const char *f = walk_top(ts);
	if (!f)
		return 0;
	wcache_t *cache = wcache_get();
	unsigned n = 0; /* incomplete frames skipped */
	for (; f; f = rd_ptr(f, layout->fr_previous)) {
		int owner = *(const signed char *)(f + layout->fr_owner);
		if (owner == OWNED_BY_CSTACK)
			return 0; /* a boundary first */
		PyObject *code = rd_ptr(f, layout->fr_code);
		const char *instr = rd_ptr(f, layout->fr_instr);
		wcache_t *ce = cache ? &cache[wcache_slot(instr)] : NULL;
		if (HT_LIKELY(ce && ce->instr == instr && ce->code == code)) {
			*code_id = ce->id;
			*line = ce->line;
			*first = n == 0;
			return 1;
		}
		const char *start = (const char *)code + layout->co_code;
		if (owner != OWNED_BY_GENERATOR &&
		    instr < start + 2 * (ptrdiff_t)rd_int(code, layout->co_firsttraceable)) {
			if (layout->fr_is_entry >= 0 && f[layout->fr_is_entry])
				return 0; /* incomplete entry frame: a boundary first */
			n++;
			continue;
		}
		if (walk_lookup(ts, code, (instr - start) / 2, instr, ce, code_id, line) < 0)
			return 0;
		*first = n == 0;
		return 1;
	}
	return 0;
}
