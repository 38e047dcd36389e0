/* tick: the producers' cheap clock.  Hooks read tick_now() (on every
 * event, or one in TICK_MAX_SKIP + 1 in a burst) and stamp their ring only
 * when it has moved on by one tick (TICK_SHIFT); the writer turns stamps into trace time with
 * tick_to_mono_ns().  tick_init runs once per process before any hook
 * records; tick_calibrate is writer-thread only.  Readers are lock-free. */
#ifndef HT_TICK_H
#define HT_TICK_H

#include "util.h"

#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

/* A ring is stamped when tick_now() >> TICK_SHIFT changes: 2^16 TSC cycles
 * (25 us at 2.6 GHz) or, on the clock_gettime fallback, 2^16 ns (66 us).
 * Finer ticks cost ring slots and trace bytes in allocation-heavy loops
 * (one stamp per tick per thread); this keeps both under 1 % on the
 * churn bench. */
#define TICK_SHIFT 16

/* A burst (recorder.c, stamp_due): after TICK_DENSE checks in a row found
 * the same tick, a producer reads the clock on one event in
 * TICK_MAX_SKIP + 1 until it finds the tick moved on. */
#define TICK_DENSE 4u
#define TICK_MAX_SKIP 15u

/* 1 when the TSC is invariant (constant_tsc and nonstop_tsc): tick_now()
 * is rdtsc.  0: tick_now() is CLOCK_MONOTONIC in ns. */
extern int tick_tsc HT_HIDDEN;

static inline uint64_t tick_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (HT_LIKELY(tick_tsc))
		return __rdtsc();
#endif
	return util_mono_ns();
}

/* Chooses the clock (reads /proc/cpuinfo) and measures the TSC rate over
 * about 2 ms of sleep.  Idempotent: a forked child keeps the parent's. */
void tick_init(void);
/* Writer: takes a fresh (tick, mono) pair; conversions interpolate from the
 * first pair to the newest. */
void tick_calibrate(void);
/* A stamp in CLOCK_MONOTONIC ns. */
uint64_t tick_to_mono_ns(uint64_t tick);
/* One tick in ns, rounded up: the resolution of stamped event times. */
uint64_t tick_resolution_ns(void);

#endif /* HT_TICK_H */
