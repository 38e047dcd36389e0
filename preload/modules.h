/* modules: the process's module map (dl_iterate_phdr), kept as a ready,
 * cumulative MODULES record body (unloaded modules stay until another
 * module reuses their addresses).  Refreshed by producers, never by the
 * writer (a producer may hold the loader lock while it waits for the
 * writer); read by the writer under modules_trylock(). */
#ifndef HT_MODULES_H
#define HT_MODULES_H

#include <stddef.h>
#include <stdint.h>

/* Rebuilds the map if the loader's adds/subs counters changed (or force).
 * Returns the current generation (>= 1 once built, 0 if never built). */
uint32_t modules_refresh(int force);
/* Registers fn, called (outside the map's lock) after a refresh that saw
 * the loader's module list change; while fn returns nonzero it is called
 * again at every refresh, changed or not.  One listener. */
void modules_on_change(int (*fn)(void));
/* Generation of the current map without checking the loader. */
uint32_t modules_gen(void);

/* Writer side: with the lock held, body/len/gen describe the current map
 * (body = complete MODULES body: generation, count, modules...).  The
 * lock is taken with a few tries; 0 when locked, -1 when it stayed busy
 * (writer paths that may run at exit inside a signal handler). */
int modules_trylock(void);
void modules_unlock(void);
const uint8_t *modules_body(size_t *len, uint32_t *gen);

/* In a fork child: forget everything (locks and tables may have been
 * mid-update in another thread) so the next refresh rebuilds. */
void modules_reset_child(void);

/* Bounds of the executable segment containing addr (for unwind's self
 * filter).  0 or -ENOENT. */
int modules_text_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

#endif /* HT_MODULES_H */
