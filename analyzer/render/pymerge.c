/* Python/native frame merging: see pymerge.h.  Which native functions are
 * the interpreter's is decided by name, because that is all a symbolized
 * frame offers; the names cover CPython 3.9 to 3.13. */
#include "render/pymerge.h"

#include <string.h>

/* The evaluation loop: one native invocation runs one Python frame (3.9,
 * 3.10) or several inlined ones (3.11+). */
static const char *const eval_names[] = {
	"_PyEval_EvalFrameDefault",
};

/* Call machinery between Python frames, or between the process entry and
 * the first Python frame: nothing here tells the user anything the Python
 * frames do not. */
static const char *const glue_names[] = {
	"_PyEval_Vector",
	"_PyEval_EvalFrame",
	"PyEval_EvalFrame",
	"PyEval_EvalFrameEx",
	"_PyEval_EvalCode",
	"_PyEval_EvalCodeWithName",
	"PyEval_EvalCode",
	"PyEval_EvalCodeEx",
	"_PyFunction_Vectorcall",
	"_PyFunction_FastCallDict",
	"_PyFunction_FastCall",
	"function_code_fastcall",
	"call_function",
	"trace_call_function", /* 3.10 with a profile function set */
	"do_call_core",
	"cfunction_call",
	"cfunction_call_varargs",
	"PyCFunction_Call",
	"_PyCFunction_FastCallKeywords",
	"_PyObject_MakeTpCall",
	"PyVectorcall_Call",
	"_PyVectorcall_Call",
	"vectorcall_method",
	"vectorcall_unbound",
	"call_unbound",
	"call_unbound_noarg",
	"method_vectorcall",
	"run_mod",
	"run_eval_code_obj",
	"builtin_exec",
	"builtin_exec_impl",
	"exec_code_in_module",
	"Py_RunMain",
	"Py_BytesMain",
	"Py_Main",
	"gen_send_ex",
	"gen_send_ex2",
	"gen_iternext",
	"gen_send",
	"_PyGen_Send",
	"gen_throw",
	"_gen_throw",
	"PyIter_Send",
	"thread_run",
	"t_bootstrap",
	"pythread_wrapper",
	/* Process and thread entry below the interpreter's main / thread
	 * function: the same in every stack of a Python program. */
	"__libc_start_call_main",
	"__libc_start_main",
	"__libc_start_main_impl",
	"_start",
	"start_thread",
	"clone",
	"clone3",
};

static const char *const glue_prefixes[] = {
	"_PyObject_Vectorcall",
	"PyObject_Vectorcall",
	"_PyObject_FastCall",
	"_PyObject_Call",
	"PyObject_Call",
	"method_vectorcall_",
	"cfunction_vectorcall_",
	"pymain_",
	"pyrun_",
	"_PyRun_",
	"PyRun_",
};

/* Length of name without a compiler clone suffix (".cold", ".isra.0",
 * ".constprop.0", ".part.1", ...). */
static size_t base_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

static int name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(name, want, n) == 0;
}

int pymerge_classify(const char *function)
{
	if (!function)
		return 0;
	size_t n = base_len(function);
	for (size_t i = 0; i < sizeof(eval_names) / sizeof(*eval_names); i++)
		if (name_is(function, n, eval_names[i]))
			return 1;
	for (size_t i = 0; i < sizeof(glue_names) / sizeof(*glue_names); i++)
		if (name_is(function, n, glue_names[i]))
			return 2;
	for (size_t i = 0; i < sizeof(glue_prefixes) / sizeof(*glue_prefixes);
	     i++) {
		size_t pn = strlen(glue_prefixes[i]);
		if (n >= pn && memcmp(function, glue_prefixes[i], pn) == 0)
			return 2;
	}
	return 0;
}

static int is_boundary(const pyframe_t *p)
{
	return p->function && strcmp(p->function, PYMERGE_BOUNDARY_FUNC) == 0;
}

/* Output cursor: silently stops at max, keeping the innermost frames. */
typedef struct outbuf {
	sym_frame_t *v;
	int n, max;
} outbuf_t;

static void put(outbuf_t *o, const sym_frame_t *f)
{
	if (o->n < o->max)
		o->v[o->n++] = *f;
}

static void put_py(outbuf_t *o, const pyframe_t *p)
{
	sym_frame_t f = { 0 };
	f.function = p->function;
	f.file = p->file;
	f.line = p->line;
	put(o, &f);
}

/* Emits the Python frames of the group starting at *pos (up to the next
 * boundary) and moves *pos past that boundary.  Returns 0 when no group is
 * left. */
static int put_group(outbuf_t *o, const pyframe_t *py, int np, int *pos)
{
	int i = *pos;
	if (i >= np)
		return 0;
	for (; i < np && !is_boundary(&py[i]); i++)
		put_py(o, &py[i]);
	*pos = i < np ? i + 1 : i;
	return 1;
}

static void put_rest(outbuf_t *o, const pyframe_t *py, int np, int *pos)
{
	while (put_group(o, py, np, pos))
		;
}

/* Where the recorder cut the native stack. */
static void put_cut(outbuf_t *o)
{
	sym_frame_t f = { 0 };
	f.marker = SYM_MARK_CUT_RECORDER;
	put(o, &f);
}

int pymerge_frames(const sym_frame_t *native, int nn, const pyframe_t *py,
		   int np, int mode, sym_frame_t *out, int max)
{
	outbuf_t o = { out, 0, max > 0 ? max : 0 };
	int pos = 0, real_py = 0, cut = (mode & PYMERGE_NATIVE_CUT) != 0;
	mode &= ~PYMERGE_NATIVE_CUT;
	if (nn < 0)
		nn = 0;
	if (np < 0)
		np = 0;
	for (int i = 0; i < np; i++)
		real_py += !is_boundary(&py[i]);

	if (mode == PYMERGE_NATIVE || real_py == 0) {
		for (int i = 0; i < nn; i++)
			put(&o, &native[i]);
		if (cut)
			put_cut(&o);
		return o.n;
	}
	if (mode == PYMERGE_PYTHON) {
		put_rest(&o, py, np, &pos);
		return o.n;
	}

	int neval = 0, last_eval = -1;
	for (int i = 0; i < nn; i++)
		if (pymerge_classify(native[i].function) == 1) {
			neval++;
			last_eval = i;
		}
	if (neval == 0 && cut) {
		/* The evaluation loop frames were in the part that was cut:
		 * the Python frames are outside every native frame kept. */
		for (int i = 0; i < nn; i++)
			put(&o, &native[i]);
		put_cut(&o);
		put_rest(&o, py, np, &pos);
		return o.n;
	}
	if (neval == 0) {
		/* Nothing to anchor on (no symbols, or a foreign eval
		 * function): the Python code is what the user wrote, so it
		 * leads. */
		put_rest(&o, py, np, &pos);
		for (int i = 0; i < nn; i++)
			put(&o, &native[i]);
		return o.n;
	}
	for (int i = 0; i < nn; i++) {
		int kind = pymerge_classify(native[i].function);
		if (kind == 1) {
			if (i == last_eval && !cut)
				put_rest(&o, py, np, &pos);
			else
				put_group(&o, py, np, &pos);
		} else if (kind == 0) {
			/* An inlined frame belongs to the next physical one;
			 * when that is the evaluation loop it is interpreter
			 * detail (call_function inlined into it, ...). */
			int j = i;
			while (j < nn && native[j].inlined)
				j++;
			if (j < nn && j != i &&
			    pymerge_classify(native[j].function) == 1)
				continue;
			put(&o, &native[i]);
		}
	}
	if (cut) {
		/* Groups no kept evaluation frame claimed ran outside it. */
		put_cut(&o);
		put_rest(&o, py, np, &pos);
	}
	return o.n;
}
