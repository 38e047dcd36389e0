/* libFuzzer target for the trace reader and everything behind it: any
 * byte string must decode to events or a clean error, and the heap model,
 * stack tables, raw frames, grouping and statistics must survive whatever
 * the reader delivers.  Built by scripts/fuzz.sh. */
#include <stddef.h>
#include <stdint.h>

#include "model/analysis.h"
#include "agg/point.h"
#include "agg/stats.h"
#include "cli/args.h"
#include "cli/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	analysis_t *an;
	char err[512];
	point_spec_t ps;
	point_t *peak;
	if (analysis_open_mem(&an, data, size, "fuzz.htr", err, sizeof(err)) < 0)
		return 0;
	args_parse_point("peak", &ps);
	peak = point_new(&ps);
	if (peak)
		analysis_add_agg(an, point_agg(peak));
	if (analysis_run(an, err, sizeof(err)) == 0 && peak) {
		const uint64_t *b, *c;
		size_t n;
		if (run_point_result(peak, an, &b, &c, &n, err, sizeof(err)) == 0) {
			/* Raw frames: symbolization would open files named by
			 * the input. */
			frames_t *fr = analysis_frames(an, FRAMES_ALL, true);
			group_t *g = fr ? group_new(fr, BY_TRACEBACK) : NULL;
			stat_set_t set;
			if (g && stats_compute(g, b, c, n, false, &set) == 0) {
				stats_rank(&set, false, 10);
				stats_free(&set);
			}
			group_free(g);
		}
	}
	analysis_free(an);
	point_free(peak);
	return 0;
}
