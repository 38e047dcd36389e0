/* pyframes/layout.c: the per-version layout rows of the frame walk, the
 * install-time self-test that checks a row against the running
 * interpreter, and the choice between walk and profile function. */
#include "pyframes/internal.h"

#include "util.h"

#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

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
		if ((layout->fr_owner >= 0 && peek(*f + layout->fr_owner, &owner, 1)) ||
		    peek_ptr(*f, layout->fr_previous, &prev) ||
		    peek_ptr(*f, layout->fr_code, &c))
			return -1;
		if (layout->frame_objects) {
			if (peek(*f + layout->fr_lasti, &lasti, sizeof(lasti)))
				return -1;
			*code = (PyObject *)c;
			*index = lasti < 0	   ? -1
				 : layout->lasti_bytes ? lasti / 2
						  : lasti;
			return 0;
		}
		if (owner < 0 || owner > 3)
			return -1;
		if (owner != OWNED_BY_CSTACK) {
			if (peek_ptr(*f, layout->fr_instr, &ip) ||
			    peek((const char *)c + layout->co_firsttraceable,
				 &first, sizeof(first)))
				return -1;
			const char *c0 = (const char *)c + layout->co_code;
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
	const void *ts = pyapi.GILState_GetThisThreadState(), *interp, *cf;
	if (!ts || peek_ptr(ts, layout->ts_interp, &interp) || interp != main_interp)
		return 0;
	const char *f;
	if (layout->ts_current >= 0) {
		if (peek_ptr(ts, layout->ts_current, (const void **)&f))
			return 0;
	} else if (peek_ptr(ts, layout->ts_cframe, &cf) ||
		   (cf && peek_ptr(cf, layout->cf_current, (const void **)&f))) {
		return 0;
	} else if (!cf) {
		f = NULL;
	}
	void *fo = pyapi.Eval_GetFrame();
	if (fo)
		pyapi.IncRef(fo);
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
		PyObject *code = pyapi.Frame_GetCode(fo);
		ok = code && f && wcode == code && rd_ptr(code, 8) == pyapi.Code_Type &&
		     (!layout->frame_objects || (const void *)f == fo);
		PyObject *fn = NULL, *qn = NULL, *fl = NULL, *cc = NULL;
		if (ok) {
			fn = pyapi.GetAttrString(code, "co_filename");
			qn = pyapi.GetAttrString(code, pyapi.minor >= 11 ? "co_qualname"
								   : "co_name");
			fl = pyapi.GetAttrString(code, "co_firstlineno");
			cc = pyapi.GetAttrString(code, "co_code");
			ok = fn && qn && fl && cc &&
			     rd_ptr(code, layout->co_filename) == fn &&
			     rd_ptr(code, layout->co_qualname) == qn &&
			     rd_int(code, layout->co_firstlineno) == pyapi.AsLong(fl);
		}
		if (ok) {
			/* co_code (bytes, ob_size at 16 like every
			 * PyVarObject here) holds 2 bytes per code unit */
			ssize_t units = pyf_code_units(code);
			ssize_t nbytes = *(const ssize_t *)((const char *)cc + 16);
			ssize_t ql = 0;
			const char *qs = pyapi.AsUTF8AndSize(qn, &ql);
			char buf[1024];
			ssize_t bl = pyf_str_utf8((const char *)qn, buf, sizeof(buf));
			int line = pyapi.Code_Addr2Line(code, (int)index * 2);
			ok = units > 0 && nbytes == 2 * units && index >= -1 &&
			     index < units &&
			     (!layout->frame_objects || rd_ptr(code, layout->co_code) == cc) &&
			     qs && bl == ql && memcmp(buf, qs, (size_t)ql) == 0 &&
			     line == pyapi.Frame_GetLineNumber(fo);
		}
		PyObject *objs[] = { fn, qn, fl, cc, code };
		for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
			if (objs[i])
				pyapi.DecRef(objs[i]);
		if (f && peek_ptr(f, layout->fr_previous, (const void **)&f))
			ok = 0;
		void *back = pyapi.Frame_GetBack(fo);
		pyapi.DecRef(fo);
		fo = back;
	}
	if (fo)
		pyapi.DecRef(fo);
	/* Called from Python: there was a frame to compare. */
	return ok && (!need_frames || checked > 0);
}

/* Chooses the frame walk when this interpreter has a verified layout row.
 * GIL held; from_python: install() was given the caller's frame.
 * HEAPTRAIL_PYTHON_FRAMES=profile forces the profile function;
 * HEAPTRAIL_PYTHON_ROW=<minor> tries that version's row whatever the
 * version (for the tests of walk_selftest). */
int pyf_walk_enable(int from_python)
{
	/* Once: a row that failed is not tried again while the profile
	 * function may already be capturing. */
	static int tried;
	if (tried)
		return 0;
	tried = 1;
	const char *v = pyapi.GetVersion();
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
	if (!pyapi.GILState_GetThisThreadState || !pyapi.ThreadState_Unchecked ||
	    !pyapi.Interp_Main || !pyapi.Eval_GetFrame || !pyapi.Code_Addr2Line ||
	    !pyapi.Code_Type)
		return 0;
	int row = want.row ? want.row : pyapi.minor;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == row)
			layout = &layouts[i];
	if (!layout)
		return 0;
	main_interp = pyapi.Interp_Main();
	if (!main_interp || !walk_selftest(from_python)) {
		layout = NULL;
		return 0;
	}
	pyf_keyer_set();
	walk_on = 1; /* published by the active store that follows */
	return 1;
}
