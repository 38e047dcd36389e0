/* pymemo: stackid.c's private per-thread cache of stack ids by (native
 * chain, Python frames).  One native chain of the evaluation loop runs many
 * Python lines, so the single memo per chain keeps missing for Python; this
 * table keeps the ids of the other combinations.  Called by stackid.c only,
 * on the hot path (calling thread only, no locks, no allocation after the
 * first use, which maps the table). */
#ifndef HT_PYMEMO_H
#define HT_PYMEMO_H

#include <stdint.h>

/* The id interned for the native stack of chain `serial` (unwind_note_t.serial)
 * with these m Python frames, or 0.  Exact: a candidate is compared with
 * the interned stack's Python frames, and a serial names one native stack
 * (flags included) for the life of the thread. */
uint32_t pymemo_find(uint64_t serial, const uint32_t *code, const uint32_t *line, unsigned m);
/* Notes id for (serial, frames); m >= 1.  Silently does nothing when the
 * table cannot be mapped. */
void pymemo_put(uint64_t serial, const uint32_t *code, const uint32_t *line, unsigned m,
		uint32_t id);
/* The calling thread is exiting: releases its table. */
void pymemo_thread_exit(void);

#endif /* HT_PYMEMO_H */
