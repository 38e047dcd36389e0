/* --by type: synthetic native stacks (innermost first) against the rule
 * tables; no process, no symbolizer. */
#include <criterion/criterion.h>
#include <string.h>

#include "render/pytype.h"

#define LIBPY "/usr/lib/libpython3.11.so.1.0"

/* Native frames named fns[0..n) in module LIBPY, then one Python frame. */
static int stack(frame_t *out, const char *const *fns, int n)
{
	memset(out, 0, (size_t)(n + 1) * sizeof(*out));
	for (int i = 0; i < n; i++) {
		out[i].function = fns[i];
		out[i].module = LIBPY;
		out[i].address = 0x1000u + (unsigned)i;
	}
	out[n].function = "<module>";
	out[n].file = "script.py";
	out[n].line = 3;
	return n + 1;
}

static const char *type_of(const char *const *fns, int n, int minor)
{
	frame_t fr[32];
	int k = stack(fr, fns, n);
	return pytype_of(fr, k, minor);
}

Test(pytype, minor_comes_from_the_interpreter_module_name)
{
	cr_assert_eq(pytype_minor("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"), 11);
	cr_assert_eq(pytype_minor("/root/.pyenv/versions/3.9.18/bin/python3.9"), 9);
	cr_assert_eq(pytype_minor("/usr/lib/libc.so.6"), 0);
	cr_assert_eq(pytype_minor(NULL), 0);
}

Test(pytype, list_object_and_items_array_are_told_apart)
{
	const char *obj[] = { "gc_alloc", "_PyObject_GC_New", "PyList_New" };
	const char *items[] = { "PyList_New" };
	cr_assert_str_eq(type_of(obj, 3, 11), "list");
	cr_assert_str_eq(type_of(items, 1, 11), "list items array");
}

Test(pytype, unnamed_static_helpers_are_walked_past)
{
	const char *fns[] = { NULL, NULL, "list_resize", "_PyList_AppendTakeRef" };
	cr_assert_str_eq(type_of(fns, 4, 11), "list items array");
}

Test(pytype, the_evaluation_loop_stops_the_walk)
{
	/* bytes allocated by a C function called from the loop, whose caller
	 * happens to be a rule's name further out: not that rule's type. */
	const char *fns[] = { "some_extension_fn", "_PyEval_EvalFrameDefault",
			      "PyList_New" };
	cr_assert_str_eq(type_of(fns, 3, 11), PYTYPE_OTHER);
}

Test(pytype, a_dict_made_for_instance_attributes_is_an_instance_dict)
{
	const char *plain[] = { "new_keys_object", "dictresize",
				"insertdict" };
	const char *inst[] = { "gc_alloc", "_PyObject_GC_New", "new_dict",
			       "_PyObjectDict_SetItem" };
	cr_assert_str_eq(type_of(plain, 3, 9), "dict keys table");
	cr_assert_str_eq(type_of(inst, 4, 9), "instance dict / values");
}

Test(pytype, rules_hold_only_for_their_versions)
{
	/* new_values is 3.11-3.12's values array; 3.13 keeps values inline. */
	const char *fns[] = { "new_values" };
	cr_assert_str_eq(type_of(fns, 1, 11), "instance dict / values");
	cr_assert_str_eq(type_of(fns, 1, 13), PYTYPE_OTHER);
	/* Unknown version: every rule applies. */
	cr_assert_str_eq(type_of(fns, 1, 0), "instance dict / values");
}

Test(pytype, a_stripped_numpy_is_named_by_its_module)
{
	frame_t fr[2];
	memset(fr, 0, sizeof fr);
	fr[0].module = "/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so";
	fr[0].address = 0x1234;
	fr[1].function = "<module>";
	fr[1].file = "a.py";
	cr_assert_str_eq(pytype_of(fr, 2, 11), "numpy (no symbols)");
}
