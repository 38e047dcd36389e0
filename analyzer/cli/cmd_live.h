/* `heaptrail live TRACE [--by KEY] [-n N] [--include/--exclude GLOB]
 * [--frames MODE] [--no-symbols]`: follows a trace still being written and
 * shows, refreshed every second on the terminal (ncurses), the heap and
 * RSS, the event rate, lost events, a sparkline and the top live sites;
 * keys switch the grouping and the point, pause and quit.  Also the view
 * of `record --live` (record_set_live_view).  Called by main.c; not
 * thread-safe. */
#ifndef HEAPTRAIL_CMD_LIVE_H
#define HEAPTRAIL_CMD_LIVE_H

/* argv[0] = "live".  Returns the exit status (0; 1 when the trace cannot
 * be read; 2 usage). */
int cmd_live(int argc, char **argv);

/* record_live_fn (launcher/record.h): the view over the trace the program
 * `pid` is writing, until it ends (returns 1, *status its wait status) or
 * the user quits (returns 0). */
int live_record_view(const char *trace, int pid, const char *output, int *status);

#endif /* HEAPTRAIL_CMD_LIVE_H */
