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

char *fmt_seconds(char *buf, size_t len, uint64_t us)
{
	snprintf(buf, len, "%llu.%06llus", (unsigned long long)(us / 1000000),
		 (unsigned long long)(us % 1000000));
	return buf;
}
