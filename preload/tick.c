/* tick: see tick.h. */
#include "tick.h"

#include <string.h>
#include <time.h>

int tick_tsc = 0;

/* Calibration pairs (tick, mono ns): first and newest.  Writer only after
 * tick_init. */
static uint64_t t0, m0, t1, m1;
static int inited;

static int cpu_has_invariant_tsc(void)
{
	static char buf[16384]; /* one CPU's block is enough; no allocation */
	if (util_read_file("/proc/cpuinfo", buf, sizeof(buf)) <= 0)
		return 0;
	char *flags = strstr(buf, "\nflags");
	if (!flags)
		return 0;
	char *eol = strchr(flags + 1, '\n');
	if (eol)
		*eol = 0;
	return strstr(flags, " constant_tsc") && strstr(flags, " nonstop_tsc");
}

void tick_init(void)
{
	if (inited)
		return;
	inited = 1;
#if defined(__x86_64__) || defined(__i386__)
	tick_tsc = cpu_has_invariant_tsc();
#endif
	t0 = tick_now();
	m0 = util_mono_ns();
	if (tick_tsc) {
		/* A first rate for the resolution written at the trace's start;
		 * every writer cycle refines it. */
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	tick_calibrate();
}

void tick_calibrate(void)
{
	uint64_t t = tick_now(), m = util_mono_ns();
	if (t > t0 && m > m0) {
		t1 = t;
		m1 = m;
	}
}

/* ns per tick unit (1 on the fallback clock). */
static double rate(void)
{
	if (!tick_tsc || t1 <= t0)
		return 1.0;
	return (double)(m1 - m0) / (double)(t1 - t0);
}

uint64_t tick_to_mono_ns(uint64_t tick)
{
	if (!tick_tsc)
		return tick;
	double ns = (double)m1 + ((double)tick - (double)t1) * rate();
	return ns > 0 ? (uint64_t)ns : 0;
}

uint64_t tick_resolution_ns(void)
{
	double ns = (double)(1ull << TICK_SHIFT) * rate();
	return (uint64_t)ns + 1;
}
