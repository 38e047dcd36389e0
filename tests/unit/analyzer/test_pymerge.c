/* pymerge: Python frames take the place of CPython's evaluation frames in
 * symbolized native stacks (3.9/3.10 shape: one eval per Python frame;
 * 3.11+ shape: several Python frames per eval, boundary pseudo frames),
 * C-extension frames stay, trampolines go, and the PYTHON/NATIVE modes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pyframes.h"
#include "render/pymerge.h"

#define N(fn) { .function = fn, .file = NULL, .line = 0, .module = "libpython3.11.so", .address = 1 }
#define INL(fn) { .function = fn, .module = "libpython3.11.so", .address = 1, .inlined = 1 }
#define P(fn, ln) { .file = "app.py", .function = fn, .line = ln }
#define B { .file = "", .function = PYMERGE_BOUNDARY_FUNC, .line = 0 }

/* Names of the merged frames, "py:" prefixed for Python ones, joined by
 * spaces. */
static const char *names(const sym_frame_t *f, int n)
{
	static char buf[1024];
	size_t o = 0;
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		int py = f[i].module == NULL && f[i].address == 0;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s", i ? " " : "",
				      py ? "py:" : "", f[i].function ? f[i].function : "?");
	}
	return buf;
}

static const char *merge(const sym_frame_t *nat, int nn, const pyframe_t *py,
			 int np, int mode)
{
	sym_frame_t out[64];
	int n = pymerge_frames(nat, nn, py, np, mode, out, 64);
	cr_assert_geq(n, 0);
	return names(out, n);
}

Test(pymerge, boundary_name_matches_the_recorder)
{
	cr_assert_str_eq(PYMERGE_BOUNDARY_FUNC, PYFRAMES_BOUNDARY_FUNC);
}

Test(pymerge, python311_frames_replace_one_eval_loop_and_its_trampolines)
{
	sym_frame_t nat[] = {
		N("list_resize"), N("list_append"), N("method_vectorcall_O"),
		N("_PyEval_EvalFrameDefault"), N("_PyEval_Vector"), N("PyEval_EvalCode"),
		N("run_eval_code_obj"), N("run_mod"), N("pyrun_file"),
		N("_PyRun_SimpleFileObject"), N("_PyRun_AnyFileObject"),
		N("pymain_run_file_obj"), N("Py_RunMain"), N("Py_BytesMain"), N("main"),
		N("__libc_start_call_main"), N("__libc_start_main_impl"), N("_start"),
	};
	pyframe_t py[] = { P("grow", 7), P("main", 12), P("<module>", 20) };
	cr_assert_str_eq(merge(nat, 18, py, 3, PYMERGE_ALL),
			 "list_resize list_append py:grow py:main py:<module> main");
	sym_frame_t out[8];
	int n = pymerge_frames(nat, 18, py, 3, PYMERGE_ALL, out, 8);
	cr_assert_eq(n, 6);
	cr_assert_str_eq(out[2].file, "app.py");
	cr_assert_eq(out[2].line, 7);
	cr_assert_null(out[2].module);
}

Test(pymerge, c_extension_frames_below_the_python_call_stay)
{
	sym_frame_t nat[] = {
		N("PyDataMem_UserNEW"), N("PyArray_NewFromDescr_int"), N("array_zeros"),
		N("cfunction_vectorcall_FASTCALL_KEYWORDS"), N("_PyEval_EvalFrameDefault.cold"),
		N("PyEval_EvalCode"), N("main"),
	};
	pyframe_t py[] = { P("load", 3), P("<module>", 9) };
	cr_assert_str_eq(merge(nat, 7, py, 2, PYMERGE_ALL),
			 "PyDataMem_UserNEW PyArray_NewFromDescr_int array_zeros py:load py:<module> main");
}

Test(pymerge, python310_one_eval_per_frame_interleaves_callbacks)
{
	/* <module> -> sorted(key=f) -> f allocates; each Python frame has its
	 * own eval invocation, the recorder separates every frame. */
	sym_frame_t nat[] = {
		N("_PyObject_Malloc"), N("PyList_New"), INL("call_function"),
		N("_PyEval_EvalFrameDefault"), N("function_code_fastcall"), N("trace_call_function"),
		N("_PyFunction_Vectorcall"), N("list_sort_impl"), N("builtin_sorted"),
		N("cfunction_vectorcall_FASTCALL_KEYWORDS"), N("_PyEval_EvalFrameDefault"),
		N("_PyEval_EvalCode"), N("main"),
	};
	pyframe_t py[] = { P("f", 2), B, P("<module>", 5) };
	cr_assert_str_eq(merge(nat, 13, py, 3, PYMERGE_ALL),
			 "_PyObject_Malloc PyList_New py:f list_sort_impl builtin_sorted py:<module> main");
}

Test(pymerge, python312_groups_follow_eval_invocations)
{
	/* g and f inline in one eval (a generator resumed through C),
	 * helper/main/<module> in the outer one. */
	sym_frame_t nat[] = {
		N("PyUnicode_New"), N("_PyEval_EvalFrameDefault"), N("gen_send_ex2"),
		N("gen_iternext"), N("list_extend"), N("_PyEval_EvalFrameDefault"),
		N("PyEval_EvalCode"), N("main"),
	};
	pyframe_t py[] = { P("g", 4), P("f", 8), B, P("helper", 11), P("main", 15),
			   P("<module>", 30) };
	cr_assert_str_eq(merge(nat, 8, py, 6, PYMERGE_ALL),
			 "PyUnicode_New py:g py:f list_extend py:helper py:main py:<module> main");
}

Test(pymerge, groups_beyond_a_truncated_native_stack_go_at_the_outermost_eval)
{
	sym_frame_t nat[] = { N("PyLong_FromLong"), N("_PyEval_EvalFrameDefault") };
	pyframe_t py[] = { P("a", 1), B, P("b", 2), B, P("c", 3) };
	cr_assert_str_eq(merge(nat, 2, py, 5, PYMERGE_ALL), "PyLong_FromLong py:a py:b py:c");
}

Test(pymerge, eval_frames_without_python_frames_are_dropped)
{
	/* Frames entered before the profile function was installed. */
	sym_frame_t nat[] = { N("PyLong_FromLong"), N("_PyEval_EvalFrameDefault"),
			      N("builtin_exec"), N("_PyEval_EvalFrameDefault"), N("main") };
	pyframe_t py[] = { P("a", 1) };
	cr_assert_str_eq(merge(nat, 5, py, 1, PYMERGE_ALL), "PyLong_FromLong py:a main");
}

Test(pymerge, without_an_eval_frame_python_leads)
{
	sym_frame_t nat[] = { { .function = NULL, .module = "libpython3.11.so", .address = 7 },
			      N("main") };
	pyframe_t py[] = { P("a", 1), B, P("b", 2) };
	cr_assert_str_eq(merge(nat, 2, py, 3, PYMERGE_ALL), "py:a py:b ? main");
}

Test(pymerge, python_mode_keeps_only_python_frames_without_boundaries)
{
	sym_frame_t nat[] = { N("list_resize"), N("_PyEval_EvalFrameDefault"), N("main") };
	pyframe_t py[] = { P("a", 1), B, P("b", 2) };
	cr_assert_str_eq(merge(nat, 3, py, 3, PYMERGE_PYTHON), "py:a py:b");
}

Test(pymerge, python_mode_without_python_frames_shows_native)
{
	sym_frame_t nat[] = { N("worker"), N("start_thread"), N("clone3") };
	cr_assert_str_eq(merge(nat, 3, NULL, 0, PYMERGE_PYTHON), "worker start_thread clone3");
	pyframe_t only_b[] = { B };
	cr_assert_str_eq(merge(nat, 3, only_b, 1, PYMERGE_ALL), "worker start_thread clone3");
}

Test(pymerge, native_mode_is_the_native_stack_untouched)
{
	sym_frame_t nat[] = { N("list_resize"), N("method_vectorcall_O"),
			      N("_PyEval_EvalFrameDefault"), N("main") };
	pyframe_t py[] = { P("a", 1) };
	cr_assert_str_eq(merge(nat, 4, py, 1, PYMERGE_NATIVE),
			 "list_resize method_vectorcall_O _PyEval_EvalFrameDefault main");
}

Test(pymerge, output_is_cut_at_max_keeping_the_innermost)
{
	sym_frame_t nat[] = { N("list_resize"), N("_PyEval_EvalFrameDefault"), N("main") };
	pyframe_t py[] = { P("a", 1), P("b", 2), P("c", 3) };
	sym_frame_t out[3];
	int n = pymerge_frames(nat, 3, py, 3, PYMERGE_ALL, out, 3);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(names(out, n), "list_resize py:a py:b");
	cr_assert_eq(pymerge_frames(nat, 3, py, 3, PYMERGE_ALL, out, 0), 0);
}

Test(pymerge, classify_ignores_clone_suffixes_and_keeps_look_alikes)
{
	cr_assert_eq(pymerge_classify("_PyEval_EvalFrameDefault"), 1);
	cr_assert_eq(pymerge_classify("_PyEval_EvalFrameDefault.cold"), 1);
	cr_assert_eq(pymerge_classify("_PyEval_Vector"), 2);
	cr_assert_eq(pymerge_classify("method_vectorcall_FASTCALL_KEYWORDS"), 2);
	cr_assert_eq(pymerge_classify("_PyObject_VectorcallTstate.lto_priv.0"), 2);
	cr_assert_eq(pymerge_classify("pymain_run_python"), 2);
	cr_assert_eq(pymerge_classify("list_resize"), 0);
	cr_assert_eq(pymerge_classify("array_zeros"), 0);
	cr_assert_eq(pymerge_classify("_PyEval_EvalFrameDefaultX"), 0);
	cr_assert_eq(pymerge_classify(NULL), 0);
}

/* Names as merge() gives them, a cut marker as "|cut|". */
static const char *merge_marked(const sym_frame_t *nat, int nn, const pyframe_t *py,
				int np, int mode)
{
	static char buf[1024];
	sym_frame_t out[64];
	int n = pymerge_frames(nat, nn, py, np, mode, out, 64);
	size_t o = 0;
	cr_assert_geq(n, 0);
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		int py = !out[i].marker && out[i].module == NULL && out[i].address == 0;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s", i ? " " : "",
				      py ? "py:" : "",
				      out[i].marker == SYM_MARK_CUT_RECORDER ? "|cut|" :
				      out[i].function ? out[i].function : "?");
	}
	return buf;
}

/* Bug (issue 12): a native stack cut by the recorder before the first
 * evaluation loop frame put every Python frame innermost, above the
 * C code that allocated. */
Test(pymerge, python_frames_stay_outside_a_native_stack_cut_before_any_eval)
{
	sym_frame_t nat[] = { N("PyByteArray_Resize"), N("bytearray___init__"), N("type_call") };
	pyframe_t py[] = { P("work", 10), P("nest", 15), P("<module>", 20) };

	const char *got = merge_marked(nat, 3, py, 3, PYMERGE_ALL | PYMERGE_NATIVE_CUT);

	cr_assert_str_eq(got, "PyByteArray_Resize bytearray___init__ type_call |cut| "
			      "py:work py:nest py:<module>");
	cr_assert_str_eq(merge_marked(nat, 3, py, 3, PYMERGE_ALL),
			 "py:work py:nest py:<module> PyByteArray_Resize bytearray___init__ type_call",
			 "without the flag nothing anchors the Python frames: they lead");
}

Test(pymerge, groups_beyond_a_cut_native_stack_follow_the_cut_marker)
{
	sym_frame_t nat[] = { N("list_resize"), N("_PyEval_EvalFrameDefault"), N("cb") };
	pyframe_t py[] = { P("inner", 3), B, P("outer", 9), P("<module>", 12) };

	const char *got = merge_marked(nat, 3, py, 4, PYMERGE_ALL | PYMERGE_NATIVE_CUT);

	cr_assert_str_eq(got, "list_resize py:inner cb |cut| py:outer py:<module>");
}

Test(pymerge, native_and_python_modes_with_a_cut)
{
	sym_frame_t nat[] = { N("list_resize"), N("_PyEval_EvalFrameDefault") };
	pyframe_t py[] = { P("f", 3) };

	cr_assert_str_eq(merge_marked(nat, 2, py, 1, PYMERGE_NATIVE | PYMERGE_NATIVE_CUT),
			 "list_resize _PyEval_EvalFrameDefault |cut|");
	cr_assert_str_eq(merge_marked(nat, 2, py, 1, PYMERGE_PYTHON | PYMERGE_NATIVE_CUT),
			 "py:f", "the Python frames are whole");
}
