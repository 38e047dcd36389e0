/* The live view's frame: see live.h. */
#include "render/live.h"

#include <inttypes.h>

#include "render/fmt.h"
#include "render/sparkline.h"
#include "render/text.h"

/* "1234567" -> "1,234,567" */
static char *count_text(char *buf, size_t len, uint64_t v)
{
	char d[32];
	int n = snprintf(d, sizeof(d), "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = d[i];
	}
	buf[o] = 0;
	return buf;
}

void live_render(FILE *out, const live_frame_t *f)
{
	const analysis_summary_t *s = f->sum;
	const heap_counters_t *hc = f->hc;
	char a[32], b[32], c[32], d[32], t[32];
	fprintf(out, "heaptrail live: %s", s->path);
	if (s->pid)
		fprintf(out, "  pid %" PRIu64 "  %s", s->pid, s->cmdline);
	fprintf(out, "  [%s, %.1f s]\n", f->state, (double)s->end_time_us / 1e6);
	fprintf(out, "heap   %s now, peak %s at %s", fmt_size(a, sizeof(a), (double)hc->heap_bytes, false),
		fmt_size(b, sizeof(b), (double)hc->peak_bytes, false),
		fmt_time(t, sizeof(t), hc->peak_time_us));
	fprintf(out, " in %s blocks", count_text(c, sizeof(c), hc->heap_blocks));
	if (f->rss_now)
		fprintf(out, "    RSS %s now, peak %s\n", fmt_size(a, sizeof(a), (double)f->rss_now, false),
			fmt_size(d, sizeof(d), (double)s->rss_max, false));
	else
		fprintf(out, "    RSS not sampled yet\n");
	fprintf(out, "events %s/s, %s read", f->have_rate ? count_text(a, sizeof(a), (uint64_t)(f->rate + 0.5)) : "-",
		count_text(b, sizeof(b), f->events));
	if (s->lost_events)
		fprintf(out, "    LOST %s events (not in these numbers)", count_text(c, sizeof(c), s->lost_events));
	fputc('\n', out);
	uint64_t top = 0;
	for (size_t i = 0; i < f->nspark; i++)
		if (f->spark[i] > top)
			top = f->spark[i];
	char bars[4096];
	fprintf(out, "heap over the last %zu s, a bar a second, top %s:\n", f->nspark,
		fmt_size(a, sizeof(a), (double)top, false));
	fprintf(out, "%s\n", sparkline_values(bars, sizeof(bars), f->spark, f->nspark, top, f->ascii));
	if (f->output)
		fprintf(out, "program output: %s\n", f->output);
	if (f->error)
		fprintf(out, "stopped: %s\n", f->error);
	fputc('\n', out);
	fprintf(out, "Top %zu of %zu by %s at %s: %s live in %" PRIu64 " blocks%s\n", f->k, f->set->n,
		report_by_name(f->by), f->at_peak ? "the peak" : "now",
		fmt_size(a, sizeof(a), (double)f->set->total_bytes, false), f->set->total_count,
		f->filtered ? " (filtered)" : "");
	text_stats_per(out, f->set, f->k, false, f->by, 0);
	if (f->k < f->set->n) {
		uint64_t ob = 0, oc = 0;
		for (size_t i = f->k; i < f->set->n; i++) {
			ob += f->set->rows[i].bytes;
			oc += f->set->rows[i].count;
		}
		fprintf(out, "%zu other: size=%s, count=%" PRIu64 "\n", f->set->n - f->k,
			fmt_size(b, sizeof(b), (double)ob, false), oc);
	}
}
