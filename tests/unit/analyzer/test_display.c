/* How display frames are shown (frames_set_display, frames_site): strict
 * --frames python, --depth cuts, the recorder's cut, and the site key,
 * on raw frames (no symbolizer). */
#include <criterion/criterion.h>

#include "agg/group.h"
#include "model/analysis.h"
#include "render/frames.h"
#include "render/report.h"
#include "tbuild.h"

#define EXE_IP 0x401235 /* server+0x1234 */
#define LIBC_IP 0x7f0000000101 /* libc.so.6+0x100 */

static analysis_t *run(tb_t *t)
{
	analysis_t *an;
	char err[256];
	cr_assert_eq(analysis_open_mem(&an, t->buf, t->len, "t.htr", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(analysis_run(an, err, sizeof(err)), 0, "%s", err);
	return an;
}

static void seg(tb_t *t, const char *path, uint64_t bias, uint64_t vaddr, uint64_t size)
{
	tb_bstr(t, path);
	tb_bv(t, bias);
	tb_bv(t, 0); /* no build id */
	tb_bv(t, 1);
	tb_bv(t, vaddr);
	tb_bv(t, size);
	tb_bv(t, 5);
}

/* The executable /opt/app/bin/server at 0x400000 and libc. */
static void modules(tb_t *t)
{
	tb_init(t);
	tb_process(t, 1, "/opt/app/bin/server");
	tb_bv(t, 1);
	tb_bv(t, 2);
	seg(t, "", 0x400000, 0x1000, 0x9000);
	seg(t, "/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000000000, 0, 0x10000);
	tb_record(t, HT_REC_MODULES);
}

/* A STACK record with flags (tb_stack writes 0). */
static void stack_flags(tb_t *t, uint64_t id, uint64_t flags, size_t nips,
			const uint64_t *ips, size_t npy, const uint64_t *py)
{
	tb_bv(t, id);
	tb_bv(t, flags);
	tb_bv(t, nips);
	for (size_t i = 0; i < nips; i++)
		tb_bv(t, i ? ht_zigzag((int64_t)(ips[i] - ips[i - 1])) : ips[0]);
	tb_bv(t, npy);
	for (size_t i = 0; i < npy; i++) {
		tb_bv(t, py[2 * i]);
		tb_bv(t, py[2 * i + 1]);
	}
	tb_record(t, HT_REC_STACK);
}

static const char *line(const frames_t *f, const frame_t *fr)
{
	static char buf[256];
	return report_frame_line(buf, sizeof(buf), f, fr);
}

static int get(frames_t *f, analysis_t *an, uint64_t id, const frame_t **fr)
{
	return frames_get(f, stacks_find(analysis_stacks(an), id), fr);
}

Test(display, depth_cuts_after_n_frames_and_marks_the_cut)
{
	tb_t t;
	uint64_t ips[4] = { LIBC_IP, EXE_IP, EXE_IP + 0x10, EXE_IP + 0x20 };
	modules(&t);
	stack_flags(&t, 1, 0, 4, ips, 0, NULL);
	stack_flags(&t, 2, 0, 2, ips, 0, NULL);
	tb_malloc(&t, 0x1000, 1, 1);
	tb_malloc(&t, 0x2000, 1, 2);
	analysis_t *an = run(&t);
	frames_t *f = analysis_frames(an, FRAMES_ALL, true);
	const frame_t *fr;

	frames_set_display(f, true, 2);

	cr_assert_eq(get(f, an, 1, &fr), 3);
	cr_assert_str_eq(line(f, &fr[1]), "server+0x1234");
	cr_assert_eq(fr[2].marker, SYM_MARK_CUT_DEPTH);
	cr_assert_str_eq(line(f, &fr[2]), "<stack cut at --depth 2>");
	cr_assert_eq(get(f, an, 2, &fr), 2, "a stack of exactly 2 frames is whole");
	cr_assert_eq(fr[1].marker, 0);
	frames_set_display(f, true, 0);
	cr_assert_eq(get(f, an, 1, &fr), 4, "depth 0 shows every frame");
	analysis_free(an);
	tb_fini(&t);
}

Test(display, a_stack_cut_by_the_recorder_ends_with_a_marker)
{
	tb_t t;
	uint64_t ips[2] = { LIBC_IP, EXE_IP };
	modules(&t);
	stack_flags(&t, 1, HT_STACK_TRUNCATED, 2, ips, 0, NULL);
	tb_malloc(&t, 0x1000, 1, 1);
	analysis_t *an = run(&t);
	frames_t *f = analysis_frames(an, FRAMES_NATIVE, true);
	const frame_t *fr;

	int n = get(f, an, 1, &fr);

	cr_assert_eq(n, 3);
	cr_assert_eq(fr[2].marker, SYM_MARK_CUT_RECORDER);
	cr_assert_str_eq(line(f, &fr[2]),
			 "<native stack cut by the recorder at 2 frames (record --depth)>");
	analysis_free(an);
	tb_fini(&t);
}

Test(display, site_skips_system_frames_but_never_hides_the_user)
{
	tb_t t;
	uint64_t ips[2] = { LIBC_IP, EXE_IP };
	modules(&t);
	stack_flags(&t, 1, 0, 2, ips, 0, NULL);
	stack_flags(&t, 2, 0, 1, ips, 0, NULL); /* libc only */
	tb_malloc(&t, 0x1000, 10, 1);
	tb_malloc(&t, 0x2000, 20, 2);
	analysis_t *an = run(&t);
	frames_t *f = analysis_frames(an, FRAMES_ALL, true);
	sysframes_t *none = sysframes_new(false);
	frame_t k;
	char buf[256];

	frames_set_sysframes(f, NULL);
	cr_assert_eq(frames_site(f, stacks_find(analysis_stacks(an), 1), &k), 1);
	cr_assert_str_eq(report_frame_key(buf, sizeof(buf), f, &k, BY_SITE), "server+0x1234");
	cr_assert_eq(frames_site(f, stacks_find(analysis_stacks(an), 2), &k), 1);
	cr_assert_str_eq(report_frame_key(buf, sizeof(buf), f, &k, BY_SITE), "libc.so.6+0x100",
			 "all system: the innermost frame");
	frames_set_sysframes(f, none);
	cr_assert_eq(frames_site(f, stacks_find(analysis_stacks(an), 1), &k), 1);
	cr_assert_str_eq(report_frame_key(buf, sizeof(buf), f, &k, BY_SITE), "libc.so.6+0x100",
			 "no rules: the innermost frame");
	frames_set_sysframes(f, NULL);
	sysframes_free(none);
	analysis_free(an);
	tb_fini(&t);
}

Test(display, group_by_site_and_cumulative_site)
{
	tb_t t;
	uint64_t ips[3] = { LIBC_IP, EXE_IP, EXE_IP + 0x10 };
	modules(&t);
	stack_flags(&t, 1, 0, 3, ips, 0, NULL);
	tb_malloc(&t, 0x1000, 10, 1);
	analysis_t *an = run(&t);
	group_t *g = group_new(analysis_frames(an, FRAMES_ALL, true), BY_SITE);
	sidx_t s = stacks_find(analysis_stacks(an), 1);
	const uint32_t *ids;

	cr_assert_str_eq(group_key(g, group_of_stack(g, s)), "server+0x1234");
	int n = group_keys_of_stack(g, s, &ids);

	cr_assert_eq(n, 2, "the two frames of the user's, not libc's");
	cr_assert_str_eq(group_key(g, ids[0]), "server+0x1234");
	cr_assert_str_eq(group_key(g, ids[1]), "server+0x1244");
	group_free(g);
	analysis_free(an);
	tb_fini(&t);
}

Test(display, strict_python_shows_a_native_only_stack_as_its_site)
{
	tb_t t;
	uint64_t ips[2] = { LIBC_IP, EXE_IP }, py[2] = { 1, 7 };
	modules(&t);
	tb_pycode(&t, 1, "/app/main.py", "main", 1);
	stack_flags(&t, 1, 0, 2, ips, 0, NULL);
	stack_flags(&t, 2, 0, 2, ips, 1, py);
	tb_malloc(&t, 0x1000, 1, 1);
	tb_malloc(&t, 0x2000, 1, 2);
	analysis_t *an = run(&t);
	frames_t *f = analysis_frames(an, FRAMES_PYTHON, true);
	const frame_t *fr;
	frame_t k;
	char buf[256];

	cr_assert_eq(get(f, an, 1, &fr), 1);
	cr_assert_eq(fr[0].marker, SYM_MARK_NATIVE_ONLY);
	cr_assert_str_eq(line(f, &fr[0]), "<native: server+0x1234>");
	cr_assert_eq(frames_key(f, stacks_find(analysis_stacks(an), 1), &k), 1);
	cr_assert_str_eq(report_frame_key(buf, sizeof(buf), f, &k, BY_LINENO),
			 "<native: server+0x1234>", "the key agrees with the frames");
	cr_assert_eq(get(f, an, 2, &fr), 1);
	cr_assert_str_eq(line(f, &fr[0]), "main at /app/main.py:7");
	analysis_free(an);
	tb_fini(&t);
}
