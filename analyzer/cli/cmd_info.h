/* `heaptrail info TRACE [--json]`: what a trace contains: program, run
 * time, event counts, stacks, threads, peak and final heap, leaks, RSS,
 * snapshots, lost events, temporary allocations, anomalies, clean end or
 * truncation.  Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_INFO_H
#define HEAPTRAIL_CMD_INFO_H

/* argv[0] = "info".  Returns the exit status (0, 1 bad trace, 2 usage). */
int cmd_info(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_INFO_H */
