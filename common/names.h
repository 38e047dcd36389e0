/* names: the names `heaptrail record` (analyzer/launcher/record.c) and
 * libheaptrail.so (preload/config.c) must agree on: signal names, the %p
 * expansion of a trace pattern, the default trace name.  Compiled into both
 * binaries.  Pure functions: thread-safe, async-signal-safe, no allocation,
 * no stdio, no environment. */
#ifndef HT_COMMON_NAMES_H
#define HT_COMMON_NAMES_H

#include <stddef.h>

/* A signal from its name or number: "USR2", "SIGUSR2", "usr2" (any case,
 * SIG prefix optional), "RTMIN", "RTMIN+3", "RTMAX-1", or a decimal number
 * from 1 to 64.  Returns the signal number or -EINVAL. */
int names_parse_signal(const char *text);

/* names_parse_signal, refusing what cannot take a snapshot (KILL and STOP
 * cannot be caught).  Returns the signal number or -EINVAL. */
int names_snapshot_signal(const char *text);

/* Writes pattern into buf (cap bytes, NUL-terminated) with every "%p"
 * replaced by pid and every "%%" by "%"; any other character, a lone '%'
 * included, is copied.  Returns how many %p were replaced (>= 0), or
 * -ENAMETOOLONG when buf is too small. */
int names_expand(const char *pattern, int pid, char *buf, size_t cap);

/* The trace name when no pattern is given: "heaptrail.<prog>.<pid>.htr",
 * <prog> being the last path component of argv0 (the program's argv[0], as
 * a user typed it; "prog" when empty or NULL).  0 or -ENAMETOOLONG. */
int names_default_trace(const char *argv0, int pid, char *buf, size_t cap);

#endif /* HT_COMMON_NAMES_H */
