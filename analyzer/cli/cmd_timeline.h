/* `heaptrail timeline TRACE [--csv] [--json] [--width N] [--height N]`:
 * heap and RSS over time, as a terminal chart, a CSV table or JSON.
 * Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_TIMELINE_H
#define HEAPTRAIL_CMD_TIMELINE_H

/* argv[0] = "timeline".  Returns the exit status (0, 1, 2 usage). */
int cmd_timeline(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_TIMELINE_H */
