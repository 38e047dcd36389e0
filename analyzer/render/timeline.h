/* Heap and RSS over time as text: a chart in the spirit of ms_print's
 * graph (':' heap, '@' a snapshot mark's column, '#' the peak's, '.' RSS),
 * a CSV table and JSON.  Called by cmd_timeline.c.  Not thread-safe. */
#ifndef HEAPTRAIL_TIMELINE_H
#define HEAPTRAIL_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agg/series.h"
#include "model/analysis.h"

typedef struct timeline_in {
	const analysis_summary_t *s; /* snapshots, end time, RSS max */
	const series_point_t *heap, *rss;
	size_t nheap, nrss;
	uint64_t peak_bytes, peak_time_us;
} timeline_in_t;

/* Chart of width x height cells (plus axes and the list of marks). */
void timeline_chart(FILE *out, const timeline_in_t *in, int width, int height);
/* kind,time_us,heap_bytes,rss_bytes,index,label: one "heap" row per heap
 * point (heap_bytes = its last value), one "snapshot" row per mark (its
 * heap), one "peak" row; rss_bytes = the last RSS sample at or before. */
void timeline_csv(FILE *out, const timeline_in_t *in);
/* {"heap":[[t,bytes,max]...],"rss":[[t,bytes]...],"snapshots":[...],
 * "peak":{...}} inside the caller's object. */
struct json;
void timeline_json(struct json *j, const timeline_in_t *in);

#endif /* HEAPTRAIL_TIMELINE_H */
