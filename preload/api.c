/* api: the public API under its documented names (heaptrail.h), for
 * programs that find it by name: ctypes.CDLL(None).heaptrail_snapshot,
 * dlsym(RTLD_DEFAULT, "heaptrail_snapshot"), Rust/Go/Java FFI.  C and C++
 * programs that include heaptrail.h keep calling the *_impl symbols
 * (hooks.c) through the header's inline wrappers, which shadow these names
 * in their own translation units.  Thread-safe; never allocates. */
#include "recorder.h"
#include "session.h"
#include "util.h"

HT_EXPORT int heaptrail_snapshot(const char *label);
HT_EXPORT int heaptrail_recording(void);

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
