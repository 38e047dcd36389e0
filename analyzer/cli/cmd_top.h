/* `heaptrail top TRACE [--at peak|end|SNAPSHOT|TIME] [--by KEY]
 * [--cumulative] [-n N] [--include/--exclude GLOB] [--temporary] [--frames
 * MODE] [--no-symbols] [--json]`: live memory at a point grouped like
 * Snapshot.statistics().  Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_TOP_H
#define HEAPTRAIL_CMD_TOP_H

/* argv[0] = "top".  Returns the exit status (0, 1, 2 usage). */
int cmd_top(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_TOP_H */
