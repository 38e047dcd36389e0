/* pymemo: see pymemo.h.
 * Direct-mapped: a slot holds the last (serial, frames) that hashed to it.
 * A slot keeps only the serial, the id and 32 bits of the hash; the frames
 * themselves are compared with the interned stack (stacks_get), which is
 * immutable once published. */
#include "pymemo.h"

#include "mapmem.h"

#include "stacks.h"

#include <stddef.h>
#include <sys/mman.h>

#define PYMEMO_BITS 12 /* 4096 slots, 64 KiB per thread that runs Python */

typedef struct slot {
	uint64_t serial; /* 0: empty (serials start at 1) */
	uint32_t id;
	uint32_t check; /* high half of the hash */
} slot_t;

static __thread slot_t *tab __attribute__((tls_model("initial-exec")));

static inline uint64_t frames_hash(uint64_t serial, const uint32_t *code, const uint32_t *line,
				   unsigned m)
{
	uint64_t h = serial * 0x9e3779b97f4a7c15ull ^ m;
	for (unsigned i = 0; i < m; i++)
		h = (h ^ stacks_py_word(code[i], line[i])) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

static inline slot_t *slot_of(uint64_t h)
{
	return &tab[h & ((1u << PYMEMO_BITS) - 1)];
}

uint32_t pymemo_find(uint64_t serial, const uint32_t *code, const uint32_t *line, unsigned m)
{
	if (!tab || !m)
		return 0;
	uint64_t h = frames_hash(serial, code, line, m);
	const slot_t *s = slot_of(h);
	if (s->serial != serial || s->check != (uint32_t)(h >> 32))
		return 0;
	const stack_entry_t *e = stacks_get(s->id);
	if (!e || e->m != m)
		return 0;
	const uint64_t *w = e->w + e->n;
	for (unsigned i = 0; i < m; i++)
		if (w[i] != stacks_py_word(code[i], line[i]))
			return 0;
	return s->id;
}

void pymemo_put(uint64_t serial, const uint32_t *code, const uint32_t *line, unsigned m,
		uint32_t id)
{
	if (!m)
		return;
	if (!tab) {
		void *p = mapmem_map(sizeof(slot_t) << PYMEMO_BITS, MAPMEM_PYTHON, 0);
		if (!p)
			return;
		tab = p;
	}
	uint64_t h = frames_hash(serial, code, line, m);
	slot_t *s = slot_of(h);
	s->serial = serial;
	s->id = id;
	s->check = (uint32_t)(h >> 32);
}

void pymemo_thread_exit(void)
{
	if (tab)
		mapmem_unmap(tab, sizeof(slot_t) << PYMEMO_BITS, MAPMEM_PYTHON);
	tab = NULL;
}
