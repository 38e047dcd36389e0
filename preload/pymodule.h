/* pymodule: the `_heaptrail` built-in module.  The library constructor
 * registers it with PyImport_AppendInittab when the program is a CPython
 * that has not started yet, so heaptrail.py reaches the recorder through
 * a plain `import _heaptrail` (no ctypes, nothing compiled at run time,
 * no allocation of its own left in the user's heap).  Called by hooks.c
 * (once, before main); its functions run with the GIL held. */
#ifndef HEAPTRAIL_PYMODULE_H
#define HEAPTRAIL_PYMODULE_H

/* Registers `_heaptrail` when the process has CPython's C API (3.9+, a
 * GIL build) and Python is not initialized yet; else does nothing.
 * Returns 1 when registered, 0 otherwise. */
int pymodule_register(void);

#endif /* HEAPTRAIL_PYMODULE_H */
