/* `heaptrail record`: runs a program with libheaptrail.so preloaded, the trace
 * file opened for it, and reports where the trace went.  Called once by
 * analyzer/cli/main.c; installs signal handlers and forks, so it is meant for the
 * single-threaded command process only (not thread-safe). */
#ifndef HEAPTRAIL_RECORD_H
#define HEAPTRAIL_RECORD_H

#include <stddef.h>

/* argv[0] is the subcommand name ("record"); options follow, then an optional
 * "--", then PROGRAM [ARGS...].  Returns the exit status for the command:
 * PROGRAM's own status, 2 on usage/setup errors, 126/127 when PROGRAM cannot
 * be executed; with --check, 1 when `heaptrail check` found a limit broken
 * and 2 when it could not judge the trace.  When PROGRAM died of a signal
 * this re-raises that signal in the wrapper (after the check's report) and
 * does not return (unless the signal fails to kill it). */
int cmd_record(int argc, char **argv);

/* `record --live`: the view, given by the analyzer (cli/cmd_live.c) so
 * that the launcher links none of it.  Called once the program runs, with
 * the trace's path, the program's pid and where its output goes; returns
 * 1 after it reaped the program (its wait status in *status), 0 when the
 * user closed the view first (the wrapper then waits as usual). */
typedef int (*record_live_fn)(const char *trace, int pid, const char *output, int *status);
void record_set_live_view(record_live_fn fn);

/* Parses a signal given as a name ("USR2", "SIGUSR2", case-insensitive) or a
 * number: names_parse_signal (common/names.h), which the library uses for
 * HEAPTRAIL_SNAPSHOT_SIGNAL too.  Returns the signal number, or -EINVAL. */
int record_parse_signal(const char *text);

/* Finds libheaptrail.so ($HEAPTRAIL_LIB, beside this executable, or
 * ../lib); writes its absolute path to buf.  0, or -ENOENT after a line on
 * stderr.  Used by `heaptrail attach` too. */
int record_find_library(char *buf, size_t len);

#endif /* HEAPTRAIL_RECORD_H */
