/* Reports over several traces of one run (a process tree recorded with
 * --follow-fork / --follow-exec: one trace per process): `top`, `leaks`,
 * `info` and `report` given more than one TRACE, or --by process.  Each
 * trace is analysed on its own (the trace index works per trace); the
 * rows are merged by their key text (file:line, function, traceback...),
 * never by address, since processes may load modules at different
 * addresses.  A combined point is the sum over the processes of each
 * process's own point: "peak" is the sum of every process's own peak
 * (they need not coincide in time), "end" the sum of what each process
 * still held when it ended.  Called by cmd_top.c, cmd_leaks.c,
 * cmd_info.c and cmd_report.c.  Not thread-safe. */
#ifndef HEAPTRAIL_MULTI_H
#define HEAPTRAIL_MULTI_H

#include "cli/opts.h"

/* `top` over o->traces at `at` (a point spec as --at: peak, end, a
 * snapshot, a time) for every process; o->by_process: one row per
 * process.  Returns the exit code. */
int multi_top(const opts_t *o, const char *at);
/* `leaks`: what each process still held at its end, merged by key. */
int multi_leaks(const opts_t *o);
/* `info`: one line per trace and the totals. */
int multi_info(const opts_t *o);
/* `report`: the process tree (pid, parent, command, peak, end, events,
 * status), then the combined peak and leaks by o->by. */
int multi_report(const opts_t *o);

#endif /* HEAPTRAIL_MULTI_H */
