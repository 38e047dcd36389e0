/* `heaptrail timeline`: see cmd_timeline.h.  One replay with the series
 * aggregator (the index holds no time series). */
#include "cli/cmd_timeline.h"

#include "cli/args.h"
#include "cli/run.h"
#include "render/json.h"
#include "render/text.h"

#include <stdio.h>
#include <string.h>

#include "agg/series.h"
#include "cli/cmd_snapshots.h"
#include "cli/opts.h"
#include "model/analysis.h"
#include "render/report.h"
#include "render/timeline.h"

int cmd_timeline(int argc, char **argv)
{
	const char *path = NULL, *val;
	bool csv = false;
	long long width = 72, height = 20;
	opts_t o;
	opts_init(&o);
	for (int i = 1; i < argc; i++) {
		int m;
		if ((m = opts_parse("timeline", OPT_JSON, argc, argv, &i, &o))) {
			if (m < 0)
				return 2;
		} else if (strcmp(argv[i], "--csv") == 0) {
			csv = true;
		} else if ((m = args_opt("timeline", argc, argv, &i, "--width", &val))) {
			if (m < 0)
				return 2;
			if ((width = args_parse_count(val)) < 8 || width > 1000)
				return args_usage_error("timeline", "--width wants 8..1000, not '%s'", val);
		} else if ((m = args_opt("timeline", argc, argv, &i, "--height", &val))) {
			if (m < 0)
				return 2;
			if ((height = args_parse_count(val)) < 2 || height > 200)
				return args_usage_error("timeline", "--height wants 2..200, not '%s'", val);
		} else if (opts_trace("timeline", argv[i], &path)) {
			return 2;
		}
	}
	if (!path)
		return args_usage_error("timeline", "missing TRACE");
	if (csv && o.json)
		return args_usage_error("timeline", "--csv and --json exclude each other");
	series_t *se = series_new();
	if (!se) {
		fprintf(stderr, "heaptrail: out of memory\n");
		return 1;
	}
	agg_t *agg = series_agg(se);
	analysis_t *an = run_file(path, &agg, 1);
	if (!an) {
		series_free(se);
		return 1;
	}
	const heap_counters_t *hc = heap_counters(analysis_heap(an));
	timeline_in_t in = { .s = analysis_summary(an),
			     .peak_bytes = hc->peak_bytes,
			     .peak_time_us = hc->peak_time_us };
	in.heap = series_heap(se, &in.nheap);
	in.rss = series_rss(se, &in.nrss);
	if (csv) {
		timeline_csv(stdout, &in);
	} else if (o.json) {
		json_t j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_summary_fields(&j, in.s);
		timeline_json(&j, &in);
		snapshots_json(&j, in.s);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		text_notes(stdout, in.s);
		timeline_chart(stdout, &in, (int)width, (int)height);
	}
	analysis_free(an);
	series_free(se);
	return 0;
}
