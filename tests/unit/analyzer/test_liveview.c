/* The live view's frame (render/live.c): every line from values given,
 * the lost events only when there are some, the sparkline in blocks or in
 * ASCII, top's rows with the "N other" line past -n. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "render/live.h"

typedef struct fixture {
	analysis_summary_t sum;
	heap_counters_t hc;
	stat_row_t rows[3];
	stat_set_t set;
	uint64_t spark[4];
	live_frame_t f;
} fixture_t;

static void setup(fixture_t *x)
{
	memset(x, 0, sizeof(*x));
	x->sum.path = "srv.htr";
	x->sum.pid = 42;
	x->sum.cmdline = "./srv --port 1";
	x->sum.end_time_us = 12345678;
	x->sum.rss_max = 4u << 20;
	x->hc.heap_bytes = 8000;
	x->hc.heap_blocks = 51;
	x->hc.peak_bytes = 24900;
	x->hc.peak_time_us = 1500000;
	x->rows[0] = (stat_row_t){ .key = "srv.c:21", .bytes = 8000, .count = 50 };
	x->rows[1] = (stat_row_t){ .key = "srv.c:30", .bytes = 640, .count = 10 };
	x->rows[2] = (stat_row_t){ .key = "srv.c:40", .bytes = 64, .count = 1 };
	x->set = (stat_set_t){ .rows = x->rows, .n = 3, .total_bytes = 8704, .total_count = 61 };
	x->spark[0] = 0;
	x->spark[1] = 100;
	x->spark[2] = 200;
	x->spark[3] = 400;
	x->f = (live_frame_t){
		.sum = &x->sum, .hc = &x->hc, .rss_now = 3u << 20, .state = "following",
		.events = 1234567, .rate = 38000.4, .have_rate = true,
		.spark = x->spark, .nspark = 4, .set = &x->set, .k = 2, .by = BY_SITE,
		.output = "srv.htr.out",
	};
}

static char *render(const live_frame_t *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert(out);
	live_render(out, f);
	fclose(out);
	return buf;
}

Test(liveview, frame_lines_from_the_values)
{
	fixture_t x;
	setup(&x);
	char *text = render(&x.f);
	cr_assert_str_eq(text,
			 "heaptrail live: srv.htr  pid 42  ./srv --port 1  [following, 12.3 s]\n"
			 "heap   8000 B now, peak 24.3 KiB at 1.5s in 51 blocks    RSS 3072 KiB now, peak 4096 KiB\n"
			 "events 38,000/s, 1,234,567 read\n"
			 "heap over the last 4 s, a bar a second, top 400 B:\n"
			 "\u2581\u2583\u2585\u2588\n"
			 "program output: srv.htr.out\n"
			 "\n"
			 "Top 2 of 3 by site at now: 8704 B live in 61 blocks\n"
			 "srv.c:21: size=8000 B, count=50, average=160 B\n"
			 "srv.c:30: size=640 B, count=10, average=64 B\n"
			 "1 other: size=64 B, count=1\n");
	free(text);
}

Test(liveview, lost_events_ascii_bars_the_peak_and_a_stop_are_said)
{
	fixture_t x;
	setup(&x);
	x.sum.lost_events = 1500;
	x.f.ascii = true;
	x.f.at_peak = true;
	x.f.have_rate = false;
	x.f.rss_now = 0;
	x.f.output = NULL;
	x.f.error = "t.htr: the trace was cut back";
	char *text = render(&x.f);
	cr_assert(strstr(text, "events -/s, 1,234,567 read    LOST 1,500 events (not in these numbers)\n"), "%s", text);
	cr_assert(strstr(text, "    RSS not sampled yet\n"), "%s", text);
	cr_assert(strstr(text, "\n_,=#\n"), "%s", text);
	cr_assert(strstr(text, "\nstopped: t.htr: the trace was cut back\n"), "%s", text);
	cr_assert(strstr(text, "Top 2 of 3 by site at the peak:"), "%s", text);
	cr_assert_null(strstr(text, "program output"), "%s", text);
	free(text);
}
