/* gotpatch: see gotpatch.h.
 *
 * A slot is the 8-byte GOT word a JUMP_SLOT or GLOB_DAT relocation fills
 * with the address of the symbol the loader found.  Calls through the PLT
 * (JUMP_SLOT) and address loads (GLOB_DAT, -fno-plt code and function
 * pointers) both read it, so rewriting it redirects every later call the
 * module makes; calls already in flight finish where they were going. */
#include "gotpatch.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

/* One patched slot: enough to put it back. */
typedef struct saved {
	uintptr_t slot; /* address of the GOT word */
	uintptr_t old; /* its value before we wrote it */
	uintptr_t bias; /* dlpi_addr of its module */
	const char *name; /* its symbol (the caller's names[] string) */
	int prot; /* page protection to put back after a write; -1: writable */
} saved_t;

/* Grown on demand (mmap, never malloc: we may run inside malloc). */
static saved_t *saved;
static unsigned nsaved, cap_saved;

static int grow_saved(void)
{
	size_t old = cap_saved * sizeof(saved_t);
	size_t cap = cap_saved ? cap_saved * 2 : 4096 / sizeof(saved_t);
	void *m = saved ? mremap(saved, old, cap * sizeof(saved_t), MREMAP_MAYMOVE)
			: mmap(NULL, cap * sizeof(saved_t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	saved = m;
	cap_saved = (unsigned)cap;
	return 0;
}

/* The parts of one module the walk needs. */
typedef struct mod {
	uintptr_t bias, lo, hi; /* hi exclusive: PT_LOAD range */
	uintptr_t relro_lo, relro_hi; /* PT_GNU_RELRO, page-rounded; lo == hi: none */
	const struct dl_phdr_info *info;
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
} mod_t;

static int in_range(const mod_t *m, uintptr_t a)
{
	return a >= m->lo && a < m->hi;
}

static size_t page_size(void)
{
	size_t p = (size_t)getauxval(AT_PAGESZ);
	return p ? p : 4096;
}

/* The dynamic section's pointers: glibc adds the bias to most d_ptr values
 * in place, other loaders (and the vDSO) do not. */
static uintptr_t dyn_ptr(const mod_t *m, ElfW(Addr) v)
{
	return v < m->bias ? m->bias + v : v;
}

/* Protection of the PT_LOAD segment that holds a (PROT_* bits), -1: none. */
static int seg_prot(const mod_t *m, uintptr_t a)
{
	for (int i = 0; i < m->info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &m->info->dlpi_phdr[i];
		uintptr_t lo = m->bias + ph->p_vaddr;
		if (ph->p_type != PT_LOAD || a < lo || a >= lo + ph->p_memsz)
			continue;
		return (ph->p_flags & PF_R ? PROT_READ : 0) | (ph->p_flags & PF_W ? PROT_WRITE : 0) |
		       (ph->p_flags & PF_X ? PROT_EXEC : 0);
	}
	return -1;
}

/* Stores v at a; prot < 0: the page is writable, else the page is opened
 * for the store and given prot again.  0 or negative errno. */
static int store(uintptr_t a, uintptr_t v, int prot)
{
	if (prot < 0) {
		__atomic_store_n((uintptr_t *)a, v, __ATOMIC_RELEASE);
		return 0;
	}
	size_t ps = page_size();
	void *page = (void *)(a & ~(uintptr_t)(ps - 1));
	/* The word is 8-aligned, so it never straddles two pages. */
	if (mprotect(page, ps, PROT_READ | PROT_WRITE) != 0)
		return -errno;
	__atomic_store_n((uintptr_t *)a, v, __ATOMIC_RELEASE);
	mprotect(page, ps, prot);
	return 0;
}

/* The protection store() must restore for the slot at a: -1 for a
 * writable segment outside RELRO, PROT_READ for RELRO (the loader made it
 * read-only after relocating), the segment's own otherwise; -2: not in
 * any segment. */
static int slot_prot(const mod_t *m, uintptr_t a)
{
	int prot = seg_prot(m, a);
	if (prot < 0)
		return -2;
	if (a >= m->relro_lo && a < m->relro_hi)
		return PROT_READ;
	return prot & PROT_WRITE ? -1 : prot;
}

static saved_t *find_saved(uintptr_t slot)
{
	for (unsigned i = 0; i < nsaved; i++)
		if (saved[i].slot == slot)
			return &saved[i];
	return NULL;
}

/* Handles one relocation table (RELA entries). */
static void walk(const mod_t *m, const ElfW(Rela) *rel, size_t count, const char *const *names,
		 size_t n, gotpatch_decide_fn decide, void *arg, gotpatch_result_t *res)
{
	for (size_t r = 0; r < count; r++) {
		unsigned type = ELF64_R_TYPE(rel[r].r_info);
		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		size_t si = ELF64_R_SYM(rel[r].r_info);
		if (!si)
			continue;
		const ElfW(Sym) *s = &m->symtab[si];
		if (s->st_name >= m->strsz)
			continue;
		const char *name = m->strtab + s->st_name;
		size_t k;
		for (k = 0; k < n; k++)
			if (!strcmp(name, names[k]))
				break;
		if (k == n)
			continue;
		uintptr_t a = m->bias + rel[r].r_offset;
		if (!in_range(m, a) || (a & 7))
			continue;
		res->matched++;
		uintptr_t cur = *(const uintptr_t *)a;
		/* Not relocated yet (dl_iterate_phdr lists a module as soon as
		 * it is mapped): a GLOB_DAT slot still 0, a JUMP_SLOT still its
		 * link-time PLT address without the bias.  The loader will
		 * overwrite anything written now. */
		if (!cur || (m->bias && !in_range(m, cur) && in_range(m, cur + m->bias))) {
			res->unbound++;
			continue;
		}
		gotpatch_slot_t q = { k, (void *)cur, in_range(m, cur), s->st_shndx != SHN_UNDEF };
		uintptr_t to = (uintptr_t)decide(arg, &q);
		if (!to || to == cur)
			continue;
		saved_t *sv = find_saved(a);
		if (!sv && nsaved == cap_saved && grow_saved() != 0) {
			if (!res->err)
				res->err = -ENOMEM; /* a slot we could not put back: leave it */
			continue;
		}
		int prot = slot_prot(m, a);
		int err = prot == -2 ? -EFAULT : store(a, to, prot);
		if (err) {
			if (!res->err)
				res->err = err;
			continue;
		}
		if (!sv) /* a slot patched twice keeps its first old value */
			saved[nsaved++] = (saved_t){ a, cur, m->bias, names[k], prot };
		else
			sv->bias = m->bias;
		res->patched++;
	}
}

int gotpatch_module(const struct dl_phdr_info *info, const char *const *names, size_t n,
		    gotpatch_decide_fn decide, void *arg, gotpatch_result_t *res)
{
	memset(res, 0, sizeof(*res));
	mod_t m = { .bias = info->dlpi_addr, .lo = UINTPTR_MAX, .info = info };
	const ElfW(Dyn) *dyn = NULL;
	size_t ps = page_size();
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = m.bias + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			if (a < m.lo)
				m.lo = a;
			if (a + ph->p_memsz > m.hi)
				m.hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)a;
		} else if (ph->p_type == PT_GNU_RELRO) {
			/* The loader protects whole pages: from the page of the
			 * start to the page boundary below the end. */
			m.relro_lo = a & ~(uintptr_t)(ps - 1);
			m.relro_hi = (a + ph->p_memsz) & ~(uintptr_t)(ps - 1);
		}
	}
	if (!dyn || m.lo >= m.hi)
		return -ENOEXEC;
	uintptr_t jmprel = 0, rela = 0;
	size_t pltsz = 0, relasz = 0, relaent = sizeof(ElfW(Rela));
	long pltrel = DT_RELA;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB:
			m.symtab = (const ElfW(Sym) *)dyn_ptr(&m, dyn->d_un.d_ptr);
			break;
		case DT_STRTAB:
			m.strtab = (const char *)dyn_ptr(&m, dyn->d_un.d_ptr);
			break;
		case DT_STRSZ:
			m.strsz = dyn->d_un.d_val;
			break;
		case DT_JMPREL:
			jmprel = dyn_ptr(&m, dyn->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			pltsz = dyn->d_un.d_val;
			break;
		case DT_PLTREL:
			pltrel = (long)dyn->d_un.d_val;
			break;
		case DT_RELA:
			rela = dyn_ptr(&m, dyn->d_un.d_ptr);
			break;
		case DT_RELASZ:
			relasz = dyn->d_un.d_val;
			break;
		case DT_RELAENT:
			relaent = dyn->d_un.d_val;
			break;
		}
	}
	if (!m.symtab || !m.strtab || relaent != sizeof(ElfW(Rela)))
		return -ENOEXEC;
	if (jmprel && pltrel == DT_RELA)
		walk(&m, (const ElfW(Rela) *)jmprel, pltsz / sizeof(ElfW(Rela)), names, n, decide, arg, res);
	if (rela)
		walk(&m, (const ElfW(Rela) *)rela, relasz / sizeof(ElfW(Rela)), names, n, decide, arg, res);
	return 0;
}

/* Puts back one saved slot if its page is still mapped. */
static int restore_one(const saved_t *s)
{
	size_t ps = page_size();
	unsigned char vec;
	if (mincore((void *)(s->slot & ~(uintptr_t)(ps - 1)), ps, &vec) != 0)
		return 0; /* unmapped: the module is gone */
	return store(s->slot, s->old, s->prot) == 0;
}

unsigned gotpatch_restore(uintptr_t bias, int all)
{
	unsigned done = 0, k = 0;
	for (unsigned i = 0; i < nsaved; i++) {
		if (all || saved[i].bias == bias)
			done += (unsigned)restore_one(&saved[i]);
		else
			saved[k++] = saved[i];
	}
	nsaved = k;
	return done;
}

unsigned gotpatch_restore_name(const char *name, int match)
{
	unsigned done = 0, k = 0;
	for (unsigned i = 0; i < nsaved; i++) {
		if (!strcmp(saved[i].name, name) == !!match)
			done += (unsigned)restore_one(&saved[i]);
		else
			saved[k++] = saved[i];
	}
	nsaved = k;
	return done;
}

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

void *gotpatch_lookup(uintptr_t bias, const ElfW(Dyn) *dyn, const char *name)
{
	mod_t m = { .bias = bias };
	const uint32_t *gh = NULL;
	const ElfW(Half) *versym = NULL;
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_GNU_HASH)
			gh = (const uint32_t *)dyn_ptr(&m, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_SYMTAB)
			m.symtab = (const ElfW(Sym) *)dyn_ptr(&m, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			m.strtab = (const char *)dyn_ptr(&m, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRSZ)
			m.strsz = dyn->d_un.d_val;
		else if (dyn->d_tag == DT_VERSYM)
			versym = (const ElfW(Half) *)dyn_ptr(&m, dyn->d_un.d_ptr);
	}
	if (!gh || !m.symtab || !m.strtab)
		return NULL;
	/* Layout: nbuckets, symoffset, bloom words, bloom shift, the bloom
	 * filter (ELFCLASS64 words), the buckets, then one chain word per
	 * symbol from symoffset on (low bit set on the last of a chain). */
	uint32_t nbuckets = gh[0], symoffset = gh[1], nbloom = gh[2];
	if (!nbuckets)
		return NULL;
	const uint32_t *buckets = (const uint32_t *)((const uint64_t *)(gh + 4) + nbloom);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t h = gnu_hash(name);
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		uint32_t ch = chain[i - symoffset];
		const ElfW(Sym) *s = &m.symtab[i];
		if ((ch | 1) == (h | 1) && s->st_name < m.strsz && !strcmp(m.strtab + s->st_name, name) &&
		    s->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s->st_info) != STT_GNU_IFUNC &&
		    (ELF64_ST_BIND(s->st_info) == STB_GLOBAL || ELF64_ST_BIND(s->st_info) == STB_WEAK) &&
		    (!versym || !(versym[i] & 0x8000))) /* not a hidden (non-default) version */
			return (void *)(bias + s->st_value);
		if (ch & 1)
			return NULL;
	}
}

unsigned gotpatch_count(void)
{
	return nsaved;
}
