/* `heaptrail snapshots`: see cmd_snapshots.h. */
#include "cli/cmd_snapshots.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model/analysis.h"
#include "cli/opts.h"
#include "render/report.h"
#include "cli/args.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/text.h"
#include "cli/run.h"
#include "render/sparkline.h"

const char *snapshots_origin_name(uint64_t origin)
{
	switch (origin) {
	case HT_SNAP_API:
		return "api";
	case HT_SNAP_TIMER:
		return "timer";
	case HT_SNAP_SIGNAL:
		return "signal";
	case HT_SNAP_EXIT:
		return "exit";
	case HT_SNAP_PY_MAIN:
		return "startup";
	case HT_SNAP_PY_TEARDOWN:
		return "teardown";
	default:
		return "unknown";
	}
}

void snapshots_json(json_t *j, const analysis_summary_t *s)
{
	json_key(j, "snapshots");
	json_arr_begin(j);
	for (size_t i = 0; i < s->nsnapshots; i++) {
		const analysis_snapshot_t *sn = &s->snapshots[i];
		json_obj_begin(j);
		json_key(j, "index");
		json_u64(j, sn->index);
		json_key(j, "label");
		json_str(j, sn->label);
		json_key(j, "origin");
		json_str(j, snapshots_origin_name(sn->origin));
		json_key(j, "time_us");
		json_u64(j, sn->time_us);
		json_key(j, "heap_bytes");
		json_u64(j, sn->heap_bytes);
		json_key(j, "heap_blocks");
		json_u64(j, sn->heap_blocks);
		json_obj_end(j);
	}
	json_arr_end(j);
}

int cmd_snapshots(int argc, char **argv)
{
	const char *path = NULL;
	opts_t o;
	char a[32];
	opts_init(&o);
	if (opts_args("snapshots", OPT_JSON, NULL, NULL, argc, argv, &o, &path))
		return 2;
	analysis_t *an = run_file_indexed(path, NULL, 0, false);
	if (!an)
		return 1;
	const analysis_summary_t *s = analysis_summary(an);
	if (o.json) {
		json_t j;
		json_report_begin(&j, stdout, s);
		snapshots_json(&j, s);
		json_report_end(&j);
	} else {
		text_notes(stdout, s);
		if (!s->nsnapshots) {
			printf("%s: no snapshots (mark them with heaptrail_snapshot(), --snapshot-every or --snapshot-signal)\n",
			       s->path);
		} else {
			printf("%5s  %-24s %-7s %10s %12s %10s\n", "index",
			       "label", "origin", "time", "heap", "blocks");
			for (size_t i = 0; i < s->nsnapshots; i++) {
				const analysis_snapshot_t *sn = &s->snapshots[i];
				char t[32];
				fmt_seconds(t, sizeof(t), sn->time_us);
				printf("%5" PRIu64 "  %-24s %-7s %10s %12s %10" PRIu64 "\n",
				       sn->index, sn->label[0] ? sn->label : "-",
				       snapshots_origin_name(sn->origin), t,
				       fmt_size(a, sizeof(a), (double)sn->heap_bytes, false),
				       sn->heap_blocks);
			}
			const heap_counters_t *c = heap_counters(analysis_heap(an));
			char sp[512];
			printf("heap: %s (the marks and the peak; \u2588 = %s)\n",
			       sparkline_heap(sp, sizeof(sp), s, c->peak_bytes,
					      c->peak_time_us, 60),
			       fmt_size(a, sizeof(a), (double)c->peak_bytes, false));
		}
	}
	analysis_free(an);
	return 0;
}
