/* api: the public API under its documented names (heaptrail.h), for
 * programs that find it by name: ctypes.CDLL(None).heaptrail_snapshot,
 * dlsym(RTLD_DEFAULT, "heaptrail_snapshot"), Rust/Go/Java FFI.  C and C++
 * programs that include heaptrail.h keep calling the *_impl symbols
 * (hooks.c) through the header's inline wrappers, which shadow these names
 * in their own translation units.  Thread-safe; never allocates. */
#include "heapcount.h"
#include "recorder.h"
#include "session.h"
#include "util.h"

HT_EXPORT int heaptrail_snapshot(const char *label);
HT_EXPORT int heaptrail_recording(void);
HT_EXPORT long long heaptrail_heap_bytes(void);
HT_EXPORT long long heaptrail_heap_peak(void);
HT_EXPORT int heaptrail_heap_peak_reset(void);
HT_EXPORT long long heaptrail_heap_bytes_impl(void);
HT_EXPORT long long heaptrail_heap_peak_impl(void);
HT_EXPORT int heaptrail_heap_peak_reset_impl(void);

/* The same as heaptrail_snapshot_impl: 0 when the mark was recorded, -1
 * when not recording. */
HT_EXPORT int heaptrail_snapshot(const char *label)
{
	return recorder_snapshot(label);
}

/* The same as heaptrail_recording_impl: 1 while recording, else 0. */
HT_EXPORT int heaptrail_recording(void)
{
	return session_on();
}

/* Heap counters (heapcount.h); heaptrail.h documents them.  Frees of blocks
 * allocated before recording started can take the sum below 0: shown as 0. */
HT_EXPORT long long heaptrail_heap_bytes_impl(void)
{
	if (!session_on())
		return -1;
	int64_t v = heapcount_live();
	return v > 0 ? v : 0;
}

HT_EXPORT long long heaptrail_heap_peak_impl(void)
{
	if (!session_on())
		return -1;
	int64_t v = heapcount_peak();
	return v > 0 ? v : 0;
}

HT_EXPORT int heaptrail_heap_peak_reset_impl(void)
{
	if (!session_on())
		return -1;
	heapcount_reset();
	return 0;
}

HT_EXPORT long long heaptrail_heap_bytes(void)
{
	return heaptrail_heap_bytes_impl();
}

HT_EXPORT long long heaptrail_heap_peak(void)
{
	return heaptrail_heap_peak_impl();
}

HT_EXPORT int heaptrail_heap_peak_reset(void)
{
	return heaptrail_heap_peak_reset_impl();
}
