/* Display frames: see frames.h.  Each distinct address is symbolized once
 * (the symbolizer caches); each stack's display frames are built once and
 * cached here by stack index. */
#include "render/frames.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaptrail_format.h"
#include "render/cxxname.h"

#if __has_include("pymerge.h")
#include "render/pymerge.h"
#define HAVE_PYMERGE 1
#endif

typedef struct cached {
	frame_t *v; /* NULL = not built yet */
	int n;
} cached_t;

struct frames {
	const stacks_t *stacks;
	sym_t *sym; /* NULL: raw frames */
	int mode;
	cached_t *cache; /* by sidx */
	size_t ncache;
	frame_t empty; /* target for zero-frame stacks */
	bool short_names; /* C++ template arguments collapsed (text) */
	int depth; /* > 0: frames kept per stack (--depth) */
	const sysframes_t *sys; /* NULL: sysframes_default() */
	/* Short names by full name (the symbolizer's interned pointer):
	 * open addressing, full == NULL = empty slot. */
	struct short_name {
		const char *full;
		char *shrt;
	} *names;
	size_t nnames, capnames;
};

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : (p ? p : "");
}

frames_t *frames_new(const stacks_t *stacks, struct sym *sym, int mode)
{
	frames_t *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->stacks = stacks;
	f->sym = sym;
	f->mode = mode;
	if (!sym)
		return f;
	sym_set_exe_path(sym, stacks_exe(stacks));
	for (size_t g = 0; g < stacks_generations(stacks); g++) {
		const module_info_t *mods;
		size_t n = stacks_generation_modules(stacks, g, &mods);
		sym_modules_begin(sym, stacks_generation_id(stacks, g));
		for (size_t i = 0; i < n; i++) {
			const module_info_t *m = &mods[i];
			uint64_t (*segs)[3] = calloc(m->nsegs ? m->nsegs : 1,
						     sizeof(*segs));
			if (!segs)
				continue;
			for (size_t k = 0; k < m->nsegs; k++) {
				segs[k][0] = m->segs[k].vaddr;
				segs[k][1] = m->segs[k].memsz;
				segs[k][2] = m->segs[k].flags;
			}
			sym_module_add(sym, m->path, m->bias, m->build_id,
				       m->build_id_len,
				       (const uint64_t(*)[3])segs, m->nsegs);
			free(segs);
		}
	}
	return f;
}

static void drop_cache(frames_t *f)
{
	for (size_t i = 0; i < f->ncache; i++)
		free(f->cache[i].v);
	free(f->cache);
	f->cache = NULL;
	f->ncache = 0;
}

void frames_free(frames_t *f)
{
	if (!f)
		return;
	drop_cache(f);
	for (size_t i = 0; i < f->capnames; i++)
		free(f->names[i].shrt);
	free(f->names);
	free(f);
}

void frames_set_display(frames_t *f, bool short_names, int depth)
{
	if (f->short_names == short_names && f->depth == depth)
		return;
	drop_cache(f);
	f->short_names = short_names;
	f->depth = depth > 0 ? depth : 0;
}

void frames_set_sysframes(frames_t *f, const sysframes_t *sys)
{
	drop_cache(f);
	f->sys = sys;
}

bool frames_is_system(const frames_t *f, const frame_t *fr)
{
	return sysframes_is_system(f->sys ? f->sys : sysframes_default(), fr,
				   stacks_exe(f->stacks));
}

static size_t hash_ptr(const void *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 17) & (cap - 1);
}

/* The short form of a native frame's function name (the full name when
 * short names are off, when it has no template arguments, or when memory
 * runs out).  Python names ("<module>", "<lambda>") are never passed. */
static const char *short_name(frames_t *f, const char *full)
{
	if (!f->short_names || !full || !strchr(full, '<'))
		return full;
	if ((f->nnames + 1) * 2 > f->capnames) {
		size_t nc = f->capnames ? f->capnames * 2 : 256;
		struct short_name *nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return full;
		for (size_t i = 0; i < f->capnames; i++) {
			if (!f->names[i].full)
				continue;
			size_t j = hash_ptr(f->names[i].full, nc);
			while (nv[j].full)
				j = (j + 1) & (nc - 1);
			nv[j] = f->names[i];
		}
		free(f->names);
		f->names = nv;
		f->capnames = nc;
	}
	size_t j = hash_ptr(full, f->capnames);
	while (f->names[j].full) {
		if (f->names[j].full == full)
			return f->names[j].shrt;
		j = (j + 1) & (f->capnames - 1);
	}
	size_t n = strlen(full) + 1;
	char *sh = malloc(n);
	if (!sh)
		return full;
	cxxname_short(full, sh, n);
	f->names[j].full = full;
	f->names[j].shrt = sh;
	f->nnames++;
	return sh;
}

static bool is_python_frame(const frame_t *fr)
{
	return !fr->marker && !fr->module && !fr->address;
}

static void shorten(frames_t *f, frame_t *fr)
{
	if (!is_python_frame(fr))
		fr->function = short_name(f, fr->function);
}

/* Whether stack st has a Python frame (not only boundaries). */
static bool has_python(const frames_t *f, const stack_info_t *st)
{
	for (uint32_t k = 0; k < st->npy; k++) {
		const pycode_info_t *pc = stacks_pycode(f->stacks, st->py[k].code);
		const char *fn = pc ? pc->function : NULL;
		if (!fn || strcmp(fn, PYMERGE_BOUNDARY_FUNC) != 0)
			return true;
	}
	return false;
}

/* The `<interpreter startup>` stack (analysis.h) and its one frame. */
static bool is_startup(const stack_info_t *st)
{
	return st && st->id == STACKS_ID_STARTUP && !st->defined;
}

static frame_t startup_frame(void)
{
	return (frame_t){ .marker = SYM_MARK_STARTUP,
			  .function = "<interpreter startup>" };
}

/* Index of the site among v[0..n): the first frame that is neither a
 * marker nor a system frame, else the first frame that is not a marker;
 * -1 when there is none. */
static int site_index(const frames_t *f, const frame_t *v, int n)
{
	int first = -1;
	for (int k = 0; k < n; k++) {
		if (v[k].marker)
			continue;
		if (first < 0)
			first = k;
		if (!frames_is_system(f, &v[k]))
			return k;
	}
	return first;
}

char *frames_marker_text(char *buf, size_t len, const frames_t *f,
			 const frame_t *fr)
{
	const char *m = NULL;
	switch (fr->marker) {
	case SYM_MARK_NATIVE_ONLY:
		m = f ? frames_module_name(f, fr) : NULL;
		if (!m)
			m = fr->module ? base_name(fr->module) : "?";
		if (fr->function)
			snprintf(buf, len, "<native: %s (%s)>", fr->function, m);
		else if (fr->module)
			snprintf(buf, len, "<native: %s+0x%llx>", m,
				 (unsigned long long)fr->offset);
		else
			snprintf(buf, len, "<native: 0x%llx>",
				 (unsigned long long)fr->address);
		break;
	case SYM_MARK_CUT_DEPTH:
		snprintf(buf, len, "<stack cut at --depth %u>", fr->line);
		break;
	case SYM_MARK_CUT_RECORDER:
		snprintf(buf, len,
			 "<native stack cut by the recorder at %u frames (record --depth)>",
			 fr->line);
		break;
	case SYM_MARK_STARTUP:
		snprintf(buf, len, "<interpreter startup>");
		break;
	default:
		snprintf(buf, len, "%s", fr->function ? fr->function : "?");
		break;
	}
	return buf;
}

/* Entry points of the allocator (and C++ operator new): frames of these at
 * the top of a stack are the allocator's, not the program's. */
static bool is_alloc_function(const char *fn)
{
	static const char *const names[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free",
		"posix_memalign", "aligned_alloc", "memalign", "valloc",
		"pvalloc", "__libc_malloc", "__libc_calloc",
		"__libc_realloc", "__libc_memalign", "_Znwm", "_Znam",
		"_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	};
	if (!fn)
		return false;
	if (strncmp(fn, "operator new", 12) == 0)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(fn, names[i]) == 0)
			return true;
	return false;
}

static bool is_recorder_module(const char *path)
{
	return path && strncmp(base_name(path), "libheaptrail", 12) == 0;
}

/* Growable frame vector. */
typedef struct fvec {
	frame_t *v;
	int n, cap;
} fvec_t;

static int fvec_push(fvec_t *fv, const frame_t *fr)
{
	if (fv->n == fv->cap) {
		int ncap = fv->cap ? fv->cap * 2 : 16;
		frame_t *nv = realloc(fv->v, (size_t)ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		fv->v = nv;
		fv->cap = ncap;
	}
	fv->v[fv->n++] = *fr;
	return 0;
}

static void raw_frame(const frames_t *f, const stack_info_t *st, uint64_t ip,
		      frame_t *out)
{
	const module_info_t *m = stacks_module_at(f->stacks, st->generation,
						  ip - 1);
	memset(out, 0, sizeof(*out));
	out->address = ip;
	if (m) {
		out->module = m->path[0] ? m->path : stacks_exe(f->stacks);
		out->offset = ip - 1 - m->bias;
	}
}

static int native_frames(frames_t *f, const stack_info_t *st, fvec_t *nat)
{
	for (uint32_t i = 0; i < st->nips; i++) {
		uint64_t ip = st->ips[i];
		if (f->sym && ip) {
			const sym_frame_t *sf;
			int n = sym_resolve(f->sym, st->generation, ip - 1, &sf);
			if (n > 0) {
				for (int k = 0; k < n; k++)
					if (fvec_push(nat, &sf[k]) < 0)
						return -ENOMEM;
				continue;
			}
		}
		frame_t fr;
		raw_frame(f, st, ip, &fr);
		if (fvec_push(nat, &fr) < 0)
			return -ENOMEM;
	}
	/* Hide the recorder's frames anywhere and the allocator's entry
	 * points at the top (operator new calling malloc, ...). */
	int w = 0, i = 0;
	while (i < nat->n && (is_alloc_function(nat->v[i].function) ||
			      is_recorder_module(nat->v[i].module)))
		i++;
	for (; i < nat->n; i++)
		if (!is_recorder_module(nat->v[i].module))
			nat->v[w++] = nat->v[i];
	nat->n = w;
	return 0;
}

/* The display frames of stack idx before frames_set_display's choices and
 * strict --frames python: native frames with the Python ones merged, and
 * the recorder's cut marked.  c->v is malloc'd. */
static int build_merged(frames_t *f, sidx_t idx, cached_t *c)
{
	const stack_info_t *st = stacks_get(f->stacks, idx);
	bool cut = st && (st->flags & HT_STACK_TRUNCATED);
	fvec_t nat = { 0 }, out = { 0 };
	frame_t *py = NULL;
	int rc = 0, npy = 0;
	if (!st)
		goto done;
	if (is_startup(st)) {
		frame_t mark = startup_frame();
		if (fvec_push(&out, &mark) < 0) {
			rc = -ENOMEM;
			goto fail;
		}
		goto done;
	}
	if ((rc = native_frames(f, st, &nat)) < 0)
		goto fail;
	if (st->npy) {
		py = calloc(st->npy, sizeof(*py));
		if (!py) {
			rc = -ENOMEM;
			goto fail;
		}
		for (uint32_t i = 0; i < st->npy; i++) {
			const pycode_info_t *pc = stacks_pycode(f->stacks, st->py[i].code);
			py[npy].function = pc ? pc->function : NULL;
			py[npy].file = pc ? pc->file : NULL;
			py[npy].line = (uint32_t)st->py[i].line;
			npy++;
		}
	}
	if (!npy || f->mode == FRAMES_NATIVE) {
		out = nat;
		nat.v = NULL;
		frame_t mark = { .marker = SYM_MARK_CUT_RECORDER };
		if (cut && fvec_push(&out, &mark) < 0) {
			rc = -ENOMEM;
			goto fail;
		}
	} else {
#ifdef HAVE_PYMERGE
		pyframe_t *pf = calloc((size_t)npy, sizeof(*pf));
		int max = nat.n + npy + 2; /* + the cut marker */
		out.v = calloc((size_t)max, sizeof(*out.v));
		if (!pf || !out.v) {
			free(pf);
			rc = -ENOMEM;
			goto fail;
		}
		for (int i = 0; i < npy; i++) {
			pf[i].file = py[i].file;
			pf[i].function = py[i].function;
			pf[i].line = py[i].line;
		}
		out.n = pymerge_frames(nat.v, nat.n, pf, npy,
				       f->mode | (cut ? PYMERGE_NATIVE_CUT : 0),
				       out.v, max);
		out.cap = max;
		free(pf);
		if (out.n < 0) {
			rc = out.n;
			goto fail;
		}
#else
		/* No merger yet: Python frames first (the user's code), then
		 * the native ones unless only Python was asked for. */
		for (int i = 0; i < npy; i++)
			if (fvec_push(&out, &py[i]) < 0) {
				rc = -ENOMEM;
				goto fail;
			}
		for (int i = 0; f->mode == FRAMES_ALL && i < nat.n; i++)
			if (fvec_push(&out, &nat.v[i]) < 0) {
				rc = -ENOMEM;
				goto fail;
			}
#endif
	}
done:
	for (int k = 0; k < out.n; k++)
		if (out.v[k].marker == SYM_MARK_CUT_RECORDER)
			out.v[k].line = st->nips;
	/* Exact size: caches of millions of stacks add up. */
	if (out.v && out.n > 0 && out.n < out.cap) {
		frame_t *shrunk = realloc(out.v, (size_t)out.n * sizeof(*out.v));
		if (shrunk)
			out.v = shrunk;
	}
	c->v = out.v ? out.v : malloc(sizeof(frame_t));
	c->n = out.n;
	free(nat.v);
	free(py);
	return c->v ? 0 : -ENOMEM;
fail:
	free(nat.v);
	free(out.v);
	free(py);
	return rc;
}

/* build_merged, then strict --frames python (a stack without Python
 * frames is its site, marked), --depth and short names. */
static int build(frames_t *f, sidx_t idx, cached_t *c)
{
	int rc = build_merged(f, idx, c);
	if (rc < 0)
		return rc;
	const stack_info_t *st = stacks_get(f->stacks, idx);
	if (f->mode == FRAMES_PYTHON && st && !has_python(f, st) && c->n > 0 &&
	    !is_startup(st)) {
		int k = site_index(f, c->v, c->n);
		if (k < 0) {
			c->n = 0;
		} else {
			c->v[0] = c->v[k];
			c->v[0].marker = SYM_MARK_NATIVE_ONLY;
			c->n = 1;
		}
	}
	if (f->depth > 0) {
		int real = 0, k = 0;
		for (; k < c->n && real < f->depth; k++)
			real += !c->v[k].marker;
		/* k: frames up to the depth-th real one; a cut when any real
		 * frame follows. */
		int more = 0;
		for (int q = k; q < c->n; q++)
			more += !c->v[q].marker;
		if (more) {
			/* Room: the array holds at least k + 1 frames, since a
			 * real frame followed position k. */
			c->v[k].marker = SYM_MARK_CUT_DEPTH;
			c->v[k].line = (uint32_t)f->depth;
			c->v[k].function = c->v[k].file = c->v[k].module = NULL;
			c->v[k].address = c->v[k].offset = 0;
			c->v[k].inlined = 0;
			c->n = k + 1;
		}
	}
	for (int k = 0; k < c->n; k++)
		shorten(f, &c->v[k]);
	return 0;
}

int frames_site(frames_t *f, sidx_t i, frame_t *out)
{
	cached_t c = { 0 };
	int rc = build_merged(f, i, &c);
	if (rc < 0)
		return rc;
	int k = site_index(f, c.v, c.n);
	if (k < 0 && c.n == 1 && c.v[0].marker == SYM_MARK_STARTUP)
		k = 0;
	if (k >= 0) {
		*out = c.v[k];
		shorten(f, out);
	}
	free(c.v);
	return k >= 0;
}

int frames_get(frames_t *f, sidx_t i, const frame_t **out)
{
	if (i >= f->ncache) {
		size_t n = f->ncache ? f->ncache : 1024;
		while (n <= i)
			n *= 2;
		cached_t *nc = realloc(f->cache, n * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		memset(nc + f->ncache, 0, (n - f->ncache) * sizeof(*nc));
		f->cache = nc;
		f->ncache = n;
	}
	cached_t *c = &f->cache[i];
	if (!c->v) {
		int rc = build(f, i, c);
		if (rc < 0)
			return rc;
	}
	*out = c->v;
	return c->n;
}

int frames_copy(frames_t *f, sidx_t i, frame_t *out, int max)
{
	cached_t c = { 0 };
	if (i < f->ncache && f->cache[i].v) {
		c = f->cache[i];
	} else {
		int rc = build(f, i, &c);
		if (rc < 0)
			return rc;
	}
	for (int k = 0; k < c.n && k < max; k++)
		out[k] = c.v[k];
	if (!(i < f->ncache && f->cache[i].v == c.v))
		free(c.v);
	return c.n;
}

#ifdef HAVE_PYMERGE
/* frames_key's native half: the first frame build() would keep (neither
 * an allocator entry point nor the recorder's), resolving only the ips up
 * to it.  Returns 1 with *out, or 0 when every frame is hidden. */
static int native_key(frames_t *f, const stack_info_t *st, frame_t *out)
{
	for (uint32_t i = 0; i < st->nips; i++) {
		uint64_t ip = st->ips[i];
		if (f->sym) {
			const sym_frame_t *sf;
			int n = sym_resolve(f->sym, st->generation, ip - 1, &sf);
			if (n > 0) {
				for (int k = 0; k < n; k++)
					if (!is_alloc_function(sf[k].function) &&
					    !is_recorder_module(sf[k].module)) {
						*out = sf[k];
						return 1;
					}
				continue;
			}
		}
		raw_frame(f, st, ip, out);
		if (!is_alloc_function(out->function) &&
		    !is_recorder_module(out->module))
			return 1;
	}
	return 0;
}
#endif

int frames_key(frames_t *f, sidx_t i, frame_t *out)
{
	if (is_startup(stacks_get(f->stacks, i))) {
		*out = startup_frame();
		return 1;
	}
#ifdef HAVE_PYMERGE
	const stack_info_t *st = stacks_get(f->stacks, i);
	if (!st)
		return 0;
	/* A zero ip makes a native frame without module or address, which
	 * the rule above would take for a Python one: build them all. */
	for (uint32_t k = 0; k < st->nips; k++)
		if (!st->ips[k])
			goto whole;
	if (f->mode != FRAMES_NATIVE) {
		/* With a real Python frame, pymerge puts the Python frames in
		 * their order and every native frame has an address: the key
		 * is the first Python frame that is not a boundary. */
		for (uint32_t k = 0; k < st->npy; k++) {
			const pycode_info_t *pc = stacks_pycode(f->stacks, st->py[k].code);
			const char *fn = pc ? pc->function : NULL;
			if (fn && strcmp(fn, PYMERGE_BOUNDARY_FUNC) == 0)
				continue;
			memset(out, 0, sizeof(*out));
			out->function = fn;
			out->file = pc ? pc->file : NULL;
			out->line = (uint32_t)st->py[k].line;
			return 1;
		}
		/* Strict --frames python: the key is the marked site that
		 * frames_get shows. */
		if (f->mode == FRAMES_PYTHON)
			goto whole;
	}
	int rc = native_key(f, st, out);
	if (rc > 0)
		shorten(f, out);
	return rc;
whole:
#endif
	{
		cached_t c = { 0 };
		bool cached = i < f->ncache && f->cache[i].v;
		int rc = 0;
		if (cached)
			c = f->cache[i];
		else if ((rc = build(f, i, &c)) < 0)
			return rc;
		int k = 0;
		while (k < c.n && (c.v[k].module || c.v[k].address ||
				   c.v[k].marker))
			k++;
		if (c.n > 0)
			*out = c.v[k < c.n ? k : 0];
		rc = c.n > 0;
		if (!cached)
			free(c.v);
		return rc;
	}
}

const char *frames_module_name(const frames_t *f, const frame_t *fr)
{
	if (!fr->module)
		return NULL;
	if (!fr->module[0])
		return base_name(stacks_exe(f->stacks));
	return base_name(fr->module);
}
