/* Units as reports print them: tracemalloc-style sizes and seconds.
 * Called by the renderers (text.c) and the commands.  Pure functions:
 * thread-safe. */
#ifndef HEAPTRAIL_FMT_H
#define HEAPTRAIL_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tracemalloc's _format_size: "97.7 KiB", "1000 B", with a leading sign
 * when `sign` ("+1.0 MiB", "-12 B").  Returns buf. */
char *fmt_size(char *buf, size_t len, double size, bool sign);

/* Microseconds as seconds with six decimals: "1.250000s".  Returns buf. */
char *fmt_seconds(char *buf, size_t len, uint64_t us);

/* Microseconds as seconds with the digits they have, no trailing zeros:
 * "0.3s", "0.002032s", "5s".  Returns buf. */
char *fmt_time(char *buf, size_t len, uint64_t us);

#endif /* HEAPTRAIL_FMT_H */
