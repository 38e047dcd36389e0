/* Heap sparkline at the marks: see sparkline.h. */
#include "render/sparkline.h"

#include <string.h>

static const char *const bars[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
				     "\u2585", "\u2586", "\u2587", "\u2588" };

/* For terminals without UTF-8 (the live view under LANG=C). */
static const char *const ascii_bars[8] = { "_", ".", ",", "-", "=", "+", "*", "#" };

static void put_bar_of(char *buf, size_t len, size_t *at, uint64_t v, uint64_t top,
		       const char *const *set)
{
	int k = top ? (int)((double)v * 7.0 / (double)top + 0.5) : 0;
	const char *b = set[k < 0 ? 0 : k > 7 ? 7 : k];
	size_t n = strlen(b);
	if (*at + n + 1 > len)
		return;
	memcpy(buf + *at, b, n);
	*at += n;
	buf[*at] = 0;
}

static void put_bar(char *buf, size_t len, size_t *at, uint64_t v, uint64_t top)
{
	put_bar_of(buf, len, at, v, top, bars);
}

char *sparkline_values(char *buf, size_t len, const uint64_t *v, size_t n,
		       uint64_t top, bool ascii)
{
	size_t at = 0;
	if (!len)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		put_bar_of(buf, len, &at, v[i], top, ascii ? ascii_bars : bars);
	return buf;
}

char *sparkline_heap(char *buf, size_t len, const analysis_summary_t *s,
		     uint64_t peak_bytes, uint64_t peak_time_us, size_t max)
{
	size_t at = 0;
	if (!len)
		return buf;
	buf[0] = 0;
	if (!s->nsnapshots || !max)
		return buf;
	uint64_t top = peak_bytes;
	for (size_t i = 0; i < s->nsnapshots; i++)
		if (s->snapshots[i].heap_bytes > top)
			top = s->snapshots[i].heap_bytes;
	size_t n = s->nsnapshots, shown = n < max ? n : max - 1;
	bool peak_done = false;
	for (size_t b = 0; b < shown; b++) {
		size_t i = shown > 1 ? b * (n - 1) / (shown - 1) : 0;
		const analysis_snapshot_t *sn = &s->snapshots[i];
		if (!peak_done && sn->time_us >= peak_time_us) {
			put_bar(buf, len, &at, peak_bytes, top);
			peak_done = true;
		}
		put_bar(buf, len, &at, sn->heap_bytes, top);
	}
	if (!peak_done)
		put_bar(buf, len, &at, peak_bytes, top);
	return buf;
}
