/* stackid: see stackid.h.  pymemo.c is this module's private helper: a
 * hash table apart from the id logic, so that it can be tested alone. */
#include "stackid.h"

#include "heaptrail_format.h"
#include "modules.h"
#include "mapmem.h"
#include "pymemo.h"
#include "stacks.h"

#include <errno.h>
#include <string.h>

/* The Python frames that go with a native stack (code ids, lines). */
typedef struct py {
	const uint32_t *code, *line;
	unsigned m;
} py_t;

/* Verify mode: cached ids interning disagreed with. */
static uint64_t mismatches;

/* 1 when memo holds an id noted with exactly these Python frames. */
static inline int memo_same(const stackid_memo_t *memo, const py_t *py)
{
	if (!memo->id || memo->m != py->m)
		return 0;
	for (unsigned i = 0; i < py->m; i++)
		if (memo->py[i] != py->code[i] || memo->py[STACKID_MEMO_PY + i] != py->line[i])
			return 0;
	return 1;
}

/* unwind_capture's early exit: the chain's memo has these Python frames. */
static int memo_enough(const unwind_note_t *note, const void *arg)
{
	return memo_same(stackid_memo((unwind_note_t *)note), arg);
}

/* The id of the stack whose native part note's chain gives, with the
 * Python frames py, when the memo or this thread's table of other Python
 * frames (pymemo) knows it; 0 otherwise. */
static inline uint32_t known_id(unwind_note_t *note, const py_t *py)
{
	const stackid_memo_t *memo = stackid_memo(note);
	if (memo_same(memo, py))
		return memo->id;
	return py->m ? pymemo_find(note->serial, py->code, py->line, py->m) : 0;
}

uint32_t stackid_capture(const uintptr_t *entry)
{
	/* Sized by the configured depth: hooks may run on small stacks. */
	uint64_t ips[ht_session.depth + UNWIND_EXTRA];
	uint32_t pc[PYFRAMES_MAX], pl[PYFRAMES_MAX];
	unsigned flags = 0, n = 0, m = 0;
	int pm = pyframes_capture(pc, pl, PYFRAMES_MAX);
	m = pm > 0 ? (unsigned)pm : 0;
	unwind_note_t *note = NULL;
	py_t py = { pc, pl, m };
	/* Verify mode: what the hot path would have said is checked below. */
	uint32_t foreseen = 0;
	if (entry && ht_session.unwind) {
		uint32_t id;
		if ((note = unwind_cached(entry, ht_session.depth)) != NULL &&
		    (id = known_id(note, &py)) != 0)
			return id;
		if (HT_UNLIKELY(unwind_mode() == UNWIND_VERIFY) &&
		    (note = unwind_cached_any(entry, ht_session.depth)) != NULL)
			foreseen = known_id(note, &py);
	}
	if (ht_session.unwind) {
		n = unwind_capture(ips, ht_session.depth, &flags, &note, memo_enough, &py, entry);
		/* Recognised, Python frames included: the id is known. */
		if (n == UNWIND_ENOUGH)
			return stackid_memo(note)->id;
	}
	stackid_memo_t *memo = note ? stackid_memo(note) : NULL;
	/* Verify mode: a memo that would have been used is checked against
	 * interning instead. */
	uint32_t noted = memo && memo_same(memo, &py) ? memo->id : 0;
	int is_new;
	uint32_t gen = modules_gen();
	uint32_t id = stacks_intern(ips, n, pc, pl, m, flags, gen, &is_new);
	if ((HT_UNLIKELY(noted) && noted != id) || (HT_UNLIKELY(foreseen) && foreseen != id))
		__atomic_fetch_add(&mismatches, 1, __ATOMIC_RELAXED);
	if (memo && m <= STACKID_MEMO_PY) {
		memo->id = id;
		memo->m = m;
		for (unsigned i = 0; i < m; i++) {
			memo->py[i] = pc[i];
			memo->py[STACKID_MEMO_PY + i] = pl[i];
		}
	}
	/* The memo holds the latest Python frames; the others stay found. */
	if (memo && m)
		pymemo_put(note->serial, pc, pl, m, id);
	/* A new stack may name a module loaded since the last map: refresh
	 * here, in producer context, before the event is committed (the
	 * writer writes the newest map before any new STACK).  Code may have
	 * moved: the unwinder's learned rules go too. */
	if (is_new && ht_session.unwind && modules_refresh(0) != gen)
		unwind_flush();
	return id;
}

#define FREE_SITES (sizeof(ht_tls.free_sites) / sizeof(ht_tls.free_sites[0]))

/* Python free sites: a thread running Python frees from many lines, far
 * more than the few latest sites in rec_tls_t, and a miss there interned
 * the site again (a hash and a compare under the intern table's rules).
 * This direct-mapped table keeps the thread's Python sites by the return
 * address and the innermost frame as it is in memory (pyframes_top: code
 * object, instruction pointer, owner), so a hit needs no frame lookup at
 * all; a slot is only a cache of what interning would return for the
 * frame's (code id, line), so a hit gives the same id.  Filled only when
 * pyframes_innermost read that very frame (not a caller past incomplete
 * ones).  Mapped at the thread's first Python free site (threads that run
 * no Python never map it). */
#define PYSITE_BITS 10 /* 1024 slots, 32 KiB per thread that runs Python */
typedef struct pysite {
	uintptr_t ip; /* return address into free()'s caller */
	const void *code, *instr; /* innermost frame's key (pyframes_top_t) */
	uint32_t id; /* its stack id, 0 = empty slot */
	int owner;
} pysite_t;
static __thread pysite_t *pysites __attribute__((tls_model("initial-exec")));

static inline pysite_t *pysite_slot(uintptr_t ip, const pyframes_top_t *k)
{
	uint64_t h = ((uint64_t)ip * 0x9e3779b97f4a7c15ull) ^ (uint64_t)(uintptr_t)k->instr;
	h *= 0xff51afd7ed558ccdull;
	return &pysites[h >> (64 - PYSITE_BITS)];
}

/* Puts f first among the thread's latest sites (the oldest falls off). */
static inline uint32_t free_site_front(rec_tls_t *t, struct rec_free_site f)
{
	memmove(&t->free_sites[1], &t->free_sites[0], (FREE_SITES - 1) * sizeof(t->free_sites[0]));
	t->free_sites[0] = f;
	return f.id;
}

/* A site none of the thread's latest ones is: intern it, and put it
 * first (the oldest falls off). */
static __attribute__((noinline)) uint32_t free_site_new(rec_tls_t *t, uintptr_t ip, uint32_t code,
							 uint32_t line, unsigned m)
{
	uint64_t ips[1] = { ip };
	unsigned n = ht_session.unwind && ip ? 1 : 0;
	int is_new;
	if (!n && !m)
		return 0; /* nothing to say where: an unknown site */
	uint32_t gen = modules_gen();
	uint32_t id = stacks_intern(ips, n, &code, &line, m, HT_STACK_FREESITE, gen, &is_new);
	if (!id)
		return 0;
	free_site_front(t, (struct rec_free_site){ ip, m ? code : 0, m ? line : 0, id });
	/* As in stackid_capture: the STACK may name a module loaded since. */
	if (is_new && n && modules_refresh(0) != gen)
		unwind_flush();
	return id;
}

/* The site (ip, code, line) among the thread's latest ones, else interned
 * (m: 1 with a Python frame).  Out of line: the Python path stays short. */
static __attribute__((noinline)) uint32_t free_site_latest(uintptr_t ip, uint32_t code,
							    uint32_t line, unsigned m)
{
	rec_tls_t *t = &ht_tls;
	for (unsigned k = 0; k < FREE_SITES; k++) {
		struct rec_free_site *f = &t->free_sites[k];
		if (f->id && f->ip == ip && f->code == code && f->line == line) {
			if (k) /* newest first */
				return free_site_front(t, *f);
			return f->id;
		}
	}
	int saved = errno; /* the recorder preserves errno */
	uint32_t id = free_site_new(t, ip, code, line, m);
	errno = saved;
	return id;
}

/* Keeps the site id of (ip, k) in the thread's Python table. */
static __attribute__((noinline)) void pysite_put(uintptr_t ip, const pyframes_top_t *k, uint32_t id)
{
	if (!pysites) {
		int saved = errno;
		pysites = mapmem_map(sizeof(pysite_t) << PYSITE_BITS, MAPMEM_PYTHON, 0);
		errno = saved;
		if (!pysites)
			return;
	}
	*pysite_slot(ip, k) = (pysite_t){ ip, k->code, k->instr, id, k->owner };
}

uint32_t stackid_free_site_slow(uintptr_t ip)
{
	/* A Python site: its table first, by the frame as it is in memory
	 * (the latest sites alternate between lines, and reordering them
	 * cost more than a hash). */
	pyframes_top_t k;
	int keyed = pyframes_top(&k);
	if (HT_LIKELY(keyed && pysites)) {
		const pysite_t *s = pysite_slot(ip, &k);
		if (HT_LIKELY(s->id && s->ip == ip && s->instr == k.instr && s->code == k.code &&
			      s->owner == k.owner))
			return s->id;
	}
	uint32_t code, line;
	int first;
	if (pyframes_innermost(&code, &line, &first) != 1)
		return free_site_latest(ip, 0, 0, 0);
	uint32_t id = free_site_latest(ip, code, line, 1);
	if (id && keyed && first)
		pysite_put(ip, &k, id);
	return id;
}

/* Frames of handler events kept for later (stackid_nested): one slot per
 * pending entry, [0] the count, [1] the flags, then the frames.  Mapped at
 * the first need, which is rare: only while this thread's own insert holds
 * the stack table's lock. */
#define HELD_WORDS (2 + STACKS_MAX_FRAMES + UNWIND_EXTRA)
#define HELD_BYTES (REC_PEND_MAX * HELD_WORDS * sizeof(uint64_t))
static __thread uint64_t *held __attribute__((tls_model("initial-exec")));

uint32_t stackid_nested(unsigned slot, int *is_new)
{
	uint64_t ips[ht_session.depth + UNWIND_EXTRA];
	unsigned flags = 0, n = 0;
	*is_new = 0;
	if (ht_session.unwind)
		n = unwind_capture_nested(ips, ht_session.depth, &flags);
	uint32_t id = stacks_intern_nested(ips, n, flags, modules_gen(), is_new);
	if (id != STACKS_HELD)
		return id;
	if (!held && !(held = mapmem_map(HELD_BYTES, MAPMEM_STACKS, 0)))
		return 0;
	uint64_t *w = &held[(slot % REC_PEND_MAX) * HELD_WORDS];
	w[0] = n;
	w[1] = flags;
	memcpy(&w[2], ips, n * sizeof(uint64_t));
	return STACKID_LATER;
}

uint32_t stackid_nested_later(unsigned slot, int *is_new)
{
	*is_new = 0;
	if (!held)
		return 0;
	const uint64_t *w = &held[(slot % REC_PEND_MAX) * HELD_WORDS];
	uint32_t id = stacks_intern_nested(&w[2], (unsigned)w[0], (unsigned)w[1], modules_gen(),
					   is_new);
	return id == STACKS_HELD ? 0 : id;
}

void stackid_refresh_modules(void)
{
	uint32_t gen = modules_gen();
	if (ht_session.unwind && modules_refresh(0) != gen)
		unwind_flush();
}

uint64_t stackid_mismatches(void)
{
	return __atomic_load_n(&mismatches, __ATOMIC_RELAXED);
}

void stackid_thread_exit(void)
{
	unwind_thread_exit();
	pymemo_thread_exit();
	if (pysites)
		mapmem_unmap(pysites, sizeof(pysite_t) << PYSITE_BITS, MAPMEM_PYTHON);
	pysites = NULL;
	mapmem_unmap(held, HELD_BYTES, MAPMEM_STACKS);
	held = NULL;
}

void stackid_reset_child(void)
{
	/* The table is new (the other threads are gone). */
	memset(ht_tls.free_sites, 0, sizeof(ht_tls.free_sites));
	if (pysites)
		memset(pysites, 0, sizeof(pysite_t) << PYSITE_BITS);
	stacks_reset_child();
	unwind_forget_ids();
}
