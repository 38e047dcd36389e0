/* Units as reports print them: see fmt.h. */
#include "render/fmt.h"

#include <math.h>
#include <stdio.h>

char *fmt_size(char *buf, size_t len, double size, bool sign)
{
	/* Same thresholds as tracemalloc's _format_size. */
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	for (int u = 0; u < 5; u++) {
		if (fabs(size) < 100 && u != 0) {
			snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s", size,
				 units[u]);
			return buf;
		}
		if (fabs(size) < 10 * 1024 || u == 4) {
			snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s", size,
				 units[u]);
			return buf;
		}
		size /= 1024;
	}
	return buf;
}

static uint64_t resolution_us = 1;

void fmt_set_resolution(uint64_t us)
{
	resolution_us = us ? us : 1;
}

int fmt_time_decimals(void)
{
	/* The smallest power of ten (us) not finer than the resolution. */
	uint64_t unit = 1;
	int decimals = 6;
	while (unit < resolution_us && decimals > 0) {
		unit *= 10;
		decimals--;
	}
	return decimals;
}

uint64_t fmt_round_us(uint64_t us, uint64_t at_least_us)
{
	uint64_t unit = 1;
	for (int d = fmt_time_decimals(); d < 6; d++)
		unit *= 10;
	if (unit < at_least_us)
		unit = at_least_us;
	return (us + unit / 2) / unit * unit;
}

char *fmt_seconds(char *buf, size_t len, uint64_t us)
{
	int decimals = fmt_time_decimals();
	uint64_t r = fmt_round_us(us, 1);
	if (!decimals)
		snprintf(buf, len, "%llus", (unsigned long long)(r / 1000000));
	else {
		/* r is a multiple of the unit: its first `decimals`
		 * microsecond digits are all there is. */
		char frac[8];
		snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)(r % 1000000));
		frac[decimals] = '\0';
		snprintf(buf, len, "%llu.%ss", (unsigned long long)(r / 1000000), frac);
	}
	return buf;
}

char *fmt_time(char *buf, size_t len, uint64_t us)
{
	unsigned long long frac = us % 1000000;
	int digits = 6;
	if (!frac) {
		snprintf(buf, len, "%llus", (unsigned long long)(us / 1000000));
		return buf;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%llu.%0*llus", (unsigned long long)(us / 1000000),
		 digits, frac);
	return buf;
}
