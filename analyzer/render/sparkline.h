/* A one-line sparkline of the heap at the snapshot marks and the peak
 * ("▁▃▅█▂"), for `info` and `snapshots`; from the summary alone, so it
 * needs no replay (the index holds no time series).  Not thread-safe. */
#ifndef HEAPTRAIL_SPARKLINE_H
#define HEAPTRAIL_SPARKLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/analysis.h"

/* Writes into buf (UTF-8, NUL-terminated) one bar per mark, in time
 * order, with the peak's bar inserted before the first mark not earlier
 * than it; bars are scaled to the peak (the highest value).  At most
 * `max` bars (the marks are sampled evenly beyond that).  Returns buf,
 * or "" when there are no marks. */
char *sparkline_heap(char *buf, size_t len, const analysis_summary_t *s,
		     uint64_t peak_bytes, uint64_t peak_time_us, size_t max);

/* One bar per value v[0..n), scaled to `top` (0: all bars lowest), in
 * UTF-8 block characters, or with `ascii` in "_.,-=+*#" (a terminal
 * without UTF-8).  Bars that do not fit in buf are dropped.  Returns buf. */
char *sparkline_values(char *buf, size_t len, const uint64_t *v, size_t n,
		       uint64_t top, bool ascii);

#endif /* HEAPTRAIL_SPARKLINE_H */
