/* Point set: any number of point aggregators (point.h) run as one, so a
 * report can precompute many points in one pass without one aggregator
 * slot each (analysis.c holds 16): a snapshot mark goes to every snapshot
 * point, an event only to the time points it passes.  Used by
 * `heaptrail html`.  Not thread-safe. */
#ifndef HEAPTRAIL_POINTSET_H
#define HEAPTRAIL_POINTSET_H

#include <stddef.h>

#include "agg/agg.h"
#include "agg/point.h"

typedef struct pointset pointset_t;

/* A set of the n points pts (still owned by the caller, who frees them
 * after the set).  NULL when out of memory. */
pointset_t *pointset_new(point_t *const *pts, size_t n);
void pointset_free(pointset_t *s);
agg_t *pointset_agg(pointset_t *s);

#endif /* HEAPTRAIL_POINTSET_H */
