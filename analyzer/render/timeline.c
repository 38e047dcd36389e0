/* Heap and RSS over time as text; see timeline.h. */
#include "render/timeline.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/fmt.h"
#include "render/json.h"
#include "render/report.h"

/* The last RSS sample at or before t (0 when none yet). */
static uint64_t rss_at(const timeline_in_t *in, uint64_t t)
{
	uint64_t v = 0;
	for (size_t i = 0; i < in->nrss && in->rss[i].time_us <= t; i++)
		v = in->rss[i].last;
	return v;
}

static int col_of(uint64_t t, uint64_t end, int width)
{
	if (!end)
		return 0;
	int c = (int)((double)t * width / (double)end);
	return c >= width ? width - 1 : c;
}

void timeline_chart(FILE *out, const timeline_in_t *in, int width, int height)
{
	const analysis_summary_t *s = in->s;
	uint64_t end = s->end_time_us;
	uint64_t *heap = calloc((size_t)width, sizeof(*heap));
	uint64_t *rss = calloc((size_t)width, sizeof(*rss));
	char *mark = calloc((size_t)width, 1);
	char a[32], b[32];
	if (!heap || !rss || !mark)
		goto done;
	/* Per column: the largest heap value in its span, carried forward
	 * over columns without events. */
	size_t hi = 0, ri = 0;
	uint64_t lastv = 0, lastr = 0;
	for (int c = 0; c < width; c++) {
		uint64_t v = lastv, r = lastr;
		while (hi < in->nheap && col_of(in->heap[hi].time_us, end, width) <= c) {
			if (in->heap[hi].max > v)
				v = in->heap[hi].max;
			lastv = in->heap[hi].last;
			hi++;
		}
		while (ri < in->nrss && col_of(in->rss[ri].time_us, end, width) <= c) {
			if (in->rss[ri].max > r)
				r = in->rss[ri].max;
			lastr = in->rss[ri].last;
			ri++;
		}
		heap[c] = v;
		rss[c] = r;
	}
	for (size_t k = 0; k < s->nsnapshots; k++)
		mark[col_of(s->snapshots[k].time_us, end, width)] = '@';
	int pc = col_of(in->peak_time_us, end, width);
	mark[pc] = '#';
	if (heap[pc] < in->peak_bytes)
		heap[pc] = in->peak_bytes;
	/* Scaled to the heap's peak: RSS (the whole process) is usually far
	 * above the heap and is drawn only where it is within the scale. */
	uint64_t top = in->peak_bytes ? in->peak_bytes : 1;
	char t1[32], t2[32];
	fprintf(out, "heap (:) over %s; peak (#) %s at %s; marks (@); RSS (.) max %s\n\n",
		fmt_seconds(t1, sizeof t1, end), fmt_size(a, sizeof(a), (double)in->peak_bytes, false),
		fmt_seconds(t2, sizeof t2, in->peak_time_us),
		fmt_size(b, sizeof(b), (double)s->rss_max, false));
	fmt_size(b, sizeof(b), (double)top, false);
	int lw = (int)strlen(b);
	for (int r = height; r >= 1; r--) {
		/* A cell is filled when the value reaches its lower edge. */
		double lo = (double)top * (r - 1) / height, up = (double)top * r / height;
		fprintf(out, "%*s%c", lw, r == height ? b : "", r == height ? '^' : '|');
		for (int c = 0; c < width; c++) {
			char ch = ' ';
			if ((double)heap[c] > lo && heap[c])
				ch = mark[c] ? mark[c] : ':';
			else if ((double)rss[c] > lo && (double)rss[c] <= up)
				ch = '.';
			fputc(ch, out);
		}
		fputc('\n', out);
	}
	fprintf(out, "%*s+", lw, "0");
	for (int c = 0; c < width; c++)
		fputc(c == width - 1 ? '>' : '-', out);
	fmt_seconds(a, sizeof(a), end);
	fprintf(out, "s\n%*s%s%*s\n", lw + 1, "0", "", width - 1, a);
	if (s->nsnapshots || in->peak_bytes)
		fputc('\n', out);
	size_t k = 0;
	bool peak_done = false;
	for (;;) {
		bool more = k < s->nsnapshots;
		if (!peak_done && (!more || s->snapshots[k].time_us > in->peak_time_us)) {
			fprintf(out, "  #  peak %21s %10s %12s\n", "",
				fmt_seconds(t1, sizeof t1, in->peak_time_us),
				fmt_size(a, sizeof(a), (double)in->peak_bytes, false));
			peak_done = true;
			continue;
		}
		if (!more)
			break;
		const analysis_snapshot_t *sn = &s->snapshots[k++];
		fprintf(out, "  @  %-5" PRIu64 " %-20s %10s %12s\n", sn->index,
			sn->label[0] ? sn->label : "-", fmt_seconds(t1, sizeof t1, sn->time_us),
			fmt_size(a, sizeof(a), (double)sn->heap_bytes, false));
	}
done:
	free(heap);
	free(rss);
	free(mark);
}

static void csv_label(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void timeline_csv(FILE *out, const timeline_in_t *in)
{
	const analysis_summary_t *s = in->s;
	fputs("kind,time_us,heap_bytes,rss_bytes,index,label\n", out);
	size_t k = 0;
	bool peak_done = false;
	/* Merged in time order; a mark or the peak goes before heap points
	 * of a later time. */
	for (size_t i = 0; i <= in->nheap; i++) {
		uint64_t t = i < in->nheap ? in->heap[i].time_us : UINT64_MAX;
		for (;;) {
			bool mk = k < s->nsnapshots && s->snapshots[k].time_us < t;
			bool pk = !peak_done && in->peak_time_us < t &&
				  (!mk || in->peak_time_us <= s->snapshots[k].time_us);
			if (pk) {
				fprintf(out, "peak,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",,\n",
					in->peak_time_us, in->peak_bytes,
					rss_at(in, in->peak_time_us));
				peak_done = true;
			} else if (mk) {
				const analysis_snapshot_t *sn = &s->snapshots[k++];
				fprintf(out, "snapshot,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
					sn->time_us, sn->heap_bytes, rss_at(in, sn->time_us),
					sn->index);
				csv_label(out, sn->label);
				fputc('\n', out);
			} else {
				break;
			}
		}
		if (i < in->nheap)
			fprintf(out, "heap,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",,\n", t,
				in->heap[i].last, rss_at(in, t));
	}
}

void timeline_json(json_t *j, const timeline_in_t *in)
{
	const analysis_summary_t *s = in->s;
	json_key(j, "end_time_us");
	json_u64(j, s->end_time_us);
	json_key(j, "peak");
	json_obj_begin(j);
	json_key(j, "time_us");
	json_u64(j, in->peak_time_us);
	json_key(j, "heap_bytes");
	json_u64(j, in->peak_bytes);
	json_obj_end(j);
	json_key(j, "heap");
	json_arr_begin(j);
	for (size_t i = 0; i < in->nheap; i++) {
		json_arr_begin(j);
		json_u64(j, in->heap[i].time_us);
		json_u64(j, in->heap[i].last);
		json_u64(j, in->heap[i].max);
		json_arr_end(j);
	}
	json_arr_end(j);
	json_key(j, "rss");
	json_arr_begin(j);
	for (size_t i = 0; i < in->nrss; i++) {
		json_arr_begin(j);
		json_u64(j, in->rss[i].time_us);
		json_u64(j, in->rss[i].last);
		json_arr_end(j);
	}
	json_arr_end(j);
}
