/* The trace index: an analysis loaded from it equals the full replay in
 * every figure it serves (summary, counters, per-stack totals at the end
 * and the peak, stack tables); a stale, corrupt or disabled index is never
 * used; a truncated trace is indexed as what it holds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/analysis.h"
#include "read/index.h"
#include "agg/point.h"
#include "tbuild.h"
#include "cli/args.h"
#include "cli/run.h"

static char trace_path[64];
static char index_path[80];

/* Two images (the first is dropped at exec), three threads, snapshots,
 * a warning, lost events, an RSS sample, Python frames, a redefined stack
 * and a stack id named by events but never defined. */
static void build(tb_t *t, bool end, uint64_t extra)
{
	tb_init(t);
	tb_process(t, 7, "/usr/bin/first");
	tb_modules1(t, 1, "", 0x400000, 0, 0x100000);
	tb_stack1(t, 1, 0x401001);
	tb_malloc(t, 0x100000, 999, 1);
	tb_exec(t, "/usr/bin/prog");
	tb_process(t, 7, "/usr/bin/prog");
	tb_modules1(t, 1, "", 0x400000, 0, 0x100000);
	tb_pycode(t, 1, "app.py", "main", 1);
	uint64_t ips[] = { 0x401001, 0x402001 }, py[] = { 1, 12 };
	tb_stack(t, 1, 2, ips, 1, py);
	tb_stack1(t, 2, 0x402001);
	tb_thread_rec(t, 0, 100, "main");
	for (uint64_t i = 0; i < 20; i++)
		tb_malloc(t, 0x100000 + i * 0x100, 100 + i, 1 + i % 2);
	tb_snapshot(t, 0, HT_SNAP_API, "one");
	tb_time(t, 1000);
	tb_thread(t, 1);
	tb_malloc(t, 0x900000, 50000, 9); /* stack 9: never defined */
	tb_free(t, 0x900000);
	tb_modules1(t, 2, "", 0x400000, 0, 0x200000);
	tb_stack1(t, 3, 0x403001);
	tb_stack1(t, 2, 0x402011); /* redefined */
	tb_thread(t, 2);
	for (uint64_t i = 0; i < 10; i++)
		tb_free(t, 0x100000 + i * 0x100);
	tb_realloc(t, 0x100000 + 15 * 0x100, 0x700000, 7000 + extra, 3);
	tb_free(t, 0x55);
	tb_rss(t, 1 << 20);
	tb_warning(t, "a warning");
	tb_snapshot(t, 1, HT_SNAP_TIMER, "two");
	tb_lost(t, 3, HT_LOST_NO_MEMORY);
	tb_time(t, 500);
	if (end)
		tb_end(t, 40, 3, 2000);
}

static void write_file(const char *path, const tb_t *t)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, t->buf, t->len), (ssize_t)t->len);
	close(fd);
}

static void write_trace(bool end, uint64_t extra)
{
	tb_t t;
	build(&t, end, extra);
	write_file(trace_path, &t);
	tb_fini(&t);
}

static void setup(void)
{
	unsetenv("HEAPTRAIL_NO_INDEX");
	strcpy(trace_path, "/tmp/heaptrail-idx-XXXXXX");
	int fd = mkstemp(trace_path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(index_sidecar_path(trace_path, index_path, sizeof(index_path)), 0);
	write_trace(true, 0);
}

static void teardown(void)
{
	unlink(trace_path);
	unlink(index_path);
}

static void assert_same(analysis_t *a, analysis_t *b)
{
	const analysis_summary_t *x = analysis_summary(a), *y = analysis_summary(b);
	cr_assert_str_eq(x->path, y->path);
	cr_assert_eq(x->pid, y->pid);
	cr_assert_eq(x->ppid, y->ppid);
	cr_assert_eq(x->start_unix_ns, y->start_unix_ns);
	cr_assert_str_eq(x->exe, y->exe);
	cr_assert_str_eq(x->cmdline, y->cmdline);
	cr_assert_str_eq(x->recorder_version, y->recorder_version);
	cr_assert_eq(x->proc_flags, y->proc_flags);
	cr_assert_eq(x->images, y->images);
	cr_assert_eq(x->end_time_us, y->end_time_us);
	cr_assert_eq(x->threads, y->threads);
	cr_assert_eq(x->lost_events, y->lost_events);
	cr_assert_eq(x->rss_max, y->rss_max);
	cr_assert_eq(x->rss_max_time_us, y->rss_max_time_us);
	cr_assert_eq(x->warnings, y->warnings);
	cr_assert_eq(!x->last_warning, !y->last_warning);
	if (x->last_warning)
		cr_assert_str_eq(x->last_warning, y->last_warning);
	cr_assert_eq(x->truncated, y->truncated);
	cr_assert_eq(x->has_end, y->has_end);
	cr_assert_eq(x->fatal_signal, y->fatal_signal);
	cr_assert_eq(x->end_events, y->end_events);
	cr_assert_eq(x->file_bytes, y->file_bytes);
	cr_assert_eq(x->format_version, y->format_version);
	cr_assert_eq(x->nsnapshots, y->nsnapshots);
	for (size_t i = 0; i < x->nsnapshots; i++) {
		const analysis_snapshot_t *p = &x->snapshots[i], *q = &y->snapshots[i];
		cr_assert_eq(p->index, q->index);
		cr_assert_eq(p->origin, q->origin);
		cr_assert_str_eq(p->label, q->label);
		cr_assert_eq(p->time_us, q->time_us);
		cr_assert_eq(p->heap_bytes, q->heap_bytes);
		cr_assert_eq(p->heap_blocks, q->heap_blocks);
	}
	const heap_t *ha = analysis_heap(a), *hb = analysis_heap(b);
	cr_assert_eq(memcmp(heap_counters(ha), heap_counters(hb), sizeof(heap_counters_t)), 0);
	size_t na, nb;
	const heap_stack_stat_t *sa = heap_stack_stats(ha, &na);
	const heap_stack_stat_t *sb = heap_stack_stats(hb, &nb);
	cr_assert_eq(na, nb);
	cr_assert_eq(memcmp(sa, sb, na * sizeof(*sa)), 0);
	for (size_t i = 0; i < na; i++) {
		uint64_t b1, c1, b2, c2;
		heap_stack_at_peak(ha, (sidx_t)i, &b1, &c1);
		heap_stack_at_peak(hb, (sidx_t)i, &b2, &c2);
		cr_assert_eq(b1, b2);
		cr_assert_eq(c1, c2);
	}
	const stacks_t *ka = analysis_stacks(a), *kb = analysis_stacks(b);
	cr_assert_eq(stacks_count(ka), stacks_count(kb));
	cr_assert_str_eq(stacks_exe(ka), stacks_exe(kb));
	for (size_t i = 0; i < stacks_count(ka); i++) {
		const stack_info_t *p = stacks_get(ka, (sidx_t)i), *q = stacks_get(kb, (sidx_t)i);
		cr_assert_eq(p->id, q->id);
		cr_assert_eq(p->flags, q->flags);
		cr_assert_eq(p->generation, q->generation);
		cr_assert_eq(p->defined, q->defined);
		cr_assert_eq(p->nips, q->nips);
		cr_assert_eq(p->npy, q->npy);
		if (p->nips)
			cr_assert_eq(memcmp(p->ips, q->ips, p->nips * sizeof(*p->ips)), 0);
		if (p->npy)
			cr_assert_eq(memcmp(p->py, q->py, p->npy * sizeof(*p->py)), 0);
	}
	const pycode_info_t *pa = stacks_pycode(ka, 1), *pb = stacks_pycode(kb, 1);
	cr_assert(pa && pb);
	cr_assert_str_eq(pa->file, pb->file);
	cr_assert_str_eq(pa->function, pb->function);
	cr_assert_eq(stacks_generations(ka), stacks_generations(kb));
	for (size_t g = 0; g < stacks_generations(ka); g++) {
		const module_info_t *ma, *mb;
		cr_assert_eq(stacks_generation_id(ka, g), stacks_generation_id(kb, g));
		size_t n = stacks_generation_modules(ka, g, &ma);
		cr_assert_eq(n, stacks_generation_modules(kb, g, &mb));
		for (size_t i = 0; i < n; i++) {
			cr_assert_eq(ma[i].lo, mb[i].lo);
			cr_assert_eq(ma[i].hi, mb[i].hi);
		}
	}
}

static analysis_t *replay(void)
{
	setenv("HEAPTRAIL_NO_INDEX", "1", 1);
	analysis_t *an = run_file(trace_path, NULL, 0);
	unsetenv("HEAPTRAIL_NO_INDEX");
	cr_assert_not_null(an);
	cr_assert_not(analysis_from_index(an));
	return an;
}

static bool index_exists(void)
{
	return access(index_path, F_OK) == 0;
}

Test(index, loaded_analysis_equals_the_replay, .init = setup, .fini = teardown)
{
	analysis_t *full = replay();
	cr_assert_not(index_exists(), "HEAPTRAIL_NO_INDEX wrote an index");
	analysis_t *first = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert_not(analysis_from_index(first), "no index existed yet");
	cr_assert(index_exists());
	analysis_t *second = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert(analysis_from_index(second));
	cr_assert_eq(heap_counters(analysis_heap(second))->allocs, 21);
	cr_assert_eq(analysis_summary(second)->nsnapshots, 2);
	cr_assert_eq(stacks_count(analysis_stacks(second)), 4);
	assert_same(full, first);
	assert_same(full, second);
	analysis_free(full);
	analysis_free(first);
	analysis_free(second);
}

Test(index, any_replay_writes_the_index, .init = setup, .fini = teardown)
{
	analysis_t *an = run_file(trace_path, NULL, 0);
	cr_assert(index_exists());
	analysis_t *ix = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert(analysis_from_index(ix));
	assert_same(an, ix);
	analysis_free(an);
	analysis_free(ix);
}

Test(index, a_rewritten_trace_is_replayed_not_read_from_the_stale_index, .init = setup, .fini = teardown)
{
	analysis_free(run_file_indexed(trace_path, NULL, 0, true));
	cr_assert(index_exists());
	/* Same length, different realloc size: only the content differs;
	 * the new mtime/ctime and END bytes must reject the index. */
	write_trace(true, 1);
	analysis_t *ix = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert_not(analysis_from_index(ix));
	analysis_t *full = replay();
	assert_same(full, ix);
	cr_assert_eq(heap_counters(analysis_heap(ix))->bytes_allocated,
		     heap_counters(analysis_heap(full))->bytes_allocated);
	analysis_free(ix);
	analysis_free(full);
	/* ... and the rebuilt index is used next time. */
	ix = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert(analysis_from_index(ix));
	analysis_free(ix);
}

static void damage_index(long at, uint8_t xor)
{
	int fd = open(index_path, O_RDWR);
	uint8_t b;
	cr_assert_geq(fd, 0);
	off_t size = lseek(fd, 0, SEEK_END);
	off_t off = at >= 0 ? at : size + at;
	cr_assert_eq(pread(fd, &b, 1, off), 1);
	b ^= xor;
	cr_assert_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

Test(index, a_damaged_index_is_ignored_and_rebuilt, .init = setup, .fini = teardown)
{
	analysis_t *full = replay();
	analysis_free(run_file_indexed(trace_path, NULL, 0, true));
	long spots[] = { 0, 9, 20, 60, 100, -30, -9, -1 };
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		damage_index(spots[i], 0x41);
		analysis_t *ix = run_file_indexed(trace_path, NULL, 0, true);
		cr_assert_not(analysis_from_index(ix), "damage at %ld was used", spots[i]);
		assert_same(full, ix);
		analysis_free(ix);
		ix = run_file_indexed(trace_path, NULL, 0, true);
		cr_assert(analysis_from_index(ix), "not rebuilt after damage at %ld", spots[i]);
		analysis_free(ix);
	}
	/* Cut short, then empty. */
	cr_assert_eq(truncate(index_path, 40), 0);
	analysis_t *ix = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert_not(analysis_from_index(ix));
	analysis_free(ix);
	cr_assert_eq(truncate(index_path, 0), 0);
	ix = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert_not(analysis_from_index(ix));
	assert_same(full, ix);
	analysis_free(ix);
	analysis_free(full);
}

Test(index, disabled_by_heaptrail_no_index, .init = setup, .fini = teardown)
{
	analysis_free(run_file_indexed(trace_path, NULL, 0, true));
	cr_assert(index_exists());
	setenv("HEAPTRAIL_NO_INDEX", "1", 1);
	analysis_t *an = run_file_indexed(trace_path, NULL, 0, true);
	unsetenv("HEAPTRAIL_NO_INDEX");
	cr_assert_not(analysis_from_index(an));
	analysis_free(an);
}

Test(index, a_truncated_trace_is_indexed_as_truncated, .init = setup, .fini = teardown)
{
	write_trace(false, 0);
	analysis_t *full = replay();
	cr_assert(analysis_summary(full)->truncated);
	analysis_free(run_file_indexed(trace_path, NULL, 0, true));
	analysis_t *ix = run_file_indexed(trace_path, NULL, 0, true);
	cr_assert(analysis_from_index(ix));
	cr_assert(analysis_summary(ix)->truncated);
	assert_same(full, ix);
	analysis_free(ix);
	analysis_free(full);
}

Test(index, sidecar_name_replaces_htr)
{
	char b[64];
	cr_assert_eq(index_sidecar_path("/a/x.htr", b, sizeof(b)), 0);
	cr_assert_str_eq(b, "/a/x.htri");
	cr_assert_eq(index_sidecar_path("trace", b, sizeof(b)), 0);
	cr_assert_str_eq(b, "trace.htri");
	cr_assert_eq(index_sidecar_path("trace.htr", b, 8), -ENAMETOOLONG);
}

/* A point at a snapshot from the index's snapshot states equals the
 * aggregator's capture during a replay: arrays, totals, time, label. */
static void point_at(const char *at, bool indexed, point_t **pt, analysis_t **an)
{
	point_spec_t spec;
	args_parse_point(at, &spec);
	*pt = point_new(&spec);
	agg_t *agg = point_agg(*pt);
	if (!indexed)
		setenv("HEAPTRAIL_NO_INDEX", "1", 1);
	*an = indexed ? run_file_indexed(trace_path, &agg, 1, true) :
			run_file(trace_path, &agg, 1);
	unsetenv("HEAPTRAIL_NO_INDEX");
	cr_assert_not_null(*an);
	cr_assert_eq(analysis_from_index(*an), indexed);
}

Test(index, snapshot_points_equal_the_replay, .init = setup, .fini = teardown)
{
	const char *ats[] = { "one", "two", "0", "1", "end", "peak" };
	analysis_free(run_file_indexed(trace_path, NULL, 0, true));
	for (size_t i = 0; i < sizeof(ats) / sizeof(ats[0]); i++) {
		point_t *p1, *p2;
		analysis_t *a1, *a2;
		const uint64_t *b1, *c1, *b2, *c2;
		size_t n1, n2;
		char err[256];
		point_at(ats[i], false, &p1, &a1);
		point_at(ats[i], true, &p2, &a2);
		cr_assert_eq(run_point_result(p1, a1, &b1, &c1, &n1, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(run_point_result(p2, a2, &b2, &c2, &n2, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(n1, n2, "%s", ats[i]);
		cr_assert_eq(memcmp(b1, b2, n1 * sizeof(*b1)), 0, "%s", ats[i]);
		cr_assert_eq(memcmp(c1, c2, n1 * sizeof(*c1)), 0, "%s", ats[i]);
		cr_assert_eq(point_heap_bytes(p1), point_heap_bytes(p2));
		cr_assert_eq(point_heap_blocks(p1), point_heap_blocks(p2));
		cr_assert_eq(point_time_us(p1), point_time_us(p2));
		cr_assert_str_eq(point_describe(p1), point_describe(p2));
		analysis_free(a1);
		analysis_free(a2);
		point_free(p1);
		point_free(p2);
	}
	/* A snapshot that does not exist: the same error either way. */
	point_t *p1, *p2;
	analysis_t *a1, *a2;
	const uint64_t *b, *c;
	size_t n;
	char e1[256], e2[256];
	point_at("nope", false, &p1, &a1);
	point_at("nope", true, &p2, &a2);
	cr_assert_eq(run_point_result(p1, a1, &b, &c, &n, e1, sizeof(e1)), -ENOENT);
	cr_assert_eq(run_point_result(p2, a2, &b, &c, &n, e2, sizeof(e2)), -ENOENT);
	cr_assert_str_eq(e1, e2);
	analysis_free(a1);
	analysis_free(a2);
	point_free(p1);
	point_free(p2);
}

/* Damage that keeps the checksum right (every byte of the index changed
 * in turn, checksum recomputed): the load may fail or succeed, but never
 * crashes, leaks or reads out of bounds (make asan runs this). */
Test(index, forged_damage_never_crashes, .init = setup, .fini = teardown)
{
	analysis_free(run_file_indexed(trace_path, NULL, 0, true));
	FILE *f = fopen(index_path, "rb");
	cr_assert_not_null(f);
	uint8_t good[8192];
	size_t len = fread(good, 1, sizeof(good), f);
	fclose(f);
	cr_assert_gt(len, 24);
	cr_assert_lt(len, sizeof(good));
	uint8_t bad[8192];
	for (size_t i = 16; i < len - 8; i++) {
		for (int v = 0; v < 2; v++) {
			memcpy(bad, good, len);
			bad[i] = v ? (uint8_t)(good[i] ^ 0x80) : 0xff;
			ht_put_u64le(bad + len - 8, index_checksum(bad, len - 8));
			f = fopen(index_path, "wb");
			cr_assert_not_null(f);
			cr_assert_eq(fwrite(bad, 1, len, f), len);
			fclose(f);
			analysis_t *an = run_file_indexed(trace_path, NULL, 0, true);
			cr_assert_not_null(an);
			analysis_free(an);
		}
	}
}
