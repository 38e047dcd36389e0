/* `heaptrail snapshots TRACE [--json]`: every snapshot mark with its index,
 * label, origin, time, heap size and live blocks.  Called by main.c; not
 * thread-safe. */
#ifndef HEAPTRAIL_CMD_SNAPSHOTS_H
#define HEAPTRAIL_CMD_SNAPSHOTS_H

#include <stdint.h>

#include "model/analysis.h"
#include "render/report.h"
#include "render/json.h"

/* argv[0] = "snapshots".  Returns the exit status (0, 1, 2 usage). */
int cmd_snapshots(int argc, char **argv);

/* "api", "timer", "signal", "exit" or "unknown". */
const char *snapshots_origin_name(uint64_t origin);

/* "snapshots": [{index, label, origin, time_us, heap_bytes, heap_blocks},
 * ...] inside the caller's object (snapshots --json and info --json). */
void snapshots_json(json_t *j, const analysis_summary_t *s);

#endif /* HEAPTRAIL_CMD_SNAPSHOTS_H */
