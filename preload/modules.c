/* modules: see modules.h. */
#include "modules.h"

#include "heaptrail_format.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *body; /* mmap'd, cap bytes */
static size_t body_len, body_cap;
static uint32_t gen;
static unsigned long long seen_adds, seen_subs; /* loader counters at last build */

/* Scratch buffer used while building (under lock). */
typedef struct build {
	uint8_t *p;
	size_t len, cap;
	int oom;
	uint64_t count;
} build_t;

static int grow(build_t *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap * 2 : 65536;
	while (cap < b->len + n)
		cap *= 2;
	void *m = b->p ? mremap(b->p, b->cap, cap, MREMAP_MAYMOVE)
		       : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		b->oom = 1;
		return -1;
	}
	b->p = m;
	b->cap = cap;
	return 0;
}

static void bvar(build_t *b, uint64_t v)
{
	if (!grow(b, HT_VARINT_MAX))
		b->len += ht_put_varint(b->p + b->len, v);
}

static void bbytes(build_t *b, const void *p, size_t n)
{
	bvar(b, n);
	if (!grow(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

/* Finds the GNU build-id note in the loaded image. */
static void build_id(struct dl_phdr_info *info, const uint8_t **id, size_t *len)
{
	*id = NULL;
	*len = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t nsz = (nh->n_namesz + 3) & ~(size_t)3;
			size_t dsz = (nh->n_descsz + 3) & ~(size_t)3;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + nsz;
			if (desc + dsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4)) {
				*id = desc;
				*len = nh->n_descsz;
				return;
			}
			p = desc + dsz;
		}
	}
}

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	build_t *b = arg;
	const char *path = info->dlpi_name ? info->dlpi_name : "";
	bbytes(b, path, strlen(path));
	bvar(b, (uint64_t)info->dlpi_addr);
	const uint8_t *id;
	size_t idlen;
	build_id(info, &id, &idlen);
	bbytes(b, id, idlen);
	uint64_t nload = 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		nload += info->dlpi_phdr[i].p_type == PT_LOAD;
	bvar(b, nload);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		bvar(b, ph->p_vaddr);
		bvar(b, ph->p_memsz);
		bvar(b, ph->p_flags);
	}
	b->count++;
	return 0;
}

typedef struct counters {
	unsigned long long adds, subs;
} counters_t;

static int read_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
	counters_t *c = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c->adds = info->dlpi_adds;
		c->subs = info->dlpi_subs;
	}
	return 1; /* the counters are the same in every callback */
}

uint32_t modules_refresh(int force)
{
	counters_t c = { 0, 0 };
	dl_iterate_phdr(read_counters, &c);
	uint32_t g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
	if (!force && g && c.adds == seen_adds && c.subs == seen_subs)
		return g;
	/* Build outside the lock (the loader lock is taken inside), then
	 * swap in.  Two producers racing both build; the later wins. */
	build_t mods = { 0 };
	dl_iterate_phdr(add_module, &mods);
	build_t b = { 0 };
	pthread_mutex_lock(&lock);
	g = gen + 1;
	bvar(&b, g);
	bvar(&b, mods.count);
	if (!grow(&b, mods.len) && mods.len) {
		memcpy(b.p + b.len, mods.p, mods.len);
		b.len += mods.len;
	}
	if (b.oom || mods.oom) {
		if (b.p)
			munmap(b.p, b.cap);
		pthread_mutex_unlock(&lock);
		if (mods.p)
			munmap(mods.p, mods.cap);
		return gen;
	}
	if (body)
		munmap(body, body_cap);
	body = b.p;
	body_len = b.len;
	body_cap = b.cap;
	seen_adds = c.adds;
	seen_subs = c.subs;
	__atomic_store_n(&gen, g, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	if (mods.p)
		munmap(mods.p, mods.cap);
	return g;
}

uint32_t modules_gen(void)
{
	return __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
}

void modules_lock(void)
{
	pthread_mutex_lock(&lock);
}

void modules_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

const uint8_t *modules_body(size_t *len, uint32_t *g)
{
	*len = body_len;
	*g = gen;
	return body;
}

typedef struct range_q {
	uintptr_t addr, lo, hi;
	int found;
} range_q_t;

static int find_range(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	range_q_t *q = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		uintptr_t hi = lo + ph->p_memsz;
		if (q->addr >= lo && q->addr < hi) {
			q->lo = lo;
			q->hi = hi;
			q->found = 1;
			return 1;
		}
	}
	return 0;
}

int modules_text_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	range_q_t q = { addr, 0, 0, 0 };
	dl_iterate_phdr(find_range, &q);
	if (!q.found)
		return -ENOENT;
	*lo = q.lo;
	*hi = q.hi;
	return 0;
}
