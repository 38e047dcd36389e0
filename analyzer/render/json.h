/* JSON renderer: a streaming JSON writer, the pieces every JSON report
 * shares (frames, summary fields) and the members each report prints
 * from an aggregator's result.  Called by the commands (cli/cmd_*.c) for
 * --json.  Not thread-safe (one json_t per writer). */
#ifndef HEAPTRAIL_JSON_H
#define HEAPTRAIL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agg/growth.h"
#include "agg/highwater.h"
#include "agg/leaks.h"
#include "agg/overview.h"
#include "agg/stats.h"
#include "model/analysis.h"
#include "render/frames.h"

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
/* A report document: json_init on out, "{" and the summary fields; the
 * report's members follow, then json_report_end ("}" and the newline). */
void json_report_begin(json_t *j, FILE *out, const analysis_summary_t *s);
void json_report_end(json_t *j);

/* The renderers write members (or a value) into an open object. */
/* Array of the first k rows: {"key","bytes","count","average","frames"}
 * (+ "bytes_diff","count_diff" for diff).  Call after json_key. */
void json_stats(json_t *j, const stat_set_t *s, size_t k, bool diff);
/* `growth`: "realloc_growth_steps", "copy_growth_steps", "sort",
 * "chain_sites", "chains". */
void json_growth(json_t *j, const growth_result_t *res, frames_t *fs);
/* `growth`: "peak_bytes" ... "highwater" (the steps res holds: JSON
 * reports ask for every step). */
void json_highwater(json_t *j, const highwater_result_t *res, frames_t *fs);
/* `leaks`: "by" ... "candidates". */
void json_leaks(json_t *j, const leaks_result_t *res, frames_t *fs);

/* `report`: "by", "run" {...}, "peak", "leaks" {json_leaks},
 * "growth" {json_growth}, "calls" (by allocation count; bytes are the
 * bytes allocated) and "temporary"; each stats member is
 * {"total_bytes","total_count","groups","stats"}. */
void json_report(json_t *j, const overview_result_t *r, frames_t *fs,
		 report_by_t by);

#endif /* HEAPTRAIL_JSON_H */
