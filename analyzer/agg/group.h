/* Grouping of stacks into report keys (tracemalloc's key_type: lineno,
 * filename, function, module, traceback; cumulative keys; and site) and
 * include/exclude filters on the key frame's file.  The key frame is
 * tracemalloc's innermost frame: the innermost Python frame when the stack
 * has one, else the innermost native frame; for BY_SITE it is the first
 * frame that is not a system frame (frames_site).  Used by top, diff, leaks and growth reports.
 * Not thread-safe. */
#ifndef HEAPTRAIL_GROUP_H
#define HEAPTRAIL_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "render/frames.h"
#include "render/report.h"
#include "model/stacks.h"

#define GROUP_NONE UINT32_MAX

typedef struct group group_t;

/* frames: display frames (symbolized or raw); by: the key type. */
group_t *group_new(frames_t *frames, report_by_t by);
void group_free(group_t *g);

/* Group id of stack i (key frame's key, or whole traceback), or
 * GROUP_NONE on allocation failure.  Cached per stack. */
uint32_t group_of_stack(group_t *g, sidx_t i);

/* Cumulative: the distinct group ids of every frame of stack i (each key
 * once per stack; for BY_SITE every frame that is not a system frame,
 * unless all are).  Returns their number (>= 1: a stack with no frames has
 * one "<no stack>" key) or -ENOMEM; *ids valid until the next call. */
int group_keys_of_stack(group_t *g, sidx_t i, const uint32_t **ids);

/* Key text of group id ("file.c:42", or the traceback lines joined by
 * "\n" for BY_TRACEBACK). */
const char *group_key(const group_t *g, uint32_t id);
/* Frames representing group id, innermost first: one frame for the
 * innermost-frame keys, the whole traceback for BY_TRACEBACK; 0 frames for
 * "<no stack>". */
int group_frames(const group_t *g, uint32_t id, const frame_t **frames);

/* Include/exclude filters: a stack passes when its key frame's file (or module, when the file is unknown) matches at least one
 * include pattern (if any) and no exclude pattern.  Patterns are fnmatch
 * globs.  Up to 32 of each. */
int group_add_filter(group_t *g, const char *pattern, bool include);
bool group_stack_passes(group_t *g, sidx_t i);
bool group_has_filters(const group_t *g);

#endif /* HEAPTRAIL_GROUP_H */
