/* heaptrail public API: lets a program mark named snapshots in its trace.
 * Safe to keep in production code: when libheaptrail.so is not loaded the
 * calls do nothing.  The implementation is found through a weak reference,
 * or, where the link editor resolved that to NULL (a non-PIE executable gets
 * no dynamic relocation for an undefined weak symbol), through dlsym once.
 * glibc >= 2.34 has dlsym in libc; older ones need -ldl.
 * Thread-safe; async-signal-safe it is not. */
#ifndef HEAPTRAIL_H
#define HEAPTRAIL_H

#include <dlfcn.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Implementation symbols exported by libheaptrail.so.  Call the inline
 * wrappers below, never these directly. */
extern int heaptrail_snapshot_impl(const char *label) __attribute__((weak));
extern int heaptrail_recording_impl(void) __attribute__((weak));
extern long long heaptrail_heap_bytes_impl(void) __attribute__((weak));
extern long long heaptrail_heap_peak_impl(void) __attribute__((weak));
extern int heaptrail_heap_peak_reset_impl(void) __attribute__((weak));

/* Marks a snapshot named `label` (may be NULL; at most 255 bytes are kept)
 * at this point of the event order.  The analyzer's `snapshots`, `top --at`
 * and `diff --from/--to` refer to it by label or by index.
 * Returns 0 when the mark was recorded, -1 when no recorder is loaded or it
 * is not recording (then nothing happens). */
static inline int heaptrail_snapshot(const char *label);

/* Returns 1 when this process is being recorded, 0 otherwise. */
static inline int heaptrail_recording(void);

/* The process's live heap in bytes, as the recorder counts it: every block
 * allocated and not yet freed since recording started, at its
 * malloc_usable_size (at least the requested size; on glibc x86-64 a
 * request of 24 + 16k bytes is counted exactly).  Per-thread counters, so
 * calling it costs a sum over the threads, and allocating costs no lock.
 * Returns -1 when no recorder is loaded or it is not recording. */
static inline long long heaptrail_heap_bytes(void);

/* The highest heap_bytes since the last heaptrail_heap_peak_reset() (or
 * the start), in bytes.  Exact while one thread at a time allocates or
 * frees; with several at once an upper bound.  -1 when not recording. */
static inline long long heaptrail_heap_peak(void);

/* Starts a new peak at the current heap.  0, or -1 when not recording. */
static inline int heaptrail_heap_peak_reset(void);

typedef int (*heaptrail__snapshot_fn)(const char *);
typedef int (*heaptrail__recording_fn)(void);
typedef long long (*heaptrail__bytes_fn)(void);

/* dlsym(RTLD_DEFAULT, name) stored into a function pointer the POSIX way
 * (through a void ** alias, which ISO C accepts); (void *)0 is glibc's
 * RTLD_DEFAULT, spelled out so that callers need not define _GNU_SOURCE.
 * Looked up once per translation unit: a failed dlsym sets dlerror(), which
 * the program may be using. */
#define HEAPTRAIL__RESOLVE(type, weak, name)                                  \
	do {                                                                 \
		static type cache;                                           \
		static int tried;                                            \
		fn = weak;                                                   \
		if (fn)                                                      \
			break;                                               \
		if (!__atomic_load_n(&tried, __ATOMIC_ACQUIRE)) {            \
			type found;                                          \
			*(void **)(&found) = dlsym((void *)0, name);         \
			__atomic_store_n(&cache, found, __ATOMIC_RELAXED);   \
			__atomic_store_n(&tried, 1, __ATOMIC_RELEASE);       \
		}                                                            \
		fn = __atomic_load_n(&cache, __ATOMIC_RELAXED);              \
	} while (0)

static inline int heaptrail_snapshot(const char *label)
{
	heaptrail__snapshot_fn fn;
	HEAPTRAIL__RESOLVE(heaptrail__snapshot_fn, heaptrail_snapshot_impl,
			   "heaptrail_snapshot_impl");
	return fn ? fn(label) : -1;
}

static inline int heaptrail_recording(void)
{
	heaptrail__recording_fn fn;
	HEAPTRAIL__RESOLVE(heaptrail__recording_fn, heaptrail_recording_impl,
			   "heaptrail_recording_impl");
	return fn ? fn() : 0;
}

static inline long long heaptrail_heap_bytes(void)
{
	heaptrail__bytes_fn fn;
	HEAPTRAIL__RESOLVE(heaptrail__bytes_fn, heaptrail_heap_bytes_impl,
			   "heaptrail_heap_bytes_impl");
	return fn ? fn() : -1;
}

static inline long long heaptrail_heap_peak(void)
{
	heaptrail__bytes_fn fn;
	HEAPTRAIL__RESOLVE(heaptrail__bytes_fn, heaptrail_heap_peak_impl,
			   "heaptrail_heap_peak_impl");
	return fn ? fn() : -1;
}

static inline int heaptrail_heap_peak_reset(void)
{
	heaptrail__recording_fn fn;
	HEAPTRAIL__RESOLVE(heaptrail__recording_fn, heaptrail_heap_peak_reset_impl,
			   "heaptrail_heap_peak_reset_impl");
	return fn ? fn() : -1;
}

#ifdef __cplusplus
}
#endif

#endif /* HEAPTRAIL_H */
