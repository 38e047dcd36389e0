/* pyframes/intern.c: code objects -> dense PYCODE ids (1, 2, ...): an
 * open-addressing table read without locks, infos in mmap'ed chunks,
 * strings in an arena, and the per-code-unit line tables of the frame
 * walk.  Writers hold pyf.lock; never malloc. */
#include "pyframes/internal.h"

#include "mapmem.h"

#include "util.h"

#include <string.h>
#include <sys/mman.h>

void *pyf_map(size_t n)
{
	return mapmem_map(n, MAPMEM_PYTHON, 1);
}

static const char *arena_copy(const char *s, size_t n)
{
	if (n > 4095)
		n = 4095;
	if (pyf.arena_left < n + 1) {
		size_t sz = 256u << 10;
		char *a = pyf_map(sz);
		if (!a)
			return "";
		pyf.arena = a;
		pyf.arena_left = sz;
	}
	char *d = pyf.arena;
	memcpy(d, s, n);
	d[n] = 0;
	pyf.arena += n + 1;
	pyf.arena_left -= n + 1;
	return d;
}

static inline uint32_t hash_ptr(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

const slot_t *pyf_table_slot(const table_t *t, const PyObject *code)
{
	if (!t)
		return NULL;
	for (uint32_t i = hash_ptr(code) & t->mask;; i = (i + 1) & t->mask) {
		PyObject *k = atomic_load_explicit(
			(_Atomic(PyObject *) *)&t->slots[i].key,
			memory_order_acquire);
		if (k == code)
			return &t->slots[i];
		if (!k)
			return NULL;
	}
}

static uint32_t table_find(const table_t *t, const PyObject *code)
{
	const slot_t *sl = pyf_table_slot(t, code);
	return sl ? sl->id : 0;
}

static void table_put(table_t *t, PyObject *code, uint32_t id,
		      uint32_t nunits, _Atomic uint32_t *lines)
{
	uint32_t i = hash_ptr(code) & t->mask;
	while (atomic_load_explicit(&t->slots[i].key, memory_order_relaxed))
		i = (i + 1) & t->mask;
	t->slots[i].id = id;
	t->slots[i].nunits = nunits;
	t->slots[i].lines = lines;
	atomic_store_explicit(&t->slots[i].key, code, memory_order_release);
	t->used++;
}

/* Adds an info under pyf.lock; returns its id or 0 when out of memory. */
uint32_t pyf_info_add(const char *file, size_t fl, const char *func,
			 size_t fnl, uint32_t firstline)
{
	uint32_t id = atomic_load_explicit(&pyf.ncodes, memory_order_relaxed) + 1;
	uint32_t c = (id - 1) / INFO_CHUNK;
	if (c >= INFO_CHUNKS)
		return 0;
	if (!pyf.chunks[c]) {
		pyf.chunks[c] = pyf_map(INFO_CHUNK * sizeof(codeinfo_t));
		if (!pyf.chunks[c])
			return 0;
	}
	codeinfo_t *ci = &pyf.chunks[c][(id - 1) % INFO_CHUNK];
	ci->file = arena_copy(file, fl);
	ci->func = arena_copy(func, fnl);
	ci->firstline = firstline;
	atomic_store_explicit(&pyf.ncodes, id, memory_order_release);
	return id;
}

/* Line arrays for the frame walk: bump-allocated from mmap'ed chunks
 * (under pyf.lock), never freed, like the code objects they describe. */
static _Atomic uint32_t *lines_alloc(uint32_t nunits)
{
	static char *cur;
	static size_t left;
	size_t need = ((size_t)nunits * sizeof(uint32_t) + 15) & ~(size_t)15;
	if (!need)
		need = 16;
	if (need > left) {
		size_t sz = need > (256u << 10) ? need : (256u << 10);
		char *m = pyf_map(sz);
		if (!m)
			return NULL;
		if (need == sz)
			return (_Atomic uint32_t *)m; /* a big one: its own mapping */
		cur = m;
		left = sz;
	}
	_Atomic uint32_t *r = (_Atomic uint32_t *)cur;
	cur += need;
	left -= need;
	return r;
}

/* Adds code (whose names were read already) to the table, taking a
 * reference so its address is never reused; returns its id (the existing
 * one if another thread was first), or 0 when out of memory.  nunits > 0
 * (frame walk) also gives it a line array.  The caller holds the GIL (the
 * thread is attached): Py_IncRef needs it. */
uint32_t pyf_intern_named(PyObject *code, const char *fs, size_t fl,
			     const char *ns, size_t nl, long first,
			     uint32_t nunits)
{
	pthread_mutex_lock(&pyf.lock);
	table_t *t = atomic_load_explicit(&pyf.table, memory_order_acquire);
	uint32_t id = table_find(t, code);
	if (!id && (!t || (t->used + 1) * 2 > t->mask + 1)) {
		uint32_t n = t ? (t->mask + 1) * 2 : 4096;
		table_t *nt = pyf_map(sizeof(table_t) + n * sizeof(slot_t));
		if (nt) {
			nt->mask = n - 1;
			for (uint32_t i = 0; t && i <= t->mask; i++)
				if (t->slots[i].key)
					table_put(nt, t->slots[i].key,
						  t->slots[i].id,
						  t->slots[i].nunits,
						  t->slots[i].lines);
			/* The old table stays mapped: a reader may be in it. */
			atomic_store_explicit(&pyf.table, nt,
					      memory_order_release);
			t = nt;
		} else if (!t || t->used + 1 > t->mask) {
			t = NULL;
		}
	}
	if (!id && t) {
		_Atomic uint32_t *lines = nunits ? lines_alloc(nunits) : NULL;
		if (!nunits || lines)
			id = pyf_info_add(fs, fl, ns, nl,
				      first > 0 ? (uint32_t)first : 0);
		if (id) {
			pyapi.IncRef(code); /* its address is never reused */
			table_put(t, code, id, lines ? nunits : 0, lines);
		}
	}
	pthread_mutex_unlock(&pyf.lock);
	return id;
}

/* Interns code (GIL held, profile mode): 0 when it cannot be interned. */
uint32_t pyf_code_intern(PyObject *code)
{
	table_t *t = atomic_load_explicit(&pyf.table, memory_order_acquire);
	uint32_t id = table_find(t, code);
	if (id)
		return id;

	/* Read the names before taking the lock: these calls may allocate
	 * (the recorder captures those allocations; it never comes back
	 * here, profile functions are not re-entered). */
	PyObject *et, *ev, *etb;
	pyapi.Err_Fetch(&et, &ev, &etb);
	PyObject *fo = pyapi.GetAttrString(code, "co_filename");
	PyObject *no = pyapi.GetAttrString(code, pyapi.minor >= 11 ? "co_qualname"
							     : "co_name");
	PyObject *lo = pyapi.GetAttrString(code, "co_firstlineno");
	ssize_t fl = 0, nl = 0;
	const char *fs = fo ? pyapi.AsUTF8AndSize(fo, &fl) : NULL;
	const char *ns = no ? pyapi.AsUTF8AndSize(no, &nl) : NULL;
	long first = lo ? pyapi.AsLong(lo) : 0;
	if (!fs)
		fs = "<unknown>", fl = 9;
	if (!ns)
		ns = "<unknown>", nl = 9;

	id = pyf_intern_named(code, fs, (size_t)fl, ns, (size_t)nl, first, 0);

	if (fo)
		pyapi.DecRef(fo);
	if (no)
		pyapi.DecRef(no);
	if (lo)
		pyapi.DecRef(lo);
	pyapi.Err_Restore(et, ev, etb);
	return id;
}
