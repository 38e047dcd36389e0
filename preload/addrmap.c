/* addrmap: see addrmap.h.  Linear probing with backward-shift deletion (no
 * tombstones, so a long run of frees leaves no debris), doubled at 3/4
 * load. */
#include "addrmap.h"
#include "mapmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define MIN_BITS 12

static uint64_t *table_new(uint32_t bits)
{
	return mapmem_map((size_t)16 << bits, MAPMEM_WRITER, 0);
}

/* Same hash as addrmap_prefetch. */
static inline uint64_t home(uint64_t addr, uint32_t bits)
{
	return (addr * 0x9e3779b97f4a7c15ull) >> (64 - bits);
}

int addrmap_init(addrmap_t *m)
{
	memset(m, 0, sizeof(*m));
	m->slot = table_new(MIN_BITS);
	if (!m->slot)
		return -ENOMEM;
	m->bits = MIN_BITS;
	return 0;
}

void addrmap_fini(addrmap_t *m)
{
	if (m->slot)
		mapmem_unmap(m->slot, (size_t)16 << m->bits, MAPMEM_WRITER);
	memset(m, 0, sizeof(*m));
}

void addrmap_clear(addrmap_t *m)
{
	addrmap_fini(m);
	addrmap_init(m);
}

/* Inserts into a table known to have room. */
static void insert(uint64_t *slot, uint32_t bits, uint64_t addr, uint64_t val, uint64_t *used)
{
	uint64_t mask = ((uint64_t)1 << bits) - 1;
	for (uint64_t i = home(addr, bits);; i = (i + 1) & mask) {
		if (slot[2 * i] == addr) {
			slot[2 * i + 1] = val;
			return;
		}
		if (!slot[2 * i]) {
			slot[2 * i] = addr;
			slot[2 * i + 1] = val;
			(*used)++;
			return;
		}
	}
}

static int grow(addrmap_t *m)
{
	if (m->bits >= ADDRMAP_MAX_BITS)
		return -1;
	uint64_t *n = table_new(m->bits + 1);
	if (!n)
		return -1;
	uint64_t used = 0;
	for (uint64_t i = 0; i < ((uint64_t)1 << m->bits); i++)
		if (m->slot[2 * i])
			insert(n, m->bits + 1, m->slot[2 * i], m->slot[2 * i + 1], &used);
	mapmem_unmap(m->slot, (size_t)16 << m->bits, MAPMEM_WRITER);
	m->slot = n;
	m->bits++;
	m->used = used;
	return 0;
}

void addrmap_put(addrmap_t *m, uint64_t addr, uint64_t ord, unsigned cls)
{
	if (!m->slot || !addr)
		return;
	if (m->used + 1 > ((uint64_t)3 << m->bits) / 4 && grow(m)) {
		/* At the cap: start over rather than stop naming by age. */
		addrmap_clear(m);
		if (!m->slot)
			return;
	}
	insert(m->slot, m->bits, addr, ord << 8 | (cls & 0xff), &m->used);
}

int addrmap_take(addrmap_t *m, uint64_t addr, uint64_t *ord, unsigned *cls)
{
	if (!m->slot || !addr)
		return 0;
	uint64_t mask = ((uint64_t)1 << m->bits) - 1;
	uint64_t i = home(addr, m->bits);
	while (m->slot[2 * i] != addr) {
		if (!m->slot[2 * i])
			return 0;
		i = (i + 1) & mask;
	}
	*ord = m->slot[2 * i + 1] >> 8;
	*cls = (unsigned)(m->slot[2 * i + 1] & 0xff);
	/* Backward shift: move later members of the run into the hole when
	 * their home does not lie cyclically in (hole, their slot]. */
	uint64_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		uint64_t a = m->slot[2 * j];
		if (!a)
			break;
		uint64_t h = home(a, m->bits);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->slot[2 * i] = a;
			m->slot[2 * i + 1] = m->slot[2 * j + 1];
			i = j;
		}
	}
	m->slot[2 * i] = 0;
	m->slot[2 * i + 1] = 0;
	m->used--;
	return 1;
}
