/* modules: see modules.h. */
#include "modules.h"

#include "mapmem.h"

#include "heaptrail_format.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *body; /* mmap'd, cap bytes */
static size_t body_len, body_cap;
static uint32_t gen;
static unsigned long long seen_adds, seen_subs; /* loader counters at last build */
static int (*listener)(void); /* modules_on_change */
static int listener_again; /* the listener asked to be called at the next refresh */

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
	void *m = b->p ? mapmem_remap(b->p, b->cap, cap, MAPMEM_MODULES)
		       : mapmem_map(cap, MAPMEM_MODULES, 0);
	if (!m) {
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

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses one /proc/self/maps line: if its range holds addr and its file is
 * an absolute path, copies the path to out and returns 1. */
static int maps_line(const char *l, size_t n, uint64_t addr, char *out, size_t cap)
{
	uint64_t lo = 0, hi = 0;
	size_t i = 0;
	int d;
	for (; i < n && (d = hexdigit(l[i])) >= 0; i++)
		lo = lo << 4 | (uint64_t)d;
	if (i >= n || l[i++] != '-')
		return 0;
	for (; i < n && (d = hexdigit(l[i])) >= 0; i++)
		hi = hi << 4 | (uint64_t)d;
	if (addr < lo || addr >= hi)
		return 0;
	/* perms offset dev inode, then the path from the first '/'. */
	for (int field = 0; field < 4 && i < n; field++) {
		while (i < n && l[i] == ' ')
			i++;
		while (i < n && l[i] != ' ')
			i++;
	}
	while (i < n && l[i] == ' ')
		i++;
	if (i >= n || l[i] != '/' || n - i >= cap)
		return 0;
	memcpy(out, l + i, n - i);
	out[n - i] = '\0';
	return 1;
}

/* The absolute path of the file mapped at addr, from /proc/self/maps: a
 * library dlopen'ed by a relative path has that relative path as its
 * dlpi_name, which names nothing once the analyzer runs elsewhere or the
 * program changed directory.  No allocation (runs inside the loader's
 * dl_iterate_phdr callback, possibly from a hook).  0 on success. */
static int mapped_path(uint64_t addr, char *out, size_t cap)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[2048], line[PATH_MAX + 128];
	size_t len = 0;
	int found = 0, skip = 0; /* skip: the rest of an over-long line */
	ssize_t r;
	while (!found && (r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < r && !found; k++) {
			if (buf[k] != '\n') {
				if (len < sizeof(line))
					line[len++] = buf[k];
				else
					skip = 1;
				continue;
			}
			if (!skip)
				found = maps_line(line, len, addr, out, cap);
			len = 0;
			skip = 0;
		}
	}
	close(fd);
	return found ? 0 : -1;
}

/* Scan output, per module: u64 bias, u64 lo, u64 hi, u64 len, then len
 * bytes of its encoded MODULES entry (path, bias, build-id, segments). */
static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	build_t *b = arg;
	uint64_t lo = UINT64_MAX, hi = 0, nload = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		nload++;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (grow(b, 32))
		return 0;
	size_t hdr = b->len;
	uint64_t head[4] = { info->dlpi_addr, lo, hi, 0 };
	memcpy(b->p + hdr, head, sizeof(head));
	b->len += sizeof(head);
	size_t body = b->len;
	const char *path = info->dlpi_name ? info->dlpi_name : "";
	char abs[PATH_MAX];
	/* Relative names only come from dlopen("dir/lib.so"); "" is the
	 * executable and names without a '/' are the vDSO's. */
	if (path[0] && path[0] != '/' && strchr(path, '/') && nload &&
	    mapped_path(lo, abs, sizeof(abs)) == 0)
		path = abs;
	bbytes(b, path, strlen(path));
	bvar(b, (uint64_t)info->dlpi_addr);
	const uint8_t *id;
	size_t idlen;
	build_id(info, &id, &idlen);
	bbytes(b, id, idlen);
	bvar(b, nload);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		bvar(b, ph->p_vaddr);
		bvar(b, ph->p_memsz);
		bvar(b, ph->p_flags);
	}
	if (!b->oom) {
		uint64_t len = b->len - body;
		memcpy(b->p + hdr + 24, &len, sizeof(len));
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

/* The map is cumulative: a module that was unloaded stays in it until a
 * newer module overlaps its addresses, so stacks interned while it was
 * loaded can still be symbolized however late the writer gets to them. */
#define MAX_MODS 8192
typedef struct mod {
	uint64_t lo, hi; /* address range of its PT_LOAD segments */
	const uint8_t *enc; /* encoded entry (in the arena) */
	uint64_t len;
	int seen; /* present in the latest scan */
} mod_t;

static mod_t *mods; /* mods_cap entries, mmap'd (grown by doubling) */
static size_t nmods, mods_cap;
static uint8_t *arena; /* copies of encoded entries; never freed */
static size_t arena_left;

static const uint8_t *keep_bytes(const uint8_t *p, size_t n)
{
	if (n > arena_left) {
		size_t chunk = n > 65536 ? n : 65536;
		void *m = mapmem_map(chunk, MAPMEM_MODULES, 0);
		if (!m)
			return NULL;
		arena = m;
		arena_left = chunk;
	}
	uint8_t *d = arena;
	memcpy(d, p, n);
	arena += n;
	arena_left -= n;
	return d;
}

/* Merges a scan into the table.  Caller holds the lock. */
static int merge(const build_t *scan)
{
	if (!mods) {
		mods = mapmem_map(256 * sizeof(mod_t), MAPMEM_MODULES, 0);
		if (!mods)
			return -ENOMEM;
		mods_cap = 256;
	}
	for (size_t i = 0; i < nmods; i++)
		mods[i].seen = 0;
	size_t first_new = nmods;
	for (size_t off = 0; off + 32 <= scan->len;) {
		uint64_t h[4];
		memcpy(h, scan->p + off, sizeof(h));
		const uint8_t *e = scan->p + off + 32;
		off += 32 + h[3];
		size_t i;
		for (i = 0; i < nmods; i++)
			if (mods[i].len == h[3] && mods[i].lo == h[1] && !memcmp(mods[i].enc, e, h[3]))
				break;
		if (i < nmods) {
			mods[i].seen = 1;
			continue;
		}
		if (nmods == mods_cap && mods_cap < MAX_MODS) {
			mod_t *m = mapmem_remap(mods, mods_cap * sizeof(mod_t),
						2 * mods_cap * sizeof(mod_t), MAPMEM_MODULES);
			if (!m)
				return -ENOMEM;
			mods = m;
			mods_cap *= 2;
		}
		if (nmods == mods_cap)
			continue;
		const uint8_t *copy = keep_bytes(e, h[3]);
		if (!copy)
			return -ENOMEM;
		mods[nmods++] = (mod_t){ h[1], h[2], copy, h[3], 1 };
	}
	/* Drop unloaded modules whose addresses a new module now uses. */
	size_t k = 0;
	for (size_t i = 0; i < nmods; i++) {
		int drop = 0;
		for (size_t j = first_new; !mods[i].seen && j < nmods && !drop; j++)
			drop = mods[j].seen && mods[i].lo < mods[j].hi && mods[j].lo < mods[i].hi;
		if (!drop)
			mods[k++] = mods[i];
	}
	nmods = k;
	return 0;
}

void modules_on_change(int (*fn)(void))
{
	listener = fn;
}

static void tell_listener(void)
{
	if (listener)
		__atomic_store_n(&listener_again, listener(), __ATOMIC_RELAXED);
}

uint32_t modules_refresh(int force)
{
	counters_t c = { 0, 0 };
	dl_iterate_phdr(read_counters, &c);
	uint32_t g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
	if (!force && g && c.adds == __atomic_load_n(&seen_adds, __ATOMIC_RELAXED) &&
	    c.subs == __atomic_load_n(&seen_subs, __ATOMIC_RELAXED)) {
		if (__builtin_expect(!!(__atomic_load_n(&listener_again, __ATOMIC_RELAXED)), 0))
			tell_listener();
		return g;
	}
	/* Scan without our lock (the loader lock is taken inside; a producer
	 * may hold the loader lock and wait for ours), then merge. */
	build_t scan = { 0 };
	dl_iterate_phdr(add_module, &scan);
	if (scan.oom) {
		mapmem_unmap(scan.p, scan.cap, MAPMEM_MODULES);
		return g;
	}
	pthread_mutex_lock(&lock);
	build_t b = { 0 };
	if (merge(&scan) == 0) {
		g = gen + 1;
		bvar(&b, g);
		bvar(&b, nmods);
		for (size_t i = 0; i < nmods && !b.oom; i++)
			if (!grow(&b, mods[i].len)) {
				memcpy(b.p + b.len, mods[i].enc, mods[i].len);
				b.len += mods[i].len;
			}
	} else {
		b.oom = 1;
	}
	if (!b.oom) {
		mapmem_unmap(body, body_cap, MAPMEM_MODULES);
		body = b.p;
		body_len = b.len;
		body_cap = b.cap;
		__atomic_store_n(&seen_adds, c.adds, __ATOMIC_RELAXED);
		__atomic_store_n(&seen_subs, c.subs, __ATOMIC_RELAXED);
		__atomic_store_n(&gen, g, __ATOMIC_RELEASE);
	} else {
		mapmem_unmap(b.p, b.cap, MAPMEM_MODULES);
	}
	g = gen;
	pthread_mutex_unlock(&lock);
	mapmem_unmap(scan.p, scan.cap, MAPMEM_MODULES);
	tell_listener();
	return g;
}

void modules_reset_child(void)
{
	pthread_mutex_init(&lock, NULL);
	/* Another thread may have been merging at fork: start over (the old
	 * memory stays mapped, untouched). */
	mods = NULL;
	nmods = mods_cap = 0;
	arena = NULL;
	arena_left = 0;
	body = NULL;
	body_len = body_cap = 0;
	seen_adds = seen_subs = 0;
	gen = 0;
	listener_again = 0;
}

uint32_t modules_gen(void)
{
	return __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
}

int modules_trylock(void)
{
	for (int i = 0; i < 100; i++) {
		if (pthread_mutex_trylock(&lock) == 0)
			return 0;
		sched_yield();
	}
	return -1;
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
