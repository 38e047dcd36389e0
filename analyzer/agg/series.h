/* Series aggregator: the heap's live bytes over time (the last value and
 * the maximum at every distinct trace time, halved in resolution when it
 * holds too many points) and the RSS samples.  Feeds `timeline`.  Not
 * thread-safe. */
#ifndef HEAPTRAIL_SERIES_H
#define HEAPTRAIL_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "agg/agg.h"

/* Points kept per series before merging neighbours two by two. */
#define SERIES_MAX_POINTS 65536

typedef struct series_point {
	uint64_t time_us;
	uint64_t last; /* bytes after the last event at this time */
	uint64_t max; /* largest value at this time (or in the merged span) */
} series_point_t;

typedef struct series series_t;

series_t *series_new(void);
void series_free(series_t *s);
agg_t *series_agg(series_t *s);
/* After the run: heap and RSS points in time order (valid until
 * series_free). */
const series_point_t *series_heap(const series_t *s, size_t *n);
const series_point_t *series_rss(const series_t *s, size_t *n);

#endif /* HEAPTRAIL_SERIES_H */
