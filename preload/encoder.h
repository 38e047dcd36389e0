/* encoder: turns events and records into .htr bytes (heaptrail_format.h)
 * in a growable mmap'd buffer, tracking the decoder state (prev_addr,
 * current thread, the version 2 address model).  Used by the writer under
 * its lock; not thread-safe. */
#ifndef HT_ENCODER_H
#define HT_ENCODER_H

#include "addrmap.h"
#include "heaptrail_format.h"

#include <stddef.h>
#include <stdint.h>

typedef struct enc {
	uint8_t *buf; /* mmap'd output bytes not yet flushed */
	size_t len; /* bytes used in buf */
	size_t cap; /* bytes mapped; grows with mremap */
	uint64_t prev_addr; /* decoder's prev_addr */
	uint32_t thread; /* decoder's current thread index */
	int failed; /* set when growing the buffer failed (bytes dropped) */
	/* Address model (heaptrail_format.h, version 2). */
	uint64_t ord; /* allocations encoded since the image start */
	ht_lifo_t *lifo; /* mmap'd; NULL: every address is an addr code */
	addrmap_t live; /* blocks that may be freed by age */
	/* Set by the writer while it falls behind the program: no table
	 * lookups (frees as addresses, new blocks not noted); still exact. */
	int light;
	uint32_t free_site; /* decoder's free site (HT_REC_FREESITE), 0 = unknown */
} enc_t;

int enc_init(enc_t *e, size_t cap);
void enc_free(enc_t *e);
/* Resets the decoder state the way a PROCESS record does. */
void enc_reset_state(enc_t *e);
/* Makes room for n more bytes; 0 or -ENOMEM. */
int enc_reserve(enc_t *e, size_t n);

void enc_header(enc_t *e);
void enc_free_op(enc_t *e, uint64_t addr);
/* The site of the frees that follow: a FREESITE record when it differs
 * from the current one (writes nothing otherwise). */
void enc_free_site(enc_t *e, uint32_t stack);
/* Allocation of any kind: uses HT_OP_MALLOC for malloc, else HT_OP_ALLOC. */
void enc_alloc(enc_t *e, unsigned kind, uint64_t addr, uint64_t size, uint32_t stack,
	       uint64_t align);
void enc_realloc(enc_t *e, uint64_t old_addr, uint64_t new_addr, uint64_t size,
		 uint32_t stack);
/* Switches to thread index t (writes nothing if already current). */
void enc_thread(enc_t *e, uint32_t t);
void enc_time(enc_t *e, uint64_t delta_us);

/* Extended records: begin reserves room for the head and the length, the
 * caller appends the body with enc_put_* and end fixes up the length. */
size_t enc_rec_begin(enc_t *e, unsigned type);
void enc_rec_end(enc_t *e, size_t mark);
void enc_put_varint(enc_t *e, uint64_t v);
void enc_put_bytes(enc_t *e, const void *p, size_t n);
void enc_put_str(enc_t *e, const char *s, size_t n);

/* Convenience records. */
void enc_thread_rec(enc_t *e, uint32_t index, uint64_t tid, const char *name);
void enc_snapshot(enc_t *e, uint64_t index, unsigned origin, const char *label, size_t len);
void enc_rss(enc_t *e, uint64_t bytes);
void enc_lost(enc_t *e, uint64_t count, unsigned reason);
void enc_exec(enc_t *e, const char *path);
void enc_signal(enc_t *e, int sig, uint64_t time_us);
void enc_warning(enc_t *e, const char *text);
void enc_memory(enc_t *e, uint64_t peak, uint64_t now);
/* ATTACH (after PROCESS and CLOCK) and DETACH (before END). */
void enc_attach(enc_t *e, uint64_t proc_start_ns, uint64_t attacher);
void enc_detach(enc_t *e, uint64_t time_us);
void enc_end(enc_t *e, uint64_t events, uint64_t lost, uint64_t end_us);
/* STACK: frames innermost first; py = m words (code id << 32 | line). */
void enc_stack(enc_t *e, uint32_t id, unsigned flags, const uint64_t *ips, unsigned n,
	       const uint64_t *py, unsigned m);

#endif /* HT_ENCODER_H */
