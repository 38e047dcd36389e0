/* `heaptrail leaks TRACE [-n N] [--by KEY] [--include GLOB] [--exclude GLOB]
 * [--frames all|python|native] [--no-symbols] [--json]`: blocks live at the
 * end of the final image by call site, then leak candidates (call sites
 * whose live bytes grew in every interval between snapshots).  Called by
 * main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_LEAKS_H
#define HEAPTRAIL_CMD_LEAKS_H

/* argv[0] = "leaks".  Returns the exit status (0, 1 error, 2 usage). */
int cmd_leaks(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_LEAKS_H */
