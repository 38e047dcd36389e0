/* util: small async-signal-safe helpers for the recorder (futex, clocks,
 * raw /proc reads, one-line messages built in a stack buffer).
 * Called from hooks, the writer thread and signal handlers; every function
 * is thread-safe and never allocates or uses stdio. */
#ifndef HT_UTIL_H
#define HT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define HT_LIKELY(x) __builtin_expect(!!(x), 1)
#define HT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HT_EXPORT __attribute__((visibility("default")))
/* On extern data declared in a header: the library's own, so other files
 * address it directly (no GOT load on the hot path). */
#define HT_HIDDEN __attribute__((visibility("hidden")))

/* Futex wait on *addr while it equals val, for at most timeout_ns (0 = no
 * limit).  Spurious returns are fine: callers re-check their condition. */
void util_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns);
/* Wakes every waiter on addr. */
void util_futex_wake(uint32_t *addr);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
uint64_t util_mono_ns(void);
uint64_t util_real_ns(void);

/* Kernel thread id of the caller (raw syscall, no caching). */
int util_gettid(void);
/* fcntl by raw syscall: the recorder's own calls, which the program's
 * view of fcntl (fdguard.c) must not refuse for the trace descriptor. */
int util_fcntl(int fd, int cmd, long arg);

/* Gives signal sig its default action (async-signal-safe). */
void util_signal_default(int sig);

/* Reads up to cap-1 bytes of a /proc file into buf with open/read; NUL
 * terminates.  Returns the byte count or negative errno. */
long util_read_file(const char *path, char *buf, size_t cap);

/* Line builder over a caller-provided buffer (truncates, never overflows). */
typedef struct util_line {
	char *buf; /* storage, owned by the caller */
	size_t cap; /* bytes available in buf */
	size_t len; /* bytes used, always < cap */
} util_line_t;

void util_line_str(util_line_t *l, const char *s);
void util_line_u64(util_line_t *l, uint64_t v);

/* Writes "heaptrail: <msg>\n" with one write(2) to the message
 * descriptor (msgfd.h: the wrapper's, or a terminal; never the program's).  Lines are
 * rate-limited (a process prints at most a few dozen).  `error` lines are
 * printed even under HEAPTRAIL_QUIET=1. */
void util_say(int error, const char *msg);
/* Set once at startup from HEAPTRAIL_QUIET. */
extern int util_quiet HT_HIDDEN;

/* Formats v in decimal into buf (>= 21 bytes); returns length. */
size_t util_fmt_u64(char *buf, uint64_t v);
/* Parses a decimal unsigned integer; returns 0 or -EINVAL. */
int util_parse_u64(const char *s, uint64_t *out);

#endif /* HT_UTIL_H */
