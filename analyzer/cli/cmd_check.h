/* `heaptrail check TRACE [--max-leaked BYTES] [--max-peak BYTES]
 * [--baseline OLD.htr --max-growth PCT] [--no-leak-candidates]
 * [--at teardown|end] [--json]`:
 * a CI gate.  Judges the trace against the limits given and prints a short
 * report.  Called by main.c (and, as a child process, by `heaptrail record
 * --check`); not thread-safe. */
#ifndef HEAPTRAIL_CMD_CHECK_H
#define HEAPTRAIL_CMD_CHECK_H

/* Exit statuses: every limit held; a limit was broken; a usage error or a
 * trace that could not be read (nothing was judged). */
#define CHECK_OK 0
#define CHECK_BROKEN 1
#define CHECK_ERROR 2

/* argv[0] = "check".  Returns CHECK_OK, CHECK_BROKEN or CHECK_ERROR. */
int cmd_check(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_CHECK_H */
