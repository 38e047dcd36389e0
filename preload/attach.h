/* attach: recording that starts in a running process (`heaptrail attach`)
 * and stops while it runs on (`heaptrail detach`).  The attacher (gdb,
 * driven by analyzer/launcher/attach.c) dlopens this library, then calls
 * heaptrail_attach_start with a configuration string and later
 * heaptrail_attach_stop; both are exported, run in whichever program thread
 * gdb borrows (never inside a hook of ours or in the allocator: the
 * attacher checks) and are serialized by the attacher.  The calls that
 * bind to the hooks are made by patching GOT slots (hooks.c, gotpatch.h). */
#ifndef HT_ATTACH_H
#define HT_ATTACH_H

#include "util.h"

/* config: "NAME=VALUE" lines (common/env.h: the HEAPTRAIL_* settings of
 * `heaptrail record` plus HEAPTRAIL_ATTACH_TRACE, _MSG and _BY).  Starts
 * recording and redirects every loaded module's allocator calls.  0, or a
 * negative errno after a line in the message file saying why (nothing of
 * ours is left active then); 1 when recording began in a CPython process
 * whose Python frames come when its main thread runs its next bytecode
 * (pyframes_attach_schedule: a line on the message channel says). */
HT_EXPORT int heaptrail_attach_start(const char *config);
/* Puts back every patched GOT slot, writes DETACH and END, joins the
 * writer thread, gives the snapshot signal its old action.  The library
 * stays mapped: a call already inside a hook finishes there (forwarding).
 * 0, or -ENOENT when not attached. */
HT_EXPORT int heaptrail_attach_stop(void);
/* Whether an attach is recording now (1/0): `heaptrail detach` checks. */
HT_EXPORT int heaptrail_attach_active(void);

/* ---- from hooks.c -------------------------------------------------------- */

/* 1 when this library was loaded after libc (dlopen), not preloaded. */
int hooks_loaded_late(void);
/* 1 when the executable defines malloc itself (nothing to redirect). */
int hooks_program_malloc(void);
/* Patches every module's allocator slots; returns the slots patched. */
unsigned hooks_redirect(void);
/* Puts every patched slot back, and no module is patched again; returns
 * the slots restored. */
unsigned hooks_restore(void);

#endif /* HT_ATTACH_H */
