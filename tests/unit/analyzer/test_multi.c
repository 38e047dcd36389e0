/* Reports over several traces of one run (cli/multi.c) and the images of
 * an exec chain (--image, analysis.c), on synthetic traces, unsymbolized:
 * rows merged by key text across processes that load the program at
 * different addresses, exact totals, --by process, the process tree; an
 * earlier image reported with its own events and complete. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_info.h"
#include "cli/cmd_report.h"
#include "cli/cmd_top.h"
#include "model/analysis.h"
#include "read/index.h"
#include "tbuild.h"

static char parent_path[64], child_path[64], chain_path[64];

/* A PROCESS record with a parent pid (tb_process's is 1). */
static void process_of(tb_t *t, uint64_t pid, uint64_t ppid, const char *exe)
{
	tb_bv(t, pid);
	tb_bv(t, ppid);
	tb_bv(t, 1700000000000000000ull);
	tb_bv(t, 4096);
	tb_bstr(t, "0.1.0");
	tb_bstr(t, exe);
	tb_bv(t, 1);
	tb_bstr(t, exe);
	tb_bv(t, 0);
	tb_record(t, HT_REC_PROCESS);
	t->prev = 0;
	t->site = 0;
}

static void save(tb_t *t, char *path)
{
	strcpy(path, "/tmp/heaptrail-multi-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, t->buf, t->len), (ssize_t)t->len);
	close(fd);
	tb_fini(t);
}

/* The parent (pid 10) loads prog at 0x400000: 3 x 100 B at prog+0x1000,
 * 1 x 50 B at prog+0x2000.  Its child (pid 11, parent 10) loads it at
 * 0x7000000: 2 x 100 B at prog+0x1000 (another address, the same key).
 * The chain: image 0 (sh) 2 x 10 B, EXEC, image 1 (prog) 1 x 7 B, END. */
static void write_traces(void)
{
	tb_t t;
	tb_init(&t);
	process_of(&t, 10, 1, "/usr/bin/prog");
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x401001);
	tb_stack1(&t, 2, 0x402001);
	for (uint64_t i = 0; i < 3; i++)
		tb_malloc(&t, 0x100000 + i * 0x100, 100, 1);
	tb_malloc(&t, 0x200000, 50, 2);
	tb_end(&t, 4, 0, 1000);
	save(&t, parent_path);

	tb_init(&t);
	process_of(&t, 11, 10, "/usr/bin/prog");
	tb_modules1(&t, 1, "", 0x7000000, 0, 0x100000);
	tb_stack1(&t, 1, 0x7001001);
	for (uint64_t i = 0; i < 2; i++)
		tb_malloc(&t, 0x100000 + i * 0x100, 100, 1);
	tb_end(&t, 2, 0, 1000);
	save(&t, child_path);

	tb_init(&t);
	process_of(&t, 20, 1, "/bin/sh");
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x401001);
	tb_malloc(&t, 0x100000, 10, 1);
	tb_malloc(&t, 0x100100, 10, 1);
	tb_exec(&t, "/usr/bin/prog");
	process_of(&t, 20, 1, "/usr/bin/prog");
	tb_modules1(&t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(&t, 1, 0x402001);
	tb_malloc(&t, 0x100000, 7, 1);
	tb_end(&t, 1, 0, 500);
	save(&t, chain_path);
}

static void setup(void)
{
	setenv("HEAPTRAIL_NO_SYMBOLS", "1", 1);
	setenv("HEAPTRAIL_NO_INDEX", "1", 1);
	write_traces();
	cr_redirect_stdout();
	cr_redirect_stderr();
}

static void teardown(void)
{
	analysis_select_image(-1);
	unlink(parent_path);
	unlink(child_path);
	unlink(chain_path);
}

#define RUN(fn, ...)                                                   \
	({                                                             \
		char *argv_[] = { __VA_ARGS__, NULL };                 \
		int rc_ = fn((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); \
		fflush(stdout);                                        \
		fflush(stderr);                                        \
		rc_;                                                   \
	})

static char *captured_stdout(void)
{
	static char buf[16384];
	FILE *f = cr_get_redirected_stdout();
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	return buf;
}

Test(multi, top_merges_one_key_across_processes_at_other_addresses,
     .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", parent_path, child_path, "--json", "--at", "end"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "{\"key\":\"prog+0x1000\",\"bytes\":500,\"count\":5,\"average\":100,"
			      "\"processes\":2,\"pids\":[10,11]}"), "%s", out);
	cr_assert(strstr(out, "{\"key\":\"prog+0x2000\",\"bytes\":50,\"count\":1,\"average\":50,"
			      "\"processes\":1,\"pids\":[10]}"), "%s", out);
	cr_assert(strstr(out, "\"heap_bytes\":550,\"heap_blocks\":6,\"total_bytes\":550,\"total_count\":6,\"groups\":2"),
		  "%s", out);
	cr_assert(strstr(out, "\"point\":\"each process's end\""), "%s", out);
}

Test(multi, by_process_is_one_exact_row_per_pid, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_top, "top", parent_path, child_path, "--by", "process", "--at", "peak"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "Top 2 of 2 by process at each process's own peak, summed over 2 processes: 550 B live in 6 blocks\n"
			      "pid 10 (parent 1): size=350 B, count=4, average=88 B, at "), "%s", out);
	cr_assert(strstr(out, "\npid 11 (parent 10): size=200 B, count=2, average=100 B, at "), "%s", out);
}

Test(multi, report_indents_the_child_under_its_parent, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_report, "report", child_path, parent_path), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "\n  pid 10 (parent 1): peak 350 B, end 350 B, 4 events, ended: /usr/bin/prog\n"
			      "    pid 11 (parent 10): peak 200 B, end 200 B, 2 events, ended: /usr/bin/prog\n"),
		  "%s", out);
}

Test(multi, info_sums_every_process, .init = setup, .fini = teardown)
{
	cr_assert_eq(RUN(cmd_info, "info", parent_path, child_path, "--json"), 0);
	char *out = captured_stdout();
	cr_assert(strstr(out, "\"events\":6,\"peak_bytes\":550,\"peak_blocks\":6,"), "%s", out);
	cr_assert(strstr(out, "\"truncated\":0"), "%s", out);
}

Test(multi, an_earlier_image_is_reported_complete_with_its_own_events,
     .init = setup, .fini = teardown)
{
	analysis_t *an;
	char err[256];
	analysis_select_image(0);
	cr_assert_eq(analysis_open(&an, chain_path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	const analysis_summary_t *s = analysis_summary(an);
	const heap_counters_t *c = heap_counters(analysis_heap(an));
	cr_assert_eq(c->allocs, 2);
	cr_assert_eq(c->heap_bytes, 20);
	cr_assert(s->has_end && !s->truncated);
	cr_assert_eq(s->image, 0);
	cr_assert_str_eq(s->exe, "/bin/sh");
	cr_assert_eq(s->images, 2);
	cr_assert_eq(s->nimage_list, 2);
	cr_assert_eq(s->image_list[0].events, 2);
	cr_assert_str_eq(s->image_list[0].exec_path, "/usr/bin/prog");
	cr_assert_eq(s->image_list[1].events, 1);
	cr_assert(s->image_list[1].has_end);
	analysis_free(an);
}

Test(multi, the_final_image_by_default_and_a_missing_one_is_an_error,
     .init = setup, .fini = teardown)
{
	analysis_t *an;
	char err[256];
	cr_assert_eq(analysis_open(&an, chain_path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(heap_counters(analysis_heap(an))->heap_bytes, 7);
	cr_assert_eq(analysis_summary(an)->image, 1);
	analysis_free(an);
	analysis_select_image(2);
	cr_assert_eq(analysis_open(&an, chain_path, err, sizeof(err)), 0, "%s", err);
	cr_assert_lt(analysis_run(an, err, sizeof(err)), 0);
	cr_assert(strstr(err, "--image 2: the trace has 2 images (0 to 1)"), "%s", err);
	analysis_free(an);
}
