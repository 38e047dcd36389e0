/* Display frames: a stack as reports print it, innermost first: each
 * ip-1 symbolized (or module+offset), the recorder's and allocator's own
 * frames hidden, Python frames merged (pymerge.h); cached per stack.
 * Made by analysis_frames; used by group.c and the renderers.  Not
 * thread-safe. */
#ifndef HEAPTRAIL_FRAMES_H
#define HEAPTRAIL_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "model/stacks.h"
#include "render/symbols.h"

/* A display frame is a symbolizer frame (symbols.h): function/file/line
 * (NULL/0 when unknown), module path, address.  Python frames have address
 * 0 and module NULL.  Strings live as long as the frames_t. */
typedef sym_frame_t frame_t;

/* Which frames to show (same values as pymerge.h's PYMERGE_*). */
enum frames_mode {
	FRAMES_ALL = 0, /* Python frames in place of the interpreter's */
	FRAMES_PYTHON = 1, /* Python frames only (native if there are none) */
	FRAMES_NATIVE = 2, /* native frames only */
};

typedef struct frames frames_t;

/* `sym` may be NULL: frames are then raw (module+offset).  frames_new feeds
 * every module map of `stacks` to `sym`.  Returns NULL on ENOMEM. */
frames_t *frames_new(const stacks_t *stacks, struct sym *sym, int mode);
void frames_free(frames_t *f);

/* Display frames of stack i, innermost first.  Returns their number (>= 0;
 * a stack without frames gives 0) and sets *out (valid until frames_free);
 * negative errno on failure. */
int frames_get(frames_t *f, sidx_t i, const frame_t **out);

/* Same frames copied into out[0..max) without caching them (for passes
 * over millions of stacks that need only the innermost frames).  Returns
 * the full count (may exceed max) or a negative errno.  The strings are
 * owned as for frames_get. */
int frames_copy(frames_t *f, sidx_t i, frame_t *out, int max);

/* The frame that keys stack i for a grouping by one frame (tracemalloc's
 * innermost frame): the first Python frame of its display frames, else
 * the first frame.  Resolves only what that takes (not the whole stack).
 * Returns 1 with *out, 0 for a stack without frames, or a negative
 * errno.  The strings are owned as for frames_get. */
int frames_key(frames_t *f, sidx_t i, frame_t *out);

/* Short module name: basename of the path; the executable for "". */
const char *frames_module_name(const frames_t *f, const frame_t *fr);

#endif /* HEAPTRAIL_FRAMES_H */
