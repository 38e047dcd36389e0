/* mapmem: see mapmem.h. */
#include "mapmem.h"

#include <sys/mman.h>

static uint64_t total_now, total_peak;
static uint64_t use_now[MAPMEM_NUSES], use_peak[MAPMEM_NUSES];

/* The start-up transaction's mappings (mapmem_track_begin). */
#define TRACK_MAX 128
static struct {
	void *p;
	size_t len; /* page-rounded */
	enum mapmem_use use;
} tracked[TRACK_MAX];
static int tracking, ntracked;

static void track_add(void *p, size_t len, enum mapmem_use use)
{
	if (tracking && ntracked < TRACK_MAX)
		tracked[ntracked++] = (typeof(tracked[0])){ p, len, use };
}

static void track_drop(void *p)
{
	for (int i = 0; tracking && i < ntracked; i++)
		if (tracked[i].p == p) {
			tracked[i] = tracked[--ntracked];
			return;
		}
}

static const char *const use_names[MAPMEM_NUSES] = {
	[MAPMEM_RING] = "rings",
	[MAPMEM_STACKS] = "stacks",
	[MAPMEM_UNWIND] = "unwind",
	[MAPMEM_MODULES] = "modules",
	[MAPMEM_PYTHON] = "python",
	[MAPMEM_WRITER] = "writer",
};

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

static void raise_peak(uint64_t *peak, uint64_t now)
{
	uint64_t p = __atomic_load_n(peak, __ATOMIC_RELAXED);
	while (now > p &&
	       !__atomic_compare_exchange_n(peak, &p, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void *mapmem_map(size_t n, enum mapmem_use use, int noreserve)
{
	size_t len = page_round(n);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0), -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint64_t now = __atomic_add_fetch(&total_now, len, __ATOMIC_RELAXED);
	raise_peak(&total_peak, now);
	uint64_t u = __atomic_add_fetch(&use_now[use], len, __ATOMIC_RELAXED);
	raise_peak(&use_peak[use], u);
	track_add(m, len, use);
	return m;
}

void mapmem_unmap(void *p, size_t n, enum mapmem_use use)
{
	if (!p)
		return;
	size_t len = page_round(n);
	if (munmap(p, len) != 0)
		return;
	track_drop(p);
	__atomic_sub_fetch(&total_now, len, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&use_now[use], len, __ATOMIC_RELAXED);
}

void *mapmem_remap(void *p, size_t old_n, size_t new_n, enum mapmem_use use)
{
	size_t olen = page_round(old_n), nlen = page_round(new_n);
	void *m = mremap(p, olen, nlen, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		return NULL;
	track_drop(p);
	track_add(m, nlen, use);
	if (nlen >= olen) {
		uint64_t now = __atomic_add_fetch(&total_now, nlen - olen, __ATOMIC_RELAXED);
		raise_peak(&total_peak, now);
		uint64_t u = __atomic_add_fetch(&use_now[use], nlen - olen, __ATOMIC_RELAXED);
		raise_peak(&use_peak[use], u);
	} else {
		__atomic_sub_fetch(&total_now, olen - nlen, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&use_now[use], olen - nlen, __ATOMIC_RELAXED);
	}
	return m;
}

void mapmem_track_begin(void)
{
	ntracked = 0;
	tracking = 1;
}

void mapmem_track_end(int release)
{
	tracking = 0;
	for (int i = 0; release && i < ntracked; i++) {
		if (munmap(tracked[i].p, tracked[i].len) != 0)
			continue;
		__atomic_sub_fetch(&total_now, tracked[i].len, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&use_now[tracked[i].use], tracked[i].len, __ATOMIC_RELAXED);
	}
	ntracked = 0;
}

uint64_t mapmem_now(void)
{
	return __atomic_load_n(&total_now, __ATOMIC_RELAXED);
}

uint64_t mapmem_peak(void)
{
	return __atomic_load_n(&total_peak, __ATOMIC_RELAXED);
}

void mapmem_use_stats(enum mapmem_use use, uint64_t *now, uint64_t *peak)
{
	*now = __atomic_load_n(&use_now[use], __ATOMIC_RELAXED);
	*peak = __atomic_load_n(&use_peak[use], __ATOMIC_RELAXED);
}

const char *mapmem_use_name(enum mapmem_use use)
{
	return use < MAPMEM_NUSES ? use_names[use] : "?";
}
