/* Display frames without a symbolizer: module+offset for addresses in a
 * module (ip - 1, the call), raw addresses outside, the recorder's own
 * frames hidden, Python frames merged per --frames mode. */
#include <criterion/criterion.h>

#include "model/analysis.h"
#include "render/frames.h"
#include "render/report.h"
#include "tbuild.h"

static analysis_t *run(tb_t *t)
{
	analysis_t *an;
	char err[256];
	cr_assert_eq(analysis_open_mem(&an, t->buf, t->len, "t.htr", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	return an;
}

static const char *key(const frames_t *f, const frame_t *fr, report_by_t by)
{
	static char buf[256];
	return report_frame_key(buf, sizeof(buf), f, fr, by);
}

static void two_modules(tb_t *t)
{
	tb_init(t);
	tb_process(t, 1, "/opt/app/bin/server");
	/* Generation 1: the executable and the recorder. */
	tb_bv(t, 1);
	tb_bv(t, 2);
	tb_bstr(t, "");
	tb_bv(t, 0x400000);
	tb_bv(t, 0);
	tb_bv(t, 1);
	tb_bv(t, 0x1000);
	tb_bv(t, 0x9000);
	tb_bv(t, 5);
	tb_bstr(t, "/usr/lib/libheaptrail.so");
	tb_bv(t, 0x7f0000000000);
	tb_bv(t, 0);
	tb_bv(t, 1);
	tb_bv(t, 0);
	tb_bv(t, 0x10000);
	tb_bv(t, 5);
	tb_record(t, HT_REC_MODULES);
}

Test(frames, raw_frames_show_module_plus_call_offset)
{
	tb_t t;
	uint64_t ips[3] = { 0x7f0000000100, 0x401235, 0x12345 };
	two_modules(&t);
	tb_stack(&t, 1, 3, ips, 0, NULL);
	tb_malloc(&t, 0x1000, 1, 1);
	analysis_t *an = run(&t);
	frames_t *f = analysis_frames(an, FRAMES_ALL, true);
	const frame_t *fr;
	int n = frames_get(f, stacks_find(analysis_stacks(an), 1), &fr);
	/* The recorder's frame at the top is hidden. */
	cr_assert_eq(n, 2);
	cr_assert_eq(fr[0].address, 0x401235);
	cr_assert_eq(fr[0].offset, 0x1234, "offset of ip - 1 from the bias");
	cr_assert_str_eq(key(f, &fr[0], BY_LINENO), "server+0x1234");
	cr_assert_str_eq(key(f, &fr[0], BY_MODULE), "server");
	cr_assert_str_eq(key(f, &fr[0], BY_FUNCTION), "server+0x1234");
	cr_assert_null(fr[1].module);
	cr_assert_str_eq(key(f, &fr[1], BY_LINENO), "0x12345");
	cr_assert_str_eq(key(f, &fr[1], BY_MODULE), "[unknown]");
	analysis_free(an);
	tb_fini(&t);
}

Test(frames, stack_without_record_has_no_frames)
{
	tb_t t;
	two_modules(&t);
	tb_malloc(&t, 0x1000, 1, 42);
	analysis_t *an = run(&t);
	frames_t *f = analysis_frames(an, FRAMES_ALL, true);
	const frame_t *fr;
	cr_assert_eq(frames_get(f, stacks_find(analysis_stacks(an), 42), &fr), 0);
	cr_assert_str_eq(report_frame_key((char[64]){ 0 }, 64, f, NULL, BY_LINENO), "<no stack>");
	analysis_free(an);
	tb_fini(&t);
}

Test(frames, python_frames_by_mode)
{
	tb_t t;
	uint64_t ip = 0x401235, py[4] = { 1, 12, 2, 30 };
	two_modules(&t);
	tb_pycode(&t, 1, "/app/work.py", "build", 10);
	tb_pycode(&t, 2, "/app/main.py", "main", 1);
	tb_stack(&t, 1, 1, &ip, 2, py);
	tb_malloc(&t, 0x1000, 1, 1);
	analysis_t *an = run(&t);
	sidx_t s = stacks_find(analysis_stacks(an), 1);
	const frame_t *fr;

	frames_t *f = analysis_frames(an, FRAMES_PYTHON, true);
	int n = frames_get(f, s, &fr);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(key(f, &fr[0], BY_LINENO), "/app/work.py:12");
	cr_assert_str_eq(key(f, &fr[0], BY_FUNCTION), "build");
	cr_assert_str_eq(key(f, &fr[1], BY_LINENO), "/app/main.py:30");
	cr_assert_str_eq(key(f, &fr[0], BY_MODULE), "[python]");

	f = analysis_frames(an, FRAMES_NATIVE, true);
	n = frames_get(f, s, &fr);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(key(f, &fr[0], BY_LINENO), "server+0x1234");

	f = analysis_frames(an, FRAMES_ALL, true);
	n = frames_get(f, s, &fr);
	cr_assert_eq(n, 3, "both kinds when no evaluation loop is recognised");
	analysis_free(an);
	tb_fini(&t);
}

/* frames_key must name the frame a grouping by one frame took from the
 * whole display stack: the first Python frame (boundaries skipped), else
 * the first visible native frame. */
Test(frames, key_frame_equals_the_first_python_or_first_frame_by_mode)
{
	tb_t t;
	uint64_t ips[2] = { 0x401235, 0x401300 }, zero[2] = { 0x401235, 0 };
	uint64_t py[4] = { 3, 0, 1, 12 }; /* a boundary, then work.py:12 */
	two_modules(&t);
	tb_pycode(&t, 1, "/app/work.py", "build", 10);
	tb_pycode(&t, 3, "", "<heaptrail:native-boundary>", 0);
	tb_stack(&t, 1, 2, ips, 2, py);
	tb_stack(&t, 2, 2, ips, 0, NULL);
	tb_stack(&t, 3, 2, zero, 2, py); /* a zero ip: the whole stack */
	tb_malloc(&t, 0x1000, 1, 1);
	tb_malloc(&t, 0x2000, 1, 2);
	tb_malloc(&t, 0x3000, 1, 3);
	analysis_t *an = run(&t);
	const int modes[3] = { FRAMES_ALL, FRAMES_PYTHON, FRAMES_NATIVE };
	for (int m = 0; m < 3; m++) {
		frames_t *f = analysis_frames(an, modes[m], true);
		for (uint64_t id = 1; id <= 3; id++) {
			sidx_t s = stacks_find(analysis_stacks(an), id);
			const frame_t *fr;
			frame_t k;
			int n = frames_get(f, s, &fr);
			cr_assert_gt(n, 0);
			int want = 0;
			while (want < n && (fr[want].module || fr[want].address))
				want++;
			if (want == n)
				want = 0;
			cr_assert_eq(frames_key(f, s, &k), 1);
			char a[256];
			snprintf(a, sizeof(a), "%s", key(f, &fr[want], BY_LINENO));
			cr_assert_str_eq(key(f, &k, BY_LINENO), a,
					 "mode %d stack %lu", modes[m], (unsigned long)id);
		}
	}
	frames_t *f = analysis_frames(an, FRAMES_ALL, true);
	frame_t k;
	cr_assert_eq(frames_key(f, stacks_find(analysis_stacks(an), 1), &k), 1);
	cr_assert_str_eq(key(f, &k, BY_LINENO), "/app/work.py:12");
	cr_assert_eq(frames_key(f, stacks_find(analysis_stacks(an), 2), &k), 1);
	cr_assert_str_eq(key(f, &k, BY_LINENO), "server+0x1234");
	analysis_free(an);
	tb_fini(&t);
}
