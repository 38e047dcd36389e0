/* `heaptrail report TRACE [-n N] [--by KEY] [--include GLOB]...
 * [--exclude GLOB]... [--frames all|python|native] [--no-symbols] [--json]`:
 * one page answering the usual questions (overview.h), sites by `site`
 * unless --by says otherwise.  Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_REPORT_H
#define HEAPTRAIL_CMD_REPORT_H

/* argv[0] = "report".  Returns the exit status (0, 1 error, 2 usage). */
int cmd_report(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_REPORT_H */
