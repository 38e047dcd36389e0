/* Report keys: the key types reports group by (top --by, diff --by,
 * leaks...) and the text of one display frame under each.  Called by
 * group.c (keys), by the renderers (text.c, json.c) and by cli/opts.c
 * (--by).  Pure functions: thread-safe. */
#ifndef HEAPTRAIL_REPORT_H
#define HEAPTRAIL_REPORT_H

#include <stddef.h>
#include <stdio.h> /* group.c, which builds keys, formats with it */

#include "render/frames.h"

/* How stats are grouped (top --by, diff --by, leaks...). */
typedef enum report_by {
	BY_LINENO = 0, /* file:line of the innermost frame */
	BY_FILENAME, /* file of the innermost frame */
	BY_FUNCTION, /* function of the innermost frame */
	BY_TRACEBACK, /* the whole stack */
	BY_MODULE, /* module (shared object) of the innermost frame */
	BY_SITE, /* file:line of the first frame that is not a system frame
		  * (sysframes.h): the user's line */
	BY_TYPE, /* what a Python allocation is ("int", "list items array"),
		  * from its CPython functions (pytype.h) */
} report_by_t;

/* Parses "lineno|filename|function|traceback|module|site|type"; -1 if
 * unknown. */
int report_by_parse(const char *s);
/* The --by name of a key type ("lineno", ...): the inverse of the above. */
const char *report_by_name(report_by_t by);

/* Text of one frame under a grouping: "file.c:42", "file.c", "func",
 * "libfoo.so"; unknown parts fall back to "module+0xoff" / "0xaddr" /
 * "<unknown>" (no frames).  Returns buf. */
char *report_frame_key(char *buf, size_t len, const frames_t *f,
		       const frame_t *fr, report_by_t by);

/* One frame as a traceback line: "func at file.c:42 (module)"; a marker
 * frame as frames_marker_text. */
char *report_frame_line(char *buf, size_t len, const frames_t *f,
			const frame_t *fr);

/* The short module name of a frame ("libfoo.so"), or NULL. */
const char *report_frame_module(const frames_t *f, const frame_t *fr);

#endif /* HEAPTRAIL_REPORT_H */
