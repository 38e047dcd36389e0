/* `heaptrail leaks TRACE [-n N] [--by KEY] [--include GLOB]...
 * [--exclude GLOB]... [--frames all|python|native] [--no-symbols] [--json]`:
 * live blocks at the end by call site, then leak candidates (leaks.h).
 * Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_LEAKS_H
#define HEAPTRAIL_CMD_LEAKS_H

/* argv[0] = "leaks".  Returns the exit status (0, 1 error, 2 usage). */
int cmd_leaks(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_LEAKS_H */
