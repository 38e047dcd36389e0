/* `heaptrail lines TRACE FILE [--function NAME] [--at POINT | --from A
 * --to B] [--frames MODE] [--no-symbols]`: memory_profiler's line-by-line
 * table for one source file: per line (the innermost frame in FILE, as
 * `top --by lineno` keys it) the live bytes and blocks at the point, the
 * increment between two points, the bytes and blocks allocated over the
 * run, beside the source text when FILE can be read.  Called by main.c;
 * not thread-safe. */
#ifndef HEAPTRAIL_CMD_LINES_H
#define HEAPTRAIL_CMD_LINES_H

/* argv[0] = "lines".  Returns the exit status (0, 1, 2 usage). */
int cmd_lines(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_LINES_H */
