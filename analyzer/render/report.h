/* Report helpers shared by every command: tracemalloc-style sizes and
 * group keys, truncation/lost-events notes, a streaming JSON writer and
 * command-line helpers (usage errors exit 2).  Called by cmd_*.c and the
 * aggregators' reports.  Not thread-safe (one json_t per writer). */
#ifndef HEAPTRAIL_REPORT_H
#define HEAPTRAIL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/analysis.h"
#include "render/frames.h"

/* tracemalloc's _format_size: "97.7 KiB", "1000 B", with a leading sign
 * when `sign` ("+1.0 MiB", "-12 B").  Returns buf. */
char *report_size(char *buf, size_t len, double size, bool sign);

/* How stats are grouped (top --by, diff --by, leaks...). */
typedef enum report_by {
	BY_LINENO = 0, /* file:line of the innermost frame */
	BY_FILENAME, /* file of the innermost frame */
	BY_FUNCTION, /* function of the innermost frame */
	BY_TRACEBACK, /* the whole stack */
	BY_MODULE, /* module (shared object) of the innermost frame */
	BY_SITE, /* file:line of the first frame that is not a system frame
		  * (sysframes.h): the user's line */
} report_by_t;

/* Parses "lineno|filename|function|traceback|module|site"; -1 if
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

/* Text notes printed at the top of a text report: lost events, truncated
 * trace, exec'd images.  Nothing when the trace is complete. */
void report_notes(FILE *out, const analysis_summary_t *s);

/* --- JSON ------------------------------------------------------------ */
typedef struct json {
	FILE *out;
	int depth;
	bool need_comma[64]; /* per nesting level: an element was written */
	bool after_key; /* a key was just written: no comma before value */
} json_t;

void json_init(json_t *j, FILE *out);
void json_obj_begin(json_t *j); /* { */
void json_obj_end(json_t *j); /* } */
void json_arr_begin(json_t *j); /* [ */
void json_arr_end(json_t *j); /* ] */
void json_key(json_t *j, const char *key);
void json_str(json_t *j, const char *s); /* NULL -> null */
void json_u64(json_t *j, uint64_t v);
void json_i64(json_t *j, int64_t v);
void json_double(json_t *j, double v);
void json_bool(json_t *j, bool v);
void json_null(json_t *j);
/* Ends the document with a newline. */
void json_finish(json_t *j);

/* {"function":..,"file":..,"line":..,"module":..,"address":"0x.."},
 * with "function_short" after "function" for a native name that has
 * template arguments (the text reports' form, cxxname.h), plus
 * "native_only": true for the site standing for a stack without
 * Python frames under --frames python. */
void json_frame(json_t *j, const frames_t *f, const frame_t *fr);
/* "frames": [json_frame for each of the n frames fr, innermost first],
 * then, for a cut stack only, "cut": "depth" (cut at --depth) or
 * "recorder" (the recorder cut the native stack); the cut markers are not
 * frames. */
void json_frames(json_t *j, const frames_t *f, const frame_t *fr, int n);
/* The fields every JSON report carries: "trace", "truncated",
 * "lost_events" (call inside the top-level object). */
void json_summary_fields(json_t *j, const analysis_summary_t *s);

/* --- command line ------------------------------------------------------ */
/* Prints "heaptrail CMD: MSG" + "Try 'heaptrail help CMD'." to stderr and
 * returns 2 (the usage-error exit code). */
int report_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Option matching for hand-written argument loops: when argv[*i] is
 * `name VALUE` or `name=VALUE`, sets *val, advances *i past the value and
 * returns 1; returns 0 when argv[*i] is another argument; returns -1 (after
 * printing a usage error naming the option) when the value is missing. */
int report_opt(const char *cmd, int argc, char **argv, int *i,
	       const char *name, const char **val);
/* Parses a non-negative integer option value; -1 when invalid. */
long long report_parse_count(const char *s);
/* Parses a time like "2.5s", "1500ms", "300us", "1m", bare seconds;
 * returns microseconds or -1 when invalid. */
long long report_parse_time(const char *s);

#endif /* HEAPTRAIL_REPORT_H */
