/* `--by type`: what a Python program's allocation is ("int", "list items
 * array", "dict keys table"...), read from the CPython C functions of its
 * native stack with one rule table per CPython minor version.  Called by
 * group.c for BY_TYPE; pure functions, thread-safe. */
#ifndef HEAPTRAIL_PYTYPE_H
#define HEAPTRAIL_PYTYPE_H

#include "render/frames.h"

/* The name every allocation that no rule explains gets. */
#define PYTYPE_OTHER "other"

/* The CPython minor version (9 for 3.9) of the interpreter module a
 * frame's module path names ("libpython3.11.so.1.0", ".../python3.12"),
 * else 0. */
int pytype_minor(const char *module);

/* What the allocation of display frames fr[0..n) (innermost first) is:
 * the rule of the innermost CPython function that has one, walking out
 * through generic allocators (gc_alloc, PyType_GenericAlloc...) and
 * unnamed helpers, and stopping at the evaluation loop or at the first
 * Python frame.  minor: pytype_minor of the interpreter (0 = unknown:
 * rules of every version apply).  Returns a static string; PYTYPE_OTHER
 * when no rule matches. */
const char *pytype_of(const frame_t *fr, int n, int minor);

#endif /* HEAPTRAIL_PYTYPE_H */
