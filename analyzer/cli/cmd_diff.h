/* `heaptrail diff TRACE --from A --to B` and `heaptrail diff OLD NEW
 * [--from A] [--to B]`: tracemalloc's compare_to between two points of one
 * trace or of two traces.  Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_DIFF_H
#define HEAPTRAIL_CMD_DIFF_H

/* argv[0] = "diff".  Returns the exit status (0, 1, 2 usage). */
int cmd_diff(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_DIFF_H */
