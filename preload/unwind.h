/* unwind: captures the native call stack of the calling thread for the
 * hooks.  Backend: libunwind's unw_backtrace (per-thread caching).  The
 * recorder's own leading frames are dropped.  Thread-safe after
 * unwind_init(); never allocates by itself. */
#ifndef HT_UNWIND_H
#define HT_UNWIND_H

#include <stdint.h>

/* Sets up the backend; self_lo/self_hi bound the recorder's own text
 * (frames inside it are dropped).  Descriptors the backend keeps open are
 * placed at high_fd or above.  Call once, before other threads unwind. */
int unwind_init(uintptr_t self_lo, uintptr_t self_hi, int high_fd);

/* Extra slots ips must have beyond max (the recorder's own frames are
 * captured too, then dropped). */
#define UNWIND_EXTRA 13

/* Stores at most max (<= STACKS_MAX_FRAMES) return addresses, innermost
 * first starting at the caller of the hooked function, into ips (room for
 * max + UNWIND_EXTRA).  Returns the count and sets *flags
 * (HT_STACK_TRUNCATED when frames were cut). */
unsigned unwind_capture(uint64_t *ips, unsigned max, unsigned *flags);

#endif /* HT_UNWIND_H */
