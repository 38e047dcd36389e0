/* heaptrail public API: lets a program mark named snapshots in its trace.
 * Safe to keep in production code: when libheaptrail.so is not loaded the
 * calls do nothing (the implementation is a weak reference that resolves to
 * NULL).  Thread-safe; async-signal-safe it is not. */
#ifndef HEAPTRAIL_H
#define HEAPTRAIL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Implementation symbols exported by libheaptrail.so.  Call the inline
 * wrappers below, never these directly. */
extern int heaptrail_snapshot_impl(const char *label) __attribute__((weak));
extern int heaptrail_recording_impl(void) __attribute__((weak));

/* Marks a snapshot named `label` (may be NULL; at most 255 bytes are kept)
 * at this point of the event order.  The analyzer's `snapshots`, `top --at`
 * and `diff --from/--to` refer to it by label or by index.
 * Returns 0 when the mark was recorded, -1 when no recorder is loaded or it
 * is not recording (then nothing happens). */
static inline int heaptrail_snapshot(const char *label)
{
	return heaptrail_snapshot_impl ? heaptrail_snapshot_impl(label) : -1;
}

/* Returns 1 when this process is being recorded, 0 otherwise. */
static inline int heaptrail_recording(void)
{
	return heaptrail_recording_impl ? heaptrail_recording_impl() : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* HEAPTRAIL_H */
