/* `heaptrail export TRACE --format collapsed|pprof|massif [--at POINT]
 * [-o FILE] [--frames MODE] [--no-symbols]`: the trace in other tools'
 * formats (flamegraph.pl/inferno/speedscope, go tool pprof and the
 * continuous profilers that ingest pprof, ms_print/massif-visualizer).
 * Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_EXPORT_H
#define HEAPTRAIL_CMD_EXPORT_H

/* argv[0] = "export".  Returns the exit status (0, 1, 2 usage). */
int cmd_export(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_EXPORT_H */
