/* Commands end to end on a synthetic trace file, unsymbolized
 * (HEAPTRAIL_NO_SYMBOLS): exact tracemalloc-style lines for top and diff,
 * info and snapshots figures, usage errors exit 2, bad traces exit 1. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cmd_diff.h"
#include "cli/cmd_info.h"
#include "cli/cmd_snapshots.h"
#include "cli/cmd_top.h"
#include "read/index.h"
#include "tbuild.h"

static char trace_path[64];

/* Sites: A = prog+0x1000 (100 x 1000 B), B = prog+0x2000 (10 x 100 B,
 * 5 freed before "two"), C = prog+0x3000 (1 x 50000 B, freed: only at
 * the peak). */
static void write_trace(void)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 7, "/usr/bin/prog");
	tb_clock(&t, 1000000); /* 1 ms: times print with three decimals */
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x401001);
	tb_stack1(&t, 2, 0x402001);
	tb_stack1(&t, 3, 0x403001);
	for (uint64_t i = 0; i < 10; i++)
		tb_malloc(&t, 0x100000 + i * 0x100, 100, 2);
	tb_snapshot(&t, 0, HT_SNAP_API, "one");
	tb_time(&t, 1500000);
	for (uint64_t i = 0; i < 100; i++)
		tb_malloc(&t, 0x200000 + i * 0x1000, 1000, 1);
	tb_malloc(&t, 0x900000, 50000, 3);
	tb_free(&t, 0x900000);
	for (uint64_t i = 0; i < 5; i++)
		tb_free(&t, 0x100000 + i * 0x100);
	tb_snapshot(&t, 1, HT_SNAP_TIMER, "two");
	tb_lost(&t, 3, HT_LOST_NO_MEMORY);
	tb_end(&t, 117, 3, 2000000);
	strcpy(trace_path, "/tmp/heaptrail-cmd-XXXXXX");
	int fd = mkstemp(trace_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, t.buf, t.len), (ssize_t)t.len);
	close(fd);
	tb_fini(&t);
}

static void setup(void)
{
	setenv("HEAPTRAIL_NO_SYMBOLS", "1", 1);
	write_trace();
	cr_redirect_stdout();
	cr_redirect_stderr();
}

static void teardown(void)
{
	char idx[80];
	unlink(trace_path);
	if (index_sidecar_path(trace_path, idx, sizeof(idx)) == 0)
		unlink(idx);
}

#define RUN(fn, ...)                                                   \
	({                                                             \
		char *argv_[] = { __VA_ARGS__, NULL };                 \
		int rc_ = fn((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); \
		fflush(stdout);                                        \
		fflush(stderr);                                        \
		rc_;                                                   \
	})

Test(commands, top_prints_tracemalloc_lines, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--at", "end"), 0);
	cr_assert_stdout_eq_str(
		"warning: 3 events were lost by the recorder; figures undercount\n"
		"Top 2 of 2 by lineno at end (2.000s): 98.1 KiB live in 105 blocks\n"
		"prog+0x1000: size=97.7 KiB, count=100, average=1000 B\n"
		"prog+0x2000: size=500 B, count=5, average=100 B\n");
}

Test(commands, top_at_peak_includes_the_freed_block, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--at", "peak", "-n", "1"), 0);
	cr_assert_stdout_eq_str(
		"warning: 3 events were lost by the recorder; figures undercount\n"
		"Top 1 of 3 by lineno at peak (1.500s): 147 KiB live in 111 blocks\n"
		"prog+0x1000: size=97.7 KiB, count=100, average=1000 B\n"
		"2 other: size=49.8 KiB, count=11\n");
}

static char *captured_stdout(void)
{
	static char buf[8192];
	FILE *f = cr_get_redirected_stdout();
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	return buf;
}

Test(commands, top_json_carries_stats_and_summary, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--json", "--at", "one"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "\"truncated\":false,\"lost_events\":3,\"at\":\"one\""), "%s", out);
	cr_assert(strstr(out, "\"stats\":[{\"key\":\"prog+0x2000\",\"bytes\":1000,\"count\":10,\"average\":100,"
			  "\"frames\":[{\"function\":null,\"file\":null,\"line\":0,\"module\":\"prog\",\"address\":\"0x402001\"}]}]"), "%s", out);
}

Test(commands, info_json_has_the_contract_fields, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_info, "info", trace_path, "--json"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "\"events\":{\"alloc\":111,\"free\":6,\"realloc\":0,"), "%s", out);
	cr_assert(strstr(out, "\"peak_bytes\":151000,"), "%s", out);
	cr_assert(strstr(out, "\"end_bytes\":100500,"), "%s", out);
	cr_assert(strstr(out, "\"leaked_bytes\":100500,\"leaked_blocks\":105,"), "%s", out);
	cr_assert(strstr(out, "\"lost_events\":3"), "%s", out);
	cr_assert(strstr(out, "\"truncated\":false"), "%s", out);
	cr_assert(strstr(out, "\"temporary\":{\"count\":1,\"bytes\":50000,"), "%s", out);
	cr_assert(strstr(out, "\"snapshots\":[{\"index\":0,\"label\":\"one\",\"origin\":\"api\",\"time_us\":0,\"heap_bytes\":1000,\"heap_blocks\":10},"), "%s", out);
}

Test(commands, diff_prints_statistic_diff_lines, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_diff, "diff", trace_path, "--from", "one", "--to", "two"), 0);
	cr_assert_stdout_eq_str(
		"warning: 3 events were lost by the recorder; figures undercount\n"
		"Top 2 of 2 differences by lineno, snapshot #0 'one' at 0.000s -> snapshot #1 'two' at 1.500s: size=98.1 KiB (+97.2 KiB), count=105 (+95)\n"
		"prog+0x1000: size=97.7 KiB (+97.7 KiB), count=100 (+100), average=1000 B\n"
		"prog+0x2000: size=500 B (-500 B), count=5 (-5), average=100 B\n");
}

Test(commands, snapshots_lists_marks_with_heap, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_snapshots, "snapshots", trace_path), 0);
	cr_assert_stdout_eq_str(
		"warning: 3 events were lost by the recorder; figures undercount\n"
		"index  label                    origin        time         heap     blocks\n"
		"    0  one                      api         0.000s       1000 B         10\n"
		"    1  two                      timer       1.500s     98.1 KiB        105\n"
		/* The sparkline: "one" (1000 B), the peak (151000 B at 1.5 s,
		 * before "two"), "two" (100500 B), in 8 levels of the peak. */
		"heap: ▁█▆ (the marks and the peak; █ = 147 KiB)\n");
}

Test(commands, usage_errors_exit_2, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--by", "colour"), 2);
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--frobnicate"), 2);
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "-n"), 2);
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--by", "traceback", "--cumulative"), 2);
	cr_assert_eq(RUN(cmd_diff, "diff", trace_path), 2);
	cr_assert_eq(RUN(cmd_info, "info"), 2);
	cr_assert_stderr_eq_str(
		"heaptrail top: --by: unknown key 'colour' (lineno, filename, function, traceback, module, site, type)\n"
		"Try 'heaptrail help top'.\n"
		"heaptrail top: unknown option '--frobnicate'\n"
		"Try 'heaptrail help top'.\n"
		"heaptrail top: option '-n' needs a value\n"
		"Try 'heaptrail help top'.\n"
		"heaptrail top: --cumulative cannot be used with --by traceback\n"
		"Try 'heaptrail help top'.\n"
		"heaptrail diff: one trace needs --from SNAPSHOT (and --to, default end); or give OLD.htr NEW.htr\n"
		"Try 'heaptrail help diff'.\n"
		"heaptrail info: missing TRACE\n"
		"Try 'heaptrail help info'.\n");
}

Test(commands, unknown_snapshot_exits_1, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--at", "three"), 1);
}

Test(commands, temporary_lists_sites_freed_before_any_other_allocation, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", trace_path, "--temporary"), 0);
	cr_assert_stdout_eq_str(
		"warning: 3 events were lost by the recorder; figures undercount\n"
		"Top 1 temporary allocation sites by lineno (allocations freed before any other allocation): 48.8 KiB in 1 allocations\n"
		"prog+0x3000: size=48.8 KiB, count=1, average=48.8 KiB\n");
}

Test(commands, diff_of_two_traces_matches_sites_by_key, .init = setup, .fini = teardown)
{
	/* The same trace against itself: every site unchanged. */
	cr_assert_eq(RUN(cmd_diff, "diff", trace_path, trace_path, "--by", "module", "--json"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "\"total_bytes_diff\":0,\"total_count_diff\":0,\"groups\":1,"
			  "\"stats\":[{\"key\":\"prog\",\"bytes\":100500,\"count\":105,\"average\":957.1428571428571,"
			  "\"bytes_diff\":0,\"count_diff\":0,"), "%s", out);
}

Test(commands, info_says_when_the_trace_is_truncated, .init = setup, .fini = teardown)
{
	/* Cut the file inside its END record. */
	FILE *f = fopen(trace_path, "r+");
	cr_assert(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fclose(f);
	cr_assert_eq(truncate(trace_path, len - 5), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "is truncated (no END record)"), "%s", out);
	cr_assert(strstr(out, "end:          TRUNCATED"), "%s", out);
}

/* A program that crashed: its crash handler wrote SIGNAL, then END. */
static void write_crashed_trace(void)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 7, "/usr/bin/prog");
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x401001);
	tb_malloc(&t, 0x100000, 64, 1);
	tb_time(&t, 250000);
	tb_signal(&t, SIGSEGV, 250000);
	tb_end(&t, 1, 0, 250000);
	FILE *f = fopen(trace_path, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(t.buf, 1, t.len, f), t.len);
	fclose(f);
	tb_fini(&t);
}

Test(commands, info_names_the_signal_the_program_died_of, .init = setup, .fini = teardown)
{
	write_crashed_trace();
	/* The second run reads the index the first one wrote. */
	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path, "--json"), 0);
	char *out = captured_stdout();
	/* No CLOCK record: times are the writer's cycles, printed to 10 ms. */
	const char *line = "end:          the program died of SIGSEGV at 0.25s; every event before "
			   "it was written (SIGNAL and END records)\n";
	char *first = strstr(out, line);
	cr_assert(first, "%s", out);
	cr_assert(strstr(first + 1, line), "the index lost the signal:\n%s", out);
	cr_assert(strstr(out, "\"clean_end\":false,\"fatal_signal\":11,\"fatal_signal_name\":\"SIGSEGV\""),
		  "%s", out);
	cr_assert(strstr(out, "\"truncated\":false"), "%s", out);
	cr_assert_not(strstr(out, "TRUNCATED"), "%s", out);
}

Test(commands, info_json_of_a_clean_end_has_no_signal, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_info, "info", trace_path, "--json"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "\"clean_end\":true,\"fatal_signal\":null,\"fatal_signal_name\":null"),
		  "%s", out);
}

/* Issue 14 defect 8: info prints the recorder's own peak memory (the
 * MEMORY record before END); the index keeps it. */
Test(commands, info_prints_the_recorders_peak_memory, .init = setup, .fini = teardown)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 7, "/usr/bin/prog");
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x401001);
	tb_malloc(&t, 0x100000, 64, 1);
	tb_memory(&t, 3u << 20, 1u << 20);
	tb_end(&t, 1, 0, 1000);
	FILE *f = fopen(trace_path, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(t.buf, 1, t.len, f), t.len);
	fclose(f);
	tb_fini(&t);

	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path, "--json"), 0);
	char *out = captured_stdout();
	const char *line = "recorder memory: peak 3072 KiB mapped\n";
	char *first = strstr(out, line);
	cr_assert(first, "%s", out);
	cr_assert(strstr(first + 1, line), "the index lost it:\n%s", out);
	cr_assert(strstr(out, "\"recorder_memory_peak\":3145728"), "%s", out);
}

/* An attached trace: a free of a block from before the attach is counted
 * as such, not as an anomaly; info says so, and so does the index. */
Test(commands, info_of_an_attached_trace_counts_frees_from_before_the_attach, .init = setup,
     .fini = teardown)
{
	tb_t t;
	tb_init(&t);
	tb_process(&t, 7, "/usr/bin/prog");
	tb_attach(&t, 0, 99);
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x401001);
	tb_free(&t, 0x200000); /* allocated before the attach */
	tb_free(&t, 0x200040);
	tb_malloc(&t, 0x100000, 64, 1);
	tb_detach(&t, 500);
	tb_end(&t, 3, 0, 1000);
	FILE *f = fopen(trace_path, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(t.buf, 1, t.len, f), t.len);
	fclose(f);
	tb_fini(&t);

	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0); /* from the index */
	cr_assert_eq(RUN(cmd_info, "info", trace_path, "--json"), 0);
	char *out = captured_stdout();
	const char *line = "pre-attach:   2 frees and 0 reallocs of blocks allocated before the attach\n";
	char *first = strstr(out, line);
	cr_assert(first, "%s", out);
	cr_assert(strstr(first + 1, line), "the index lost it:\n%s", out);
	cr_assert(strstr(out, "the trace began at `heaptrail attach`"), "%s", out);
	cr_assert(strstr(out, "end:          clean: detached at"), "%s", out);
	cr_assert(strstr(out, "\"frees_before_attach\":2,\"reallocs_before_attach\":0"), "%s", out);
	cr_assert(strstr(out, "\"detached_us\":500"), "%s", out);
}

/* A trace from before the MEMORY record reads as before, and says so. */
Test(commands, info_of_a_trace_without_recorder_memory_says_so, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_info, "info", trace_path), 0);
	cr_assert_eq(RUN(cmd_info, "info", trace_path, "--json"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "recorder memory: not recorded (an older trace, or one cut short)\n"),
		  "%s", out);
	cr_assert(strstr(out, "\"recorder_memory_peak\":null"), "%s", out);
	cr_assert(strstr(out, "lost events:  3\n"), "%s", out); /* the rest reads as before */
}
