/* Writes small synthetic traces (every record type, snapshots, exec,
 * truncation) into DIR as fuzzing seeds when no real trace is at hand.
 * Usage: gen_seeds DIR */
#include <stdio.h>

#include "../unit/analyzer/tbuild.h"

static int save(const char *dir, const char *name, const tb_t *t)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(t->buf, 1, t->len, f) != t->len) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) != 0;
}

static void program(tb_t *t, int with_end)
{
	uint64_t ips[3] = { 0x401235, 0x401100, 0x7f0000001234 };
	uint64_t py[4] = { 1, 10, 2, 20 };
	tb_init(t);
	tb_process(t, 100, "/usr/bin/prog");
	tb_modules1(t, 1, "", 0x400000, 0, 0x10000);
	tb_pycode(t, 1, "app.py", "main", 1);
	tb_pycode(t, 2, "lib.py", "helper", 5);
	tb_stack(t, 1, 3, ips, 0, NULL);
	tb_stack(t, 2, 2, ips + 1, 2, py);
	tb_thread_rec(t, 0, 100, "main");
	for (uint64_t i = 0; i < 20; i++) {
		tb_time(t, 100);
		tb_malloc(t, 0x5555000 + i * 64, 10 + i, 1 + i % 2);
	}
	tb_snapshot(t, 0, 0, "middle");
	tb_thread(t, 1);
	tb_alloc(t, 1, 0x6000000, 4096, 2, 0);
	tb_alloc(t, 4, 0x6001000, 128, 1, 64);
	tb_realloc(t, 0x5555000, 0x7000000, 1000, 2);
	for (uint64_t i = 1; i < 10; i++)
		tb_free(t, 0x5555000 + i * 64);
	tb_free(t, 0xdead0);
	tb_rss(t, 1 << 20);
	tb_lost(t, 2, 1);
	tb_warning(t, "warn");
	tb_snapshot(t, 1, 3, "exit");
	if (with_end) {
		tb_signal(t, 6, 5000);
		tb_end(t, 35, 2, 5000);
	}
}

int main(int argc, char **argv)
{
	tb_t t;
	int rc = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	program(&t, 1);
	rc |= save(argv[1], "complete.htr", &t);
	t.len -= 5;
	rc |= save(argv[1], "torn.htr", &t);
	tb_fini(&t);
	program(&t, 0);
	tb_exec(&t, "/bin/next");
	tb_process(&t, 100, "/bin/next");
	tb_malloc(&t, 0x1000, 1, 1);
	tb_end(&t, 1, 0, 10);
	rc |= save(argv[1], "exec.htr", &t);
	tb_fini(&t);
	/* An aggregated trace (record --aggregate): totals, no events. */
	tb_init(&t);
	tb_process(&t, 100, "/usr/bin/prog");
	tb_aggregate(&t);
	tb_modules1(&t, 1, "", 0x400000, 0, 0x10000);
	tb_stack1(&t, 1, 0x401235);
	tb_stack1(&t, 2, 0x401100);
	tb_agg_state(&t, 300, 3, 3, 0, (site_t[]){ { 1, 100, 1, 1, 100 }, { 2, 200, 2, 2, 200 } }, 2);
	tb_agg_peak(&t, 300, 3, 5, (site_t[]){ { 1, 100, 1, 0, 100 }, { 2, 200, 2, 0, 200 } }, 2);
	tb_snapshot(&t, 0, 0, "middle");
	tb_time(&t, 100);
	tb_agg_heap(&t, 200, 2);
	tb_agg_state(&t, 200, 2, 3, 1, (site_t[]){ { 1, 0, 0, 1, 100 } }, 1);
	tb_snapshot(&t, 1, 3, "exit");
	tb_agg_state(&t, 200, 2, 3, 1, NULL, 0);
	tb_agg_peak(&t, 300, 3, 5, (site_t[]){ { 1, 100, 1, 0, 100 }, { 2, 200, 2, 0, 200 } }, 2);
	tb_end(&t, 4, 0, 200);
	rc |= save(argv[1], "aggregated.htr", &t);
	tb_fini(&t);
	tb_init(&t);
	rc |= save(argv[1], "empty.htr", &t);
	tb_fini(&t);
	return rc;
}
