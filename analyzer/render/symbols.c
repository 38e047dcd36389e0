/* Offline symbolization with elfutils libdw; see symbols.h. */
#include "render/symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How far a module got when it was opened. */
enum mod_state {
	MOD_UNOPENED = 0,
	MOD_DWARF, /* function, file, line, inlines */
	MOD_SYMTAB, /* function names from the ELF symbol table only */
	MOD_RAW, /* unusable (missing, changed): module+offset */
};

/* One address range of a function definition (DWARF addresses). */
struct fn_range {
	Dwarf_Addr lo, hi; /* [lo, hi) */
	Dwarf_Off die; /* its DW_TAG_subprogram */
};

/* The function definitions of one compile unit, sorted by lo: finding the
 * function of an address is then a binary search instead of a walk of the
 * CU's whole DIE tree per address (dwarf_getscopes), which dominated the
 * cost on big libraries such as libpython. */
struct cu_funcs {
	Dwarf_Off cu; /* CU DIE offset */
	struct fn_range *v;
	size_t n;
};

/* A module instance, shared by every map that lists the same path, bias
 * and build-id (maps differ by one dlopen'd library at a time, so a module
 * is opened and parsed once however many generations list it). */
struct sym_mod {
	char *path; /* as recorded, "" replaced by the exe path */
	uint64_t bias; /* load bias (dlpi_addr) */
	uint8_t *build_id; /* as recorded; NULL when none */
	size_t build_id_len;
	uint64_t (*segs)[3]; /* recorded PT_LOAD {p_vaddr, p_memsz, p_flags} */
	size_t nsegs;
	enum mod_state state;
	Dwfl *dwfl; /* one session per module: its own address space */
	Dwfl_Module *dm;
	GElf_Addr dwfl_bias; /* dwfl address = ELF address + dwfl_bias */
	struct cu_funcs *cus; /* per-CU function tables, built on use */
	size_t ncus, capcus;
	/* Index + 1 of the module whose libdw session and tables this one
	 * uses (the same file and build-id loaded at another bias: another
	 * process of the run, under ASLR), 0 = its own.  Symbolizing works
	 * on ELF addresses, which the bias does not change. */
	size_t twin;
};

/* One recorded segment of a map: [start, end) in the process. */
struct sym_range {
	uint64_t start;
	uint64_t end;
	uint32_t mod; /* index into sym->mods */
};

/* The module map of one generation. */
struct sym_map {
	uint64_t generation;
	struct sym_range *ranges; /* sorted by start once sorted != 0 */
	size_t n, cap;
	int sorted;
};

/* Cache entry: one symbolized address.  mod is the module index + 1
 * (0 = no module), so equal addresses in different modules (a library
 * reloaded elsewhere) stay apart, while all generations listing the same
 * module share entries. */
struct sym_entry {
	uint64_t addr; /* ip - 1 */
	uint32_t mod;
	uint32_t n; /* frames; 0 = empty slot */
	sym_frame_t *frames;
};

struct sym {
	int enabled;
	char *exe_path;
	struct sym_mod *mods;
	size_t nmods, capmods;
	struct sym_map *maps;
	size_t nmaps, capmaps;
	struct sym_map *cur; /* map being filled by sym_module_add */
	uint64_t last_gen; /* map_find's last question ... */
	size_t last_map; /* ... and answer + 1 (0 = none cached) */
	struct sym_entry *cache; /* open addressing, power-of-two size */
	size_t cache_n, cache_cap;
	char **strs; /* interned strings, open addressing */
	size_t strs_n, strs_cap;
	char **warnings;
	size_t nwarnings, capwarnings;
	/* libstdc++'s demangler, looked up on the first mangled name. */
	char *(*demangle)(const char *, char *, size_t *, int *);
	int demangle_tried;
	void *stdcxx;
};

static const Dwfl_Callbacks sym_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

/* Returns the interned copy of s (NULL for NULL or on ENOMEM: then the
 * frame just shows less). */
static const char *intern(sym_t *sym, const char *s)
{
	if (!s)
		return NULL;
	if (sym->strs_n * 2 >= sym->strs_cap) {
		size_t ncap = sym->strs_cap ? sym->strs_cap * 2 : 256;
		char **n = calloc(ncap, sizeof *n);
		if (!n)
			return NULL;
		for (size_t i = 0; i < sym->strs_cap; i++) {
			char *o = sym->strs[i];
			if (!o)
				continue;
			size_t j = hash_str(o) & (ncap - 1);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = o;
		}
		free(sym->strs);
		sym->strs = n;
		sym->strs_cap = ncap;
	}
	size_t j = hash_str(s) & (sym->strs_cap - 1);
	while (sym->strs[j]) {
		if (!strcmp(sym->strs[j], s))
			return sym->strs[j];
		j = (j + 1) & (sym->strs_cap - 1);
	}
	char *c = strdup(s);
	if (!c)
		return NULL;
	sym->strs[j] = c;
	sym->strs_n++;
	return c;
}

/* Adds a warning unless the same text was said already. */
__attribute__((format(printf, 2, 3))) static void warn(sym_t *sym,
						       const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < sym->nwarnings; i++)
		if (!strcmp(sym->warnings[i], buf))
			return;
	if (grow((void **)&sym->warnings, &sym->capwarnings,
		 sym->nwarnings + 1, sizeof *sym->warnings))
		return;
	char *c = strdup(buf);
	if (c)
		sym->warnings[sym->nwarnings++] = c;
}

sym_t *sym_new(void)
{
	sym_t *sym = calloc(1, sizeof *sym);
	if (sym)
		sym->enabled = 1;
	return sym;
}

void sym_free(sym_t *sym)
{
	if (!sym)
		return;
	for (size_t i = 0; i < sym->nmods; i++) {
		struct sym_mod *m = &sym->mods[i];
		if (m->dwfl)
			dwfl_end(m->dwfl);
		for (size_t k = 0; k < m->ncus; k++)
			free(m->cus[k].v);
		free(m->cus);
		free(m->path);
		free(m->build_id);
		free(m->segs);
	}
	free(sym->mods);
	for (size_t i = 0; i < sym->nmaps; i++)
		free(sym->maps[i].ranges);
	free(sym->maps);
	for (size_t i = 0; i < sym->cache_cap; i++)
		free(sym->cache[i].frames);
	free(sym->cache);
	for (size_t i = 0; i < sym->strs_cap; i++)
		free(sym->strs[i]);
	free(sym->strs);
	for (size_t i = 0; i < sym->nwarnings; i++)
		free(sym->warnings[i]);
	free(sym->warnings);
	free(sym->exe_path);
	if (sym->stdcxx)
		dlclose(sym->stdcxx);
	free(sym);
}

void sym_set_enabled(sym_t *sym, int enabled)
{
	sym->enabled = enabled;
}

void sym_set_exe_path(sym_t *sym, const char *path)
{
	char *c = path && *path ? strdup(path) : NULL;
	free(sym->exe_path);
	sym->exe_path = c;
}

void sym_modules_begin(sym_t *sym, uint64_t generation)
{
	sym->cur = NULL;
	sym->last_map = 0; /* a new map may answer better */
	for (size_t i = 0; i < sym->nmaps; i++) {
		if (sym->maps[i].generation == generation) {
			sym->maps[i].n = 0;
			sym->maps[i].sorted = 0;
			sym->cur = &sym->maps[i];
			return;
		}
	}
	if (grow((void **)&sym->maps, &sym->capmaps, sym->nmaps + 1,
		 sizeof *sym->maps))
		return; /* resolving then shows raw addresses */
	sym->cur = &sym->maps[sym->nmaps++];
	memset(sym->cur, 0, sizeof *sym->cur);
	sym->cur->generation = generation;
}

/* Index of the module instance (path, bias, build-id), created if new;
 * -1 on ENOMEM. */
static long mod_intern(sym_t *sym, const char *path, uint64_t bias,
		       const uint8_t *build_id, size_t build_id_len,
		       const uint64_t (*segs)[3], size_t nsegs)
{
	for (size_t i = 0; i < sym->nmods; i++) {
		struct sym_mod *m = &sym->mods[i];
		if (m->bias == bias && m->build_id_len == build_id_len &&
		    !strcmp(m->path, path) &&
		    (!build_id_len ||
		     !memcmp(m->build_id, build_id, build_id_len)))
			return (long)i;
	}
	if (grow((void **)&sym->mods, &sym->capmods, sym->nmods + 1,
		 sizeof *sym->mods))
		return -1;
	struct sym_mod m = { .bias = bias, .build_id_len = build_id_len,
			     .nsegs = nsegs };
	m.path = strdup(path);
	if (build_id_len)
		m.build_id = malloc(build_id_len);
	if (nsegs)
		m.segs = malloc(nsegs * sizeof *m.segs);
	if (!m.path || (build_id_len && !m.build_id) || (nsegs && !m.segs)) {
		free(m.path);
		free(m.build_id);
		free(m.segs);
		return -1;
	}
	if (build_id_len)
		memcpy(m.build_id, build_id, build_id_len);
	if (nsegs)
		memcpy(m.segs, segs, nsegs * sizeof *m.segs);
	sym->mods[sym->nmods] = m;
	return (long)sym->nmods++;
}

void sym_module_add(sym_t *sym, const char *path, uint64_t bias,
		    const uint8_t *build_id, size_t build_id_len,
		    const uint64_t (*segs)[3], size_t nsegs)
{
	struct sym_map *map = sym->cur;
	if (!map)
		return;
	if (!path)
		path = "";
	if (!*path && sym->exe_path)
		path = sym->exe_path;
	long mi = mod_intern(sym, path, bias, build_id, build_id_len, segs,
			     nsegs);
	if (mi < 0)
		return;
	if (grow((void **)&map->ranges, &map->cap, map->n + nsegs,
		 sizeof *map->ranges))
		return;
	for (size_t i = 0; i < nsegs; i++) {
		if (!segs[i][1])
			continue;
		struct sym_range *r = &map->ranges[map->n++];
		r->start = bias + segs[i][0];
		r->end = r->start + segs[i][1];
		r->mod = (uint32_t)mi;
	}
	map->sorted = 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct sym_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The map for `generation`: exact, else the newest older one, else the
 * oldest (an address recorded before any MODULES is best-effort). */
static struct sym_map *map_find(sym_t *sym, uint64_t generation)
{
	/* Stacks come in runs of one generation: remember the last. */
	if (sym->last_map && sym->last_gen == generation)
		return &sym->maps[sym->last_map - 1];
	struct sym_map *best = NULL, *oldest = NULL;
	for (size_t i = 0; i < sym->nmaps; i++) {
		struct sym_map *m = &sym->maps[i];
		if (m->generation == generation) {
			best = m;
			break;
		}
		if (m->generation < generation &&
		    (!best || m->generation > best->generation))
			best = m;
		if (!oldest || m->generation < oldest->generation)
			oldest = m;
	}
	if (!best)
		best = oldest;
	if (best) {
		sym->last_gen = generation;
		sym->last_map = (size_t)(best - sym->maps) + 1;
	}
	return best;
}

/* Module index + 1 containing addr in map (0 = none). */
static uint32_t map_lookup(struct sym_map *map, uint64_t addr)
{
	if (!map || !map->n)
		return 0;
	if (!map->sorted) {
		qsort(map->ranges, map->n, sizeof *map->ranges, range_cmp);
		map->sorted = 1;
	}
	size_t lo = 0, hi = map->n;
	while (lo < hi) { /* first range with start > addr */
		size_t mid = lo + (hi - lo) / 2;
		if (map->ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges do not overlap in a real process; scan back a little in
	 * case a bogus map has nested ones. */
	for (size_t i = lo; i-- > 0 && lo - i <= 4;)
		if (addr >= map->ranges[i].start && addr < map->ranges[i].end)
			return map->ranges[i].mod + 1;
	return 0;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n && i < 64; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Whether the file's PT_LOAD segments are the recorded ones (used when no
 * build-id was recorded). */
static int segs_match(struct sym_mod *m)
{
	GElf_Addr b;
	Elf *elf = dwfl_module_getelf(m->dm, &b);
	size_t nph;
	if (!elf || elf_getphdrnum(elf, &nph))
		return 1; /* cannot tell: do not cry wolf */
	size_t k = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (k >= m->nsegs || m->segs[k][0] != ph.p_vaddr ||
		    m->segs[k][1] != ph.p_memsz)
			return 0;
		k++;
	}
	return k == m->nsegs;
}

/* Debian's package with the debug info of a CPython interpreter or
 * libpython ("python3.11-dbg" for /usr/bin/python3.11 and
 * libpython3.11.so.1.0, and for its lib-dynload modules), into pkg; 0
 * when path is none of these, or not a system path (a pyenv build has its own symbols or none). */
static int python_dbg_package(const char *path, char *pkg, size_t size)
{
	if (strncmp(path, "/usr/", 5))
		return 0;
	unsigned major, minor;
	int end = 0;
	/* An extension module of the standard library is in the same
	 * package. */
	if (sscanf(path, "/usr/lib/python%u.%u/lib-dynload/%n", &major, &minor,
		   &end) == 2 &&
	    end) {
		snprintf(pkg, size, "python%u.%u-dbg", major, minor);
		return 1;
	}
	const char *b = sym_basename(path);
	if (!strncmp(b, "lib", 3))
		b += 3;
	end = 0;
	if (sscanf(b, "python%u.%u%n", &major, &minor, &end) != 2)
		return 0;
	/* "python3.11" or "python3.11.so.1.0", not "python3.11-config". */
	if (b[end] && strncmp(b + end, ".so", 3))
		return 0;
	snprintf(pkg, size, "python%u.%u-dbg", major, minor);
	return 1;
}

/* Opens module m on first use and sets its state; says why once when it
 * cannot give full symbols. */
static void mod_open(sym_t *sym, struct sym_mod *m)
{
	m->state = MOD_RAW;
	if (!*m->path) {
		warn(sym, "main executable: path unknown (the trace names it "
			  "\"\"); showing module+offset");
		return;
	}
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warn(sym, "%s: cannot open (%s); showing module+offset",
		     m->path, strerror(errno));
		return;
	}
	close(fd);
	m->dwfl = dwfl_begin(&sym_callbacks);
	if (!m->dwfl) {
		warn(sym, "%s: libdw: %s; showing module+offset", m->path,
		     dwfl_errmsg(-1));
		return;
	}
	dwfl_report_begin(m->dwfl);
	m->dm = dwfl_report_elf(m->dwfl, sym_basename(m->path), m->path, -1,
				0, true);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->dm) {
		warn(sym, "%s: not a usable ELF file (%s); showing "
			  "module+offset",
		     m->path, dwfl_errmsg(-1));
		return;
	}
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(m->dm, &bits, &vaddr);
	if (m->build_id_len) {
		if (len <= 0 || (size_t)len != m->build_id_len ||
		    memcmp(bits, m->build_id, m->build_id_len)) {
			char rec[129] = "", disk[129] = "";
			hex(rec, m->build_id, m->build_id_len);
			if (len > 0)
				hex(disk, bits, (size_t)len);
			warn(sym, "%s changed since recording (build-id "
				  "differs: recorded %s, on disk %s); showing "
				  "module+offset",
			     m->path, rec, len > 0 ? disk : "none");
			return;
		}
	} else if (m->nsegs && !segs_match(m)) {
		warn(sym, "%s changed since recording (segments differ); "
			  "showing module+offset",
		     m->path);
		return;
	}
	if (!dwfl_module_getelf(m->dm, &m->dwfl_bias)) {
		warn(sym, "%s: %s; showing module+offset", m->path,
		     dwfl_errmsg(-1));
		return;
	}
	Dwarf_Addr db;
	if (dwfl_module_getdwarf(m->dm, &db)) {
		m->state = MOD_DWARF;
		return;
	}
	/* libdw's standard lookup asks debuginfod servers itself when
	 * DEBUGINFOD_URLS is set: say which way was tried.  Debian's
	 * interpreter is the exception to "-dbgsym": its debug info is in
	 * pythonX.Y-dbg, and a stripped python3 has only its exported
	 * functions (.dynsym) to name frames with. */
	char pkg[64];
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (python_dbg_package(m->path, pkg, sizeof pkg))
		warn(sym, "%s: no debug info (on Debian install %s, of the same "
			  "version as the interpreter%s); showing exported function "
			  "names only, without file:line",
		     m->path, pkg,
		     urls && *urls ? "; no server in DEBUGINFOD_URLS had it" :
				     ", or set DEBUGINFOD_URLS to fetch it");
	else if (urls && *urls)
		warn(sym, "%s: no debug info (not installed, and no server in "
			  "DEBUGINFOD_URLS had it; on Debian install the -dbgsym "
			  "package of `dpkg -S %s`); showing function names without "
			  "file:line",
		     m->path, m->path);
	else
		warn(sym, "%s: no debug info (on Debian install the -dbgsym "
			  "package of `dpkg -S %s`, or set DEBUGINFOD_URLS, e.g. "
			  "https://debuginfod.debian.net, to fetch it); showing "
			  "function names without file:line",
		     m->path, m->path);
	m->state = MOD_SYMTAB;
}

/* Opens m, or shares the session of an opened module of the same path
 * and build-id (a file is parsed and decompressed once however many
 * processes loaded it, wherever). */
static void mod_open_or_share(sym_t *sym, struct sym_mod *m)
{
	size_t self = (size_t)(m - sym->mods);
	for (size_t i = 0; m->build_id_len && i < sym->nmods; i++) {
		const struct sym_mod *t = &sym->mods[i];
		if (i == self || t->twin || t->state == MOD_UNOPENED ||
		    t->build_id_len != m->build_id_len || strcmp(t->path, m->path) ||
		    memcmp(t->build_id, m->build_id, m->build_id_len))
			continue;
		m->state = t->state;
		m->twin = i + 1;
		return;
	}
	mod_open(sym, m);
}

/* The length of name without a trailing ".llvm.<digits>" (what LLVM's
 * ThinLTO appends to the local symbols it promotes). */
static size_t without_llvm_suffix(const char *name)
{
	size_t n = strlen(name);
	size_t d = n;
	while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
		d--;
	if (d < n && d >= 6 && !strncmp(name + d - 6, ".llvm.", 6))
		return d - 6;
	return n;
}

/* Demangled copy of a C++ or Rust name (malloc'd), or NULL to keep it as
 * is.  Rust names (legacy "_ZN...17h<hash>E" and v0 "_R...") go through
 * libiberty's Rust demangler, which drops the hash; everything else
 * through libstdc++'s __cxa_demangle. */
static char *demangle(sym_t *sym, const char *name)
{
	if (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2))
		return NULL;
	char buf[1024];
	size_t n = without_llvm_suffix(name);
	if (n != strlen(name)) {
		if (n >= sizeof(buf))
			return NULL;
		memcpy(buf, name, n);
		buf[n] = 0;
		name = buf;
	}
	char *r = rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	if (r)
		return r;
	if (strncmp(name, "_Z", 2))
		return NULL;
	if (!sym->demangle_tried) {
		sym->demangle_tried = 1;
		/* Loaded at run time so the analyzer does not link C++. */
		sym->stdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (sym->stdcxx)
			*(void **)&sym->demangle =
				dlsym(sym->stdcxx, "__cxa_demangle");
	}
	if (!sym->demangle)
		return NULL;
	int status = 0;
	char *d = sym->demangle(name, NULL, NULL, &status);
	if (status) {
		free(d);
		return NULL;
	}
	return d;
}

static const char *intern_function(sym_t *sym, const char *name)
{
	if (!name)
		return NULL;
	char *d = demangle(sym, name);
	const char *r = intern(sym, d ? d : name);
	free(d);
	return r;
}

/* A function DIE's name, preferring the linkage name (demangles to the
 * qualified C++ name with parameters) and following abstract origins. */
static const char *die_function(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		s = dwarf_formstring(&a);
	if (!s && dwarf_attr_integrate(die, DW_AT_name, &a))
		s = dwarf_formstring(&a);
	return s;
}

static int is_function(Dwarf_Die *d)
{
	int t = dwarf_tag(d);
	return t == DW_TAG_subprogram || t == DW_TAG_inlined_subroutine ||
	       t == DW_TAG_entry_point;
}

/* Call site (file, line) of an inlined_subroutine DIE. */
static void call_site(Dwarf_Die *inl, const char **file, uint32_t *line)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	*file = NULL;
	*line = 0;
	if (dwarf_attr(inl, DW_AT_call_line, &a) && !dwarf_formudata(&a, &w))
		*line = (uint32_t)w;
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_attr(inl, DW_AT_call_file, &a) &&
	    !dwarf_formudata(&a, &w) && dwarf_diecu(inl, &cu, NULL, NULL) &&
	    !dwarf_getsrcfiles(&cu, &files, &nfiles) && w < nfiles)
		*file = dwarf_filesrc(files, w, NULL, NULL);
}

struct fn_vec {
	struct fn_range *v;
	size_t n, cap;
	int oom;
};

static void fn_push(struct fn_vec *fv, Dwarf_Addr lo, Dwarf_Addr hi,
		    Dwarf_Off die)
{
	if (fv->oom || lo >= hi)
		return;
	if (fv->n == fv->cap) {
		size_t cap = fv->cap ? 2 * fv->cap : 64;
		struct fn_range *p = realloc(fv->v, cap * sizeof *p);
		if (!p) {
			fv->oom = 1;
			return;
		}
		fv->v = p;
		fv->cap = cap;
	}
	fv->v[fv->n++] = (struct fn_range){ lo, hi, die };
}

/* Function definitions among the children of `parent`, descending into
 * namespaces and types (C++ member functions may be defined there). */
static void fn_collect(Dwarf_Die *parent, struct fn_vec *fv, int depth)
{
	Dwarf_Die c;
	if (depth > 16 || dwarf_child(parent, &c) != 0)
		return;
	do {
		int tag = dwarf_tag(&c);
		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&c, off, &base, &lo, &hi)) >
			       0)
				fn_push(fv, lo, hi, dwarf_dieoffset(&c));
		} else if (tag == DW_TAG_namespace ||
			   tag == DW_TAG_class_type ||
			   tag == DW_TAG_structure_type ||
			   tag == DW_TAG_union_type || tag == DW_TAG_module) {
			fn_collect(&c, fv, depth + 1);
		}
	} while (dwarf_siblingof(&c, &c) == 0);
}

static int fn_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The function table of CU `cudie`, built on first use; NULL on ENOMEM. */
static struct cu_funcs *cu_funcs_get(struct sym_mod *m, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	for (size_t i = 0; i < m->ncus; i++) /* few CUs are ever used */
		if (m->cus[i].cu == off)
			return &m->cus[i];
	if (m->ncus == m->capcus) {
		size_t cap = m->capcus ? 2 * m->capcus : 16;
		struct cu_funcs *p = realloc(m->cus, cap * sizeof *p);
		if (!p)
			return NULL;
		m->cus = p;
		m->capcus = cap;
	}
	struct fn_vec fv = { 0 };
	fn_collect(cudie, &fv, 0);
	if (fv.oom) {
		free(fv.v);
		return NULL;
	}
	if (fv.n)
		qsort(fv.v, fv.n, sizeof *fv.v, fn_cmp);
	struct cu_funcs *cf = &m->cus[m->ncus++];
	*cf = (struct cu_funcs){ off, fv.v, fv.n };
	return cf;
}

/* The subprogram DIE containing pc in cf, via binary search. */
static int fn_find(const struct cu_funcs *cf, Dwarf *dw, Dwarf_Addr pc,
		   Dwarf_Die *out)
{
	size_t lo = 0, hi = cf->n;
	while (lo < hi) { /* first range with lo > pc */
		size_t mid = lo + (hi - lo) / 2;
		if (cf->v[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Nested definitions can overlap: look back a few. */
	for (size_t i = lo; i-- > 0 && lo - i <= 8;)
		if (pc < cf->v[i].hi)
			return dwarf_offdie(dw, cf->v[i].die, out) ? 0 : -1;
	return -1;
}

/* Grows the frame array for one more frame. */
static int frames_room(sym_frame_t **fr, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	sym_frame_t *q = realloc(*fr, 2 * *cap * sizeof **fr);
	if (!q)
		return -ENOMEM;
	*fr = q;
	*cap *= 2;
	return 0;
}

/* Fast path: the subprogram from the CU's function table, then one
 * descent through the lexical blocks and inlined calls containing pc.
 * Fills frames after fr[0] (whose file/line the caller set from the line
 * table).  Returns 1 when done, 0 to fall back to dwarf_getscopes, or
 * -ENOMEM. */
static int symbolize_fast(sym_t *sym, struct sym_mod *m, Dwarf_Die *cudie,
			  Dwarf_Addr pc, const sym_frame_t *base,
			  sym_frame_t **fr, size_t *n, size_t *cap)
{
	Dwarf_Addr db;
	Dwarf *dw = dwfl_module_getdwarf(m->dm, &db);
	struct cu_funcs *cf = dw ? cu_funcs_get(m, cudie) : NULL;
	Dwarf_Die chain[64]; /* subprogram, then inlined calls, outer first */
	size_t nc = 0;
	if (!cf || fn_find(cf, dw, pc, &chain[0]))
		return 0;
	nc = 1;
	Dwarf_Die cur = chain[0], c;
	for (int found = 1; found && nc < 64;) {
		found = 0;
		if (dwarf_child(&cur, &c) != 0)
			break;
		do {
			int tag = dwarf_tag(&c);
			if ((tag == DW_TAG_lexical_block ||
			     tag == DW_TAG_inlined_subroutine) &&
			    dwarf_haspc(&c, pc) == 1) {
				if (tag == DW_TAG_inlined_subroutine)
					chain[nc++] = c;
				cur = c;
				found = 1;
				break;
			}
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	const char *name = die_function(&chain[nc - 1]);
	if (!name)
		return 0;
	(*fr)[0].function = intern_function(sym, name);
	for (size_t k = nc - 1; k > 0; k--) {
		if (frames_room(fr, *n, cap))
			return -ENOMEM;
		(*fr)[*n - 1].inlined = 1;
		sym_frame_t f = *base;
		const char *file;
		call_site(&chain[k], &file, &f.line);
		f.file = intern(sym, file);
		f.function = intern_function(sym, die_function(&chain[k - 1]));
		(*fr)[(*n)++] = f;
	}
	return 1;
}

/* Frames for one address of an opened module.  Returns the count (>= 1)
 * written to a malloc'd *out, or -ENOMEM. */
static int symbolize(sym_t *sym, struct sym_mod *m, uint64_t ip1,
		     sym_frame_t **out)
{
	sym_frame_t base = {
		.module = m ? intern(sym, m->path) : NULL,
		.address = ip1 + 1,
		.offset = m ? ip1 - m->bias : ip1,
	};
	size_t n = 0, cap = 1;
	sym_frame_t *fr = malloc(sizeof *fr);
	if (!fr)
		return -ENOMEM;
	fr[0] = base;
	n = 1;
	if (!m || !sym->enabled)
		goto done;
	if (m->state == MOD_UNOPENED)
		mod_open_or_share(sym, m);
	if (m->state == MOD_RAW)
		goto done;
	m = m->twin ? &sym->mods[m->twin - 1] : m; /* base keeps the instance's */
	GElf_Addr addr = base.offset + m->dwfl_bias;
	if (m->state != MOD_DWARF) {
		fr[0].function = intern_function(
			sym, dwfl_module_addrname(m->dm, addr));
		goto done;
	}
	Dwfl_Line *ln = dwfl_module_getsrc(m->dm, addr);
	if (ln) {
		int lineno = 0;
		const char *f = dwfl_lineinfo(ln, NULL, &lineno, NULL, NULL,
					      NULL);
		fr[0].file = intern(sym, f);
		fr[0].line = lineno > 0 ? (uint32_t)lineno : 0;
	}
	Dwarf_Addr cubias;
	Dwarf_Die *cudie = dwfl_module_addrdie(m->dm, addr, &cubias);
	if (cudie) {
		int rc = symbolize_fast(sym, m, cudie, addr - cubias, &base,
					&fr, &n, &cap);
		if (rc < 0) {
			free(fr);
			return rc;
		}
		if (rc)
			goto done;
	}
	Dwarf_Die *scopes = NULL;
	int ns = cudie ? dwarf_getscopes(cudie, addr - cubias, &scopes) : 0;
	int fi = 0;
	while (fi < ns && !is_function(&scopes[fi]))
		fi++;
	const char *name = fi < ns ? die_function(&scopes[fi]) : NULL;
	/* The symbol table only when DWARF has no name: libdw searches it
	 * linearly, which dominates the cost on big libraries. */
	fr[0].function = name ? intern_function(sym, name)
			      : intern_function(sym, dwfl_module_addrname(
							     m->dm, addr));
	if (fi >= ns) {
		free(scopes);
		goto done;
	}
	Dwarf_Die cur = scopes[fi];
	free(scopes);
	/* Walk out of inlined calls: each inlined_subroutine's call site is
	 * a frame in the function that lexically contains it. */
	while (dwarf_tag(&cur) == DW_TAG_inlined_subroutine) {
		Dwarf_Die *par = NULL;
		int np = dwarf_getscopes_die(&cur, &par);
		int k = 1;
		while (k < np && !is_function(&par[k]))
			k++;
		if (k >= np) {
			free(par);
			break;
		}
		if (n == cap) {
			sym_frame_t *q = realloc(fr, 2 * cap * sizeof *fr);
			if (!q) {
				free(par);
				free(fr);
				return -ENOMEM;
			}
			fr = q;
			cap *= 2;
		}
		fr[n - 1].inlined = 1;
		sym_frame_t f = base;
		const char *file;
		call_site(&cur, &file, &f.line);
		f.file = intern(sym, file);
		f.function = intern_function(sym, die_function(&par[k]));
		cur = par[k];
		free(par);
		fr[n++] = f;
	}
done:
	*out = fr;
	return (int)n;
}

static struct sym_entry *cache_slot(sym_t *sym, uint32_t mod, uint64_t addr)
{
	size_t mask = sym->cache_cap - 1;
	size_t j = hash64(addr ^ ((uint64_t)mod << 48)) & mask;
	while (sym->cache[j].n &&
	       (sym->cache[j].addr != addr || sym->cache[j].mod != mod))
		j = (j + 1) & mask;
	return &sym->cache[j];
}

static int cache_grow(sym_t *sym)
{
	size_t ncap = sym->cache_cap ? sym->cache_cap * 2 : 1024;
	struct sym_entry *old = sym->cache;
	size_t ocap = sym->cache_cap;
	sym->cache = calloc(ncap, sizeof *sym->cache);
	if (!sym->cache) {
		sym->cache = old;
		return -ENOMEM;
	}
	sym->cache_cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].n)
			*cache_slot(sym, old[i].mod, old[i].addr) = old[i];
	free(old);
	return 0;
}

int sym_resolve(sym_t *sym, uint64_t generation, uint64_t ip_minus_one,
		const sym_frame_t **frames)
{
	*frames = NULL;
	if ((sym->cache_n + 1) * 2 > sym->cache_cap && cache_grow(sym))
		return -ENOMEM;
	uint32_t mod = map_lookup(map_find(sym, generation), ip_minus_one);
	struct sym_entry *e = cache_slot(sym, mod, ip_minus_one);
	if (!e->n) {
		sym_frame_t *fr;
		int n = symbolize(sym, mod ? &sym->mods[mod - 1] : NULL,
				  ip_minus_one, &fr);
		if (n < 0)
			return n;
		e->addr = ip_minus_one;
		e->mod = mod;
		e->n = (uint32_t)n;
		e->frames = fr;
		sym->cache_n++;
	}
	*frames = e->frames;
	return (int)e->n;
}

size_t sym_warnings(const sym_t *sym, const char *const **list)
{
	*list = (const char *const *)sym->warnings;
	return sym->nwarnings;
}

const char *sym_basename(const char *path)
{
	if (!path)
		return "";
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int sym_frame_format(const sym_frame_t *f, char *buf, size_t size)
{
	const char *mod = sym_basename(f->module);
	if (!f->function && !f->file) {
		if (!f->module)
			return snprintf(buf, size, "0x%llx",
					(unsigned long long)f->address);
		return snprintf(buf, size, "%s+0x%llx", mod,
				(unsigned long long)f->offset);
	}
	const char *fn = f->function ? f->function : "??";
	if (f->file && f->line)
		return snprintf(buf, size, "%s at %s:%u (%s)", fn, f->file,
				f->line, mod);
	if (f->file)
		return snprintf(buf, size, "%s at %s (%s)", fn, f->file, mod);
	return snprintf(buf, size, "%s (%s)", fn, mod);
}
