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

/* How fine the times of the trace being reported are, us (>= 1; the
 * summary's time_resolution_us).  The analysis sets it as it reads the
 * trace (the one piece of state here: not thread-safe); 1 until then. */
void fmt_set_resolution(uint64_t us);

/* How many decimals of a second the resolution supports: 6 at 1 us, 4
 * at 26 us, 2 at 10 ms (the smallest power of ten not finer than it). */
int fmt_time_decimals(void);

/* A trace time (us) rounded to the nearest multiple of the unit those
 * decimals show (100 us at 26 us), or of at_least_us when that is
 * coarser (1000: whole milliseconds).  What every printed or exported
 * time goes through, so none claims digits the clock did not give. */
uint64_t fmt_round_us(uint64_t us, uint64_t at_least_us);

/* A trace time (us) as seconds with only the digits the resolution
 * supports, rounded to them: "1.250000s" at 1 us, "0.0126s" at 26 us,
 * "0.01s" at 10 ms.  Returns buf. */
char *fmt_seconds(char *buf, size_t len, uint64_t us);

/* Microseconds as seconds with the digits they have, no trailing zeros:
 * "0.3s", "0.002032s", "5s".  Returns buf. */
char *fmt_time(char *buf, size_t len, uint64_t us);

#endif /* HEAPTRAIL_FMT_H */
