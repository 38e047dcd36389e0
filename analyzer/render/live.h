/* The live view's frame as text (`heaptrail live`, `record --live`): the
 * heap and RSS now and at their peak, the events per second, lost events,
 * a sparkline of the last minutes and the top live sites in `top`'s row
 * format.  cli/cmd_live.c computes the values, draws the text with
 * ncurses and prints the last frame when the view ends.  Pure function of
 * its input: thread-safe. */
#ifndef HEAPTRAIL_LIVE_H
#define HEAPTRAIL_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agg/stats.h"
#include "model/analysis.h"
#include "model/heap.h"
#include "render/report.h"

typedef struct live_frame {
	const analysis_summary_t *sum; /* of what was read so far */
	const heap_counters_t *hc;
	uint64_t rss_now; /* bytes of the last RSS sample, 0 = none yet */
	const char *state; /* "following", "paused", "ended: ..." */
	uint64_t events; /* heap events read so far */
	double rate; /* events per second over the last refresh */
	bool have_rate; /* false before the second refresh */
	const uint64_t *spark; /* heap bytes, one per second, oldest first */
	size_t nspark;
	bool ascii; /* the terminal has no UTF-8 */
	const stat_set_t *set; /* ranked rows (stats_rank) */
	size_t k; /* rows to show */
	report_by_t by;
	bool at_peak; /* the rows are the peak's, else now's */
	bool filtered; /* --include/--exclude given */
	const char *output; /* where the program's output goes, or NULL */
	const char *error; /* the follow stopped with this, or NULL */
} live_frame_t;

/* Writes the frame, one line per screen line (the sparkline's line is
 * as wide as nspark bars). */
void live_render(FILE *out, const live_frame_t *f);

#endif /* HEAPTRAIL_LIVE_H */
