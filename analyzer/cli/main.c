/* heaptrail: the command line.  Dispatches `heaptrail COMMAND ...` to the
 * command modules (record, live, report, info, top, snapshots, diff, leaks,
 * growth, export, timeline, lines, html, check).
 * Single-threaded. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "heaptrail_format.h"

#include "cli/args.h"
#include "cli/cmd_check.h"
#include "cli/cmd_diff.h"
#include "cli/cmd_export.h"
#include "cli/cmd_growth.h"
#include "cli/cmd_html.h"
#include "cli/cmd_info.h"
#include "cli/cmd_leaks.h"
#include "cli/cmd_live.h"
#include "cli/cmd_lines.h"
#include "cli/cmd_report.h"
#include "cli/cmd_snapshots.h"
#include "cli/cmd_timeline.h"
#include "cli/cmd_top.h"
#include "launcher/attach.h"
#include "launcher/record.h"
#include "model/analysis.h"
#include "read/notices.h"

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* synopsis lines */
	const char *summary;
} command_t;

static const command_t commands[] = {
	{ "record", cmd_record,
	  "heaptrail record [-o FILE] [--depth N] [--snapshot-every SECONDS]\n"
	  "                 [--snapshot-signal SIG] [--follow-fork] [--follow-exec]\n"
	  "                 [--no-python-malloc] [--quiet] [--force] [--check 'CHECK OPTIONS']\n"
	  "                 [--live [--live-output FILE]] [--] PROGRAM [ARGS...]\n"
	  "  --live: the live view on this terminal while PROGRAM runs, its output in\n"
	  "  FILE (default TRACE.out; a /dev/pts/N works), its input /dev/null\n"
	  "  --check: then `heaptrail check TRACE CHECK OPTIONS`, report on stderr;\n"
	  "  exit 1 when a limit is broken, 2 when it cannot judge, else PROGRAM's",
	  "run PROGRAM with the recorder and write a trace (.htr)" },
	{ "attach", cmd_attach,
	  "heaptrail attach PID [-o FILE] [--duration SECONDS] [--depth N]\n"
	  "                 [--snapshot-every SECONDS] [--snapshot-signal SIG] [--quiet]\n"
	  "  loads the recorder into the running process PID (with gdb) and records\n"
	  "  until Ctrl-C, the end of --duration, `heaptrail detach PID` or its exit;\n"
	  "  the process runs on afterwards, unchanged",
	  "record a running process, then leave it running" },
	{ "detach", cmd_detach, "heaptrail detach PID",
	  "stop a `heaptrail attach` recording; the process runs on" },
	{ "report", cmd_report,
	  "heaptrail report TRACE... [-n N] [--by KEY] [--include GLOB]... [--exclude GLOB]...\n"
	  "                 [--frames all|python|native] [--no-symbols] [--json]\n"
	  "                 [--full-names] [--depth N] [--system GLOB]...\n"
	  "                 [--at teardown|end] [--startup]\n"
	  "  KEY: site (default), lineno, filename, function, traceback, module;\n"
	  "  -n: rows per section (5)\n"
	  "  --at: a Python program's end: teardown (default: its atexit point) or\n"
	  "  end (after finalization); --startup: interpreter start-up's own call\n"
	  "  sites instead of one <interpreter startup> row\n"
	  "  several TRACEs (one run's, e.g. run.*.htr): the process tree (pid, parent,\n"
	  "  peak, end, events, status), then the sum of each process's peak and end",
	  "one page: the run, the peak, leak candidates, growth, most calls, temporaries" },
	{ "live", cmd_live,
	  "heaptrail live TRACE [--by KEY] [-n N] [--include GLOB]... [--exclude GLOB]...\n"
	  "               [--frames all|python|native] [--no-symbols]\n"
	  "  follows a trace still being written, refreshed every second;\n"
	  "  keys: g (or s, l, f, t) grouping, p now/peak, space pause, q quit",
	  "live view of a running program: heap, RSS, events/s, top sites" },
	{ "info", cmd_info, "heaptrail info TRACE... [--json] [--image N]\n"
	  "  an exec chain: lists its images; several TRACEs: one line per process",
	  "what the trace holds: events, peak and final heap, leaks, lost events" },
	{ "top", cmd_top,
	  "heaptrail top TRACE... [--at peak|end|SNAPSHOT|TIME] [--by KEY] [--cumulative]\n"
	  "              [-n N] [--include GLOB]... [--exclude GLOB]... [--temporary]\n"
	  "              [--frames all|python|native] [--no-symbols] [--json]\n"
	  "              [--full-names] [--depth N] [--system GLOB]... [--startup] [--per N]\n"
	  "  KEY: lineno (default), filename, function, traceback, module, site, type\n"
	  "  site: the first frame not in libc, libstdc++, the interpreter... (or GLOB)\n"
	  "  type: what a Python allocation is (int, list items array, dict keys table...)\n"
	  "  --per N: each row's bytes divided by N as well (bytes per element)\n"
	  "  --at: the peak by default; end: what is still live at the end\n"
	  "  SNAPSHOT: label or index (see `heaptrail snapshots`); TIME: 2.5s, 1500ms\n"
	  "  several TRACEs (one run's): rows summed over the processes, each at its own\n"
	  "  --at point; --by process: one row per process",
	  "live memory at a point, by call site (like tracemalloc statistics)" },
	{ "snapshots", cmd_snapshots, "heaptrail snapshots TRACE [--json]",
	  "list the snapshot marks: index, label, origin, time, heap size" },
	{ "diff", cmd_diff,
	  "heaptrail diff TRACE --from SNAPSHOT [--to SNAPSHOT|end|peak|TIME] [options]\n"
	  "heaptrail diff OLD.htr NEW.htr [--from A] [--to B] [options]\n"
	  "  options: --by KEY, -n N, --cumulative, --include/--exclude GLOB,\n"
	  "           --frames all|python|native, --no-symbols, --json,\n"
	  "           --full-names, --depth N, --system GLOB",
	  "compare two points of a trace, or two traces (like compare_to)" },
	{ "leaks", cmd_leaks,
	  "heaptrail leaks TRACE... [-n N] [--by KEY] [--include GLOB] [--exclude GLOB]\n"
	  "                [--frames all|python|native] [--no-symbols] [--json]\n"
	  "                [--full-names] [--depth N] [--system GLOB]...\n"
	  "                [--at teardown|end] [--startup]\n"
	  "  --at, --startup: as in `heaptrail help report`\n"
	  "  several TRACEs (one run's): what each process held at its end, summed",
	  "memory still allocated at the end, by call site, and leak candidates" },
	{ "growth", cmd_growth,
	  "heaptrail growth TRACE [-n N] [--by KEY] [--step PCT] [--step-min BYTES]\n"
	  "                 [--steps all|N] [--sort bytes|steps]\n"
	  "                 [--include GLOB] [--exclude GLOB]\n"
	  "                 [--frames all|python|native] [--no-symbols] [--json]\n"
	  "                 [--full-names] [--depth N] [--system GLOB]...\n"
	  "  -n: chains and (text) high-water steps shown; --by: key of the\n"
	  "  high-water sites; --step/--step-min: a step closes when the heap\n"
	  "  exceeds the previous mark by PCT percent and BYTES; --steps: steps\n"
	  "  printed per chain (8; JSON has all); --sort: chains by final size x\n"
	  "  copies (bytes, the default) or by steps; --include/--exclude: chains\n"
	  "  whose call site's file matches",
	  "how the heap grew: growth chains and the steps to the high-water mark" },
	{ "export", cmd_export,
	  "heaptrail export TRACE --format collapsed|pprof|massif [--at POINT] [-o FILE]\n"
	  "                 [--frames all|python|native] [--no-symbols]\n"
	  "  collapsed: folded stacks weighted by live bytes at --at (default peak, as top),\n"
	  "             for flamegraph.pl, inferno, speedscope\n"
	  "  pprof: gzipped profile.proto: alloc_objects/alloc_space over the run,\n"
	  "         inuse_objects/inuse_space at --at; go tool pprof, Pyroscope, Parca\n"
	  "  massif: massif.out of the snapshot marks and the peak, for ms_print",
	  "the trace in other tools' formats: folded stacks, pprof, massif" },
	{ "timeline", cmd_timeline,
	  "heaptrail timeline TRACE [--csv | --json] [--width N] [--height N]\n"
	  "  chart: ':' heap, '.' RSS, '@' a snapshot mark, '#' the peak",
	  "heap and RSS over time: a chart with the snapshot marks and the peak" },
	{ "lines", cmd_lines,
	  "heaptrail lines TRACE FILE [--function NAME] [--at POINT | --from A [--to B]]\n"
	  "                [--frames all|python|native] [--no-symbols]",
	  "memory_profiler-style table of one source file: live, increment, allocated per line" },
	{ "html", cmd_html,
	  "heaptrail html TRACE [-o FILE.html] [--frames all|python|native] [--no-symbols]\n"
	  "  one self-contained page (no network): heap/RSS timeline, flamegraphs of\n"
	  "  live memory at the peak, the end, the marks and 3 times, allocation\n"
	  "  counts; top, leak and growth tables",
	  "an interactive HTML report: timeline, flamegraphs, tables" },
	{ "check", cmd_check,
	  "heaptrail check TRACE [--max-leaked BYTES] [--max-peak BYTES]\n"
	  "                [--baseline OLD.htr --max-growth PCT] [--no-leak-candidates]\n"
	  "                [--at teardown|end] [--json]\n"
	  "  BYTES: 4096, 24MB, 512kB (powers of 1000), 1MiB, 2GiB (of 1024)\n"
	  "  leaked: live at the end, less <interpreter startup>; a Python\n"
	  "  program's at its teardown mark (its own code done), or after\n"
	  "  finalization with --at end; peak: the heap's high-water mark;\n"
	  "  --max-growth: TRACE's peak over OLD.htr's, in percent\n"
	  "  exit 0: every limit held; 1: a limit broken; 2: usage error or\n"
	  "  unreadable trace",
	  "CI gate: exit 1 with a short report when a heap limit is broken" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command_t *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: heaptrail COMMAND [ARGS...]\n\n"
		"heaptrail records every heap allocation of a program and answers\n"
		"tracemalloc's questions about it offline.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-10s %s\n", "help", "help [COMMAND]: show usage");
	fprintf(out, "\nheaptrail --version prints the version.  Every report takes --json, and\n"
		     "--image N: image N of an exec chain (0 = the first; `heaptrail info` lists them).\n"
		     "top, info, report and leaks take several traces of one run (run.*.htr).\n");
}

static int help(int argc, char **argv)
{
	/* `help --help` is a request for help too. */
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	const command_t *c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "heaptrail help: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	printf("usage: %s\n\n%s\n", c->usage, c->summary);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("heaptrail %s (trace format %u)\n", HEAPTRAIL_VERSION,
		       HT_FORMAT_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0)
		return help(argc - 1, argv + 1);
	const command_t *c = find(cmd);
	if (!c) {
		fprintf(stderr, "heaptrail: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	/* `heaptrail top --help` etc. (record parses its own options). */
	if (c->run != cmd_record)
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				printf("usage: %s\n\n%s\n", c->usage, c->summary);
				return 0;
			}
	/* --image N: every report command, taken out here (record's
	 * arguments are the program's). */
	if (c->run != cmd_record) {
		int k = 2;
		for (int i = 2; i < argc; i++) {
			const char *v = NULL;
			if (strcmp(argv[i], "--image") == 0) {
				if (i + 1 >= argc)
					return args_usage_error(cmd, "--image: missing image number (see `heaptrail info`)");
				v = argv[++i];
			} else if (strncmp(argv[i], "--image=", 8) == 0) {
				v = argv[i] + 8;
			} else {
				argv[k++] = argv[i];
				continue;
			}
			long long n = args_parse_count(v);
			if (n < 0 || n > INT32_MAX)
				return args_usage_error(cmd, "--image: expected an image number (0 = the first; see `heaptrail info`), not '%s'", v);
			analysis_select_image((int32_t)n);
		}
		argv[k] = NULL;
		argc = k;
	}
	record_set_live_view(live_record_view);
	int rc = c->run(argc - 1, argv + 1);
	notices_save();
	return rc;
}
