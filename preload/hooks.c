/* hooks: the interposed libc functions and the library constructor /
 * destructor.  Entry point of libheaptrail.so (kept out of the unit-test
 * archive).  Every hook is thread-safe, never allocates, preserves errno,
 * and forwards unchanged when not recording or when re-entered. */
#include "attach.h"
#include "common/env.h"
#include "config.h"
#include "msgfd.h"
#include "gotpatch.h"
#include "heapcount.h"
#include "heaptrail_format.h"
#include "lifecycle.h"
#include "modules.h"
#include "pymodule.h"
#include "recorder.h"
#include "session.h"
#include "unwind.h"
#include "util.h"
#include "writer.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/* Every interposed symbol: name, return type, parameters.  The pointers to
 * the next definitions (libc's) are generated from this one list. */
#define HT_HOOKS(X)                                                              \
	X(malloc, void *, (size_t))                                              \
	X(calloc, void *, (size_t, size_t))                                      \
	X(realloc, void *, (void *, size_t))                                     \
	X(reallocarray, void *, (void *, size_t, size_t))                        \
	X(free, void, (void *))                                                  \
	X(posix_memalign, int, (void **, size_t, size_t))                        \
	X(aligned_alloc, void *, (size_t, size_t))                               \
	X(memalign, void *, (size_t, size_t))                                    \
	X(valloc, void *, (size_t))                                              \
	X(pvalloc, void *, (size_t))                                             \
	X(malloc_usable_size, size_t, (void *))                                  \
	X(execve, int, (const char *, char *const[], char *const[]))             \
	X(execv, int, (const char *, char *const[]))                             \
	X(execvp, int, (const char *, char *const[]))                            \
	X(execvpe, int, (const char *, char *const[], char *const[]))            \
	X(fexecve, int, (int, char *const[], char *const[]))                     \
	X(_exit, void, (int))                                                    \
	X(_Exit, void, (int))
/* cfree (a glibc compat alias of free) is interposed as free; glibc 2.36
 * has no free_sized / free_aligned_sized.  execl, execlp and execle build
 * an argv on the stack and go through execve / execvpe. */

#define X_PTR(name, ret, args) static ret(*real_##name) args;
HT_HOOKS(X_PTR)
#undef X_PTR

/* Our own hooks' addresses: `&malloc` in this library would load the
 * GOT entry, i.e. whatever wins the global lookup (an allocator preloaded
 * before us).  Hidden aliases are always ours. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-attributes" /* glibc's nothrow, alloc_size... */
#define HT_SELF(name, ret, args) extern ret ht_self_##name args __attribute__((alias(#name), visibility("hidden")));
HT_SELF(malloc, void *, (size_t))
HT_SELF(calloc, void *, (size_t, size_t))
HT_SELF(realloc, void *, (void *, size_t))
HT_SELF(reallocarray, void *, (void *, size_t, size_t))
HT_SELF(free, void, (void *))
HT_SELF(posix_memalign, int, (void **, size_t, size_t))
HT_SELF(aligned_alloc, void *, (size_t, size_t))
HT_SELF(memalign, void *, (size_t, size_t))
HT_SELF(valloc, void *, (size_t))
HT_SELF(pvalloc, void *, (size_t))
#undef HT_SELF
#pragma GCC diagnostic pop

/* dlsym may allocate before the real allocator is known: serve it from a
 * static buffer (each block has a 16-byte size header; free ignores them). */
static char boot_buf[64 * 1024] __attribute__((aligned(16)));
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n)
{
	if (n > sizeof(boot_buf))
		return NULL;
	size_t need = ((n + 15) & ~(size_t)15) + 16;
	if (boot_used + need > sizeof(boot_buf))
		return NULL;
	char *p = boot_buf + boot_used;
	boot_used += need;
	*(size_t *)p = n;
	return p + 16;
}

static inline int is_boot(const void *p)
{
	return (const char *)p >= boot_buf && (const char *)p < boot_buf + sizeof(boot_buf);
}

static size_t boot_size(const void *p)
{
	return *(const size_t *)((const char *)p - 16);
}

/* Whether functions a and b come from the same object, named like `name`
 * (heapcount.h reads glibc's chunk headers only when its allocator is the
 * one in use). */
static int same_object(void *a, void *b, const char *name)
{
	Dl_info ia, ib;
	if (!a || !b || !dladdr(a, &ia) || !dladdr(b, &ib))
		return 0;
	return ia.dli_fbase == ib.dli_fbase && ia.dli_fname && strstr(ia.dli_fname, name);
}

/* The allocator family: the functions whose calls must all reach us or
 * none (gotpatch redirects them).  malloc_usable_size is forwarded to the
 * same allocator but not recorded, so it is not patched. */
#define HT_FAMILY(X)                                                             \
	X(malloc) X(calloc) X(realloc) X(reallocarray) X(free) X(posix_memalign) \
	X(aligned_alloc) X(memalign) X(valloc) X(pvalloc)
enum {
#define X_ENUM(name) FAM_##name,
	HT_FAMILY(X_ENUM)
#undef X_ENUM
	FAM_N
};
static const char *const fam_names[FAM_N] = {
#define X_NAME(name) #name,
	HT_FAMILY(X_NAME)
#undef X_NAME
};

/* Where each family member's calls go (resolve()): our hook, and the
 * function the hook forwards to. */
static void *fam_hook[FAM_N], *fam_real[FAM_N];
static void *fam_global[FAM_N]; /* what the global lookup finds: hook, or the winner's */

/* Who answers a program's malloc (resolve()). */
enum {
	ALLOC_US = 0, /* our hooks come first: forward to the next definition */
	ALLOC_LIB, /* a library before us defines it (LD_PRELOAD="libjemalloc.so.2 us"):
		      forward to it, redirect the GOT entries that bind to it */
	ALLOC_PROGRAM, /* the executable defines malloc, free, calloc or realloc:
			* none of the family is recorded (session family_off) */
};
static int alloc_mode;
static const char *own_name; /* ALLOC_PROGRAM: the first core member the executable defines */
/* 1 when the allocator can serve nested_realloc's move by hand: its
 * malloc_usable_size is its own (resolve()). */
static int nested_usable_ok;
static uintptr_t winner_lo, winner_hi; /* ALLOC_LIB: the winning library's range */

/* The definition the global lookup finds for name, or NULL when that is
 * ours.  The objects before us in the lookup order are the executable and
 * the libraries preloaded before us: the head of the link map, up to our
 * own.  Each one's own symbol table is searched (gotpatch_lookup): dlsym
 * on a non-PIE program that takes malloc's address returns its canonical
 * PLT entry (an undefined symbol with a value), whose calls go on to the
 * next definition, and dlsym with a link map as handle crashes on the
 * vDSO's.  *in_exe: the definition is the executable's. */
static void *global_def(const char *name, int *in_exe)
{
	Dl_info mine;
	*in_exe = 0;
	if (!dladdr((void *)&global_def, &mine))
		return NULL;
	for (struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next) {
		if (lm->l_addr == (uintptr_t)mine.dli_fbase)
			return NULL; /* we come first */
		void *f = gotpatch_lookup(lm->l_addr, lm->l_ld, name);
		if (!f)
			continue;
		*in_exe = !lm->l_prev;
		return f;
	}
	return NULL;
}

static int mod_range(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t *q = arg; /* {addr, lo, hi} */
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		lo = a < lo ? a : lo;
		hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
	}
	if (q[0] < lo || q[0] >= hi)
		return 0;
	q[1] = lo;
	q[2] = hi;
	return 1;
}

/* The load range of the module holding addr ({0,0} if none). */
static void range_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t q[3] = { addr, 0, 0 };
	dl_iterate_phdr(mod_range, q);
	*lo = q[1];
	*hi = q[2];
}

/* Whether this library was loaded after libc (dlopen: `heaptrail attach`),
 * not preloaded: then no call binds to our hooks by itself, and recording
 * starts only at heaptrail_attach_start (attach.c).  The link map lists
 * the objects in load order: a preloaded library comes before libc. */
static int late = -1;

static int loaded_late(void)
{
	if (late >= 0)
		return late;
	Dl_info mine;
	late = 0;
	if (!dladdr((void *)&loaded_late, &mine))
		return late;
	for (struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next) {
		if (lm->l_addr == (uintptr_t)mine.dli_fbase)
			break;
		if (lm->l_name && strstr(lm->l_name, "/libc.so"))
			late = 1;
	}
	return late;
}

static void resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
#define X_RESOLVE(name, ret, args) real_##name = (ret(*) args)dlsym(RTLD_NEXT, #name);
	HT_HOOKS(X_RESOLVE)
#undef X_RESOLVE
	/* An allocator preloaded before us wins the global lookup for the
	 * names it defines; forward those to it (and reach its calls through
	 * gotpatch), the others to the next definition as usual, so that the
	 * whole family goes to one allocator and is recorded, or none is. */
	int in_exe;
	void *winner = global_def("malloc", &in_exe);
	alloc_mode = !winner ? ALLOC_US : in_exe ? ALLOC_PROGRAM : ALLOC_LIB;
	/* An executable with an allocator of its own may define only part
	 * of the family (malloc and free, and libc's calloc and
	 * posix_memalign still reach us): recording those would mix two
	 * allocators' blocks (a calloc recorded, its free never seen).  Any
	 * of the four core members in the executable turns the family off:
	 * nothing recorded, what reaches us counted lost (issue 20). */
	static const char *const core[] = { "malloc", "free", "calloc", "realloc" };
	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
		int e;
		if (global_def(core[i], &e) && e) {
			alloc_mode = ALLOC_PROGRAM;
			own_name = core[i];
			break;
		}
	}
	if (alloc_mode == ALLOC_PROGRAM)
		ht_session.family_off = 1;
	if (alloc_mode == ALLOC_LIB) {
		range_of((uintptr_t)winner, &winner_lo, &winner_hi);
		/* Loaded late, we come after libc, whose malloc is then the
		 * "winner": its own GOT slots (strdup, fopen...) are the
		 * program's calls too and get redirected like everyone's. */
		if (loaded_late() && same_object(winner, (void *)&dlsym, "libc.so"))
			winner_lo = winner_hi = 0;
#define X_WIN(name)                                                        \
	{                                                                  \
		int e_;                                                    \
		void *d_ = global_def(#name, &e_);                        \
		if (d_)                                                    \
			memcpy(&real_##name, &d_, sizeof(d_));             \
	}
		HT_FAMILY(X_WIN)
#undef X_WIN
		void *u = global_def("malloc_usable_size", &in_exe);
		if (u)
			memcpy(&real_malloc_usable_size, &u, sizeof(u));
	}
#define X_TABLE(name)                                                   \
	fam_hook[FAM_##name] = (void *)&ht_self_##name;                           \
	memcpy(&fam_real[FAM_##name], &real_##name, sizeof(void *));  \
	{                                                               \
		int e_;                                                 \
		void *d_ = global_def(#name, &e_);                     \
		fam_global[FAM_##name] = d_ ? d_ : fam_hook[FAM_##name]; \
	}
	HT_FAMILY(X_TABLE)
#undef X_TABLE
	ht_heapcount.glibc = same_object(real_malloc, real_malloc_usable_size, "libc.so") &&
			     same_object(real_free, real_malloc_usable_size, "libc.so");
	ht_heapcount.usable = real_malloc_usable_size;
	nested_usable_ok = same_object(real_malloc, real_malloc_usable_size, "");
	recorder_real_free = real_free;
	resolving = 0;
}

#define ENSURE(name, fallback)                     \
	do {                                       \
		if (HT_UNLIKELY(!real_##name)) {   \
			if (resolving)             \
				return fallback;   \
			resolve();                 \
			if (!real_##name)          \
				return fallback;   \
		}                                  \
	} while (0)

#define HT_NOINLINE __attribute__((noinline))

/* ---- hooks a signal handler called while a hook ran ------------------- */

static int nested_foreign(void);

/* Whether the hook was entered by a signal handler that interrupted a hook
 * (or a mark) of this thread's, while recording (session.h, hook_state):
 * its event goes to the pending list instead of being forwarded unseen. */
static inline int nested_hook(const rec_tls_t *t)
{
	/* glibc's malloc never calls back into the family: a nested call is
	 * a signal handler's.  jemalloc and tcmalloc do, through libc's
	 * functions that gotpatch redirects to us (test_allocators: 3
	 * allocations on a live address when those calls were taken for a
	 * handler's): there the stack tells (nested_foreign). */
	return (t->in_hook == HOOK_REC || t->in_hook == HOOK_NESTED) && session_on() &&
	       (ht_heapcount.glibc || nested_foreign());
}

/* In HOOK_WAIT the hook runs again as a hook of its own (recorder.h,
 * recorder_wait_enter).  ret: a variable for the result.  The call names
 * our own hook (ht_self_*): by name it would go through the PLT to
 * whatever wins the global lookup, an allocator preloaded before us,
 * unrecorded (a handler's 335 of 400 frees under jemalloc, issue 14). */
#define WAITING_RECALL(t, ret, call)                  \
	do {                                          \
		if (HT_UNLIKELY((t)->in_hook == HOOK_WAIT)) { \
			recorder_wait_enter(t);       \
			ret = call;                   \
			__atomic_store_n(&(t)->in_hook, HOOK_WAIT, __ATOMIC_RELAXED); \
			return ret;                   \
		}                                     \
	} while (0)

/* nested_hook over an allocator other than glibc's: 1 when a signal
 * handler called this hook (it is recorded as over glibc's), 0 when the
 * allocator a hook called calls back into the family (part of that call:
 * forwarded, not an event).  A handler's call that cannot be recorded
 * safely (no stack walk to tell, or no usable size of the allocator's) is
 * forwarded and counted lost, never dropped silently (issue 14). */
static HT_NOINLINE int nested_foreign(void)
{
	int r = unwind_nested_from_handler();
	if (r == 0)
		return 0;
	if (r < 0 || !nested_usable_ok) {
		recorder_lose_nested();
		return 0;
	}
	return 1;
}

/* A nested allocation the real call made: pending, or counted lost at a
 * third level. */
static HT_NOINLINE void nested_alloc(unsigned type, unsigned kind, void *p, uint64_t aux,
				     uint64_t size)
{
	rec_tls_t *t = &ht_tls;
	if (t->in_hook == HOOK_NESTED) {
		recorder_lose_nested();
		return;
	}
	t->in_hook = HOOK_NESTED;
	recorder_pend(type, kind, p, aux, size, 0);
	t->in_hook = HOOK_REC;
}

/* A nested free: recorded as pending and left to the drain, which frees
 * the block only after its record: the interrupted hook's allocator call
 * must not hand the address out before its free is in the order.  1 when
 * the drain frees it. */
static HT_NOINLINE int nested_free(void *p)
{
	rec_tls_t *t = &ht_tls;
	if (t->in_hook == HOOK_NESTED) {
		recorder_lose_nested();
		return 0;
	}
	t->in_hook = HOOK_NESTED;
	int ok = recorder_pend(RING_EV_FREE, 0, p, 0, 0, 1) == 0;
	t->in_hook = HOOK_REC;
	return ok;
}

/* The loader's allocation of libunwind's thread-local block for an old
 * thread, while we unwind (unwind.h, unwind_in_lib): the recorder's own,
 * forwarded unrecorded.  Recorded as a nested event it would unwind again,
 * reach the same allocation a third time and be counted lost (a Python
 * thread older than `heaptrail attach`, at its first allocation). */
#define NESTED_ALLOC(t, p, kind, size, align)                          \
	do {                                                           \
		if (HT_UNLIKELY(nested_hook(t)) && (p) &&              \
		    !(unwind_in_lib && from_loader(__builtin_return_address(0)))) \
			nested_alloc(RING_EV_ALLOC, kind, p, align, size); \
	} while (0)

/* ---- allocation hooks ------------------------------------------------- */

static uintptr_t ldso_lo, ldso_len; /* the loader's load range (got_init) */
static void got_poll(void) __attribute__((noinline));

/* A malloc or free from the loader itself: dlopen allocates after it has
 * relocated the new objects and before it runs their constructors
 * (_dl_find_object_update), so a deep-bound library is redirected before
 * its first own call.  Rare (loader allocations only). */
static inline int from_loader(const void *ra)
{
	return (uintptr_t)ra - ldso_lo < ldso_len;
}


/* An allocation hook keeps a frame record (HT_ALLOC_HOOK) and hands it to
 * the unwinder (HT_ENTRY): its saved RBP and return address are exactly
 * the registers an unwinder restores for the hook's caller, so the walk
 * starts there and skips the recorder's own frames.  Set just before
 * recording; the recorder clears it. */
#define HT_ALLOC_HOOK __attribute__((optimize("no-omit-frame-pointer"), noinline))
#define HT_ENTRY(t) ((t)->entry = (const uintptr_t *)__builtin_frame_address(0))

/* Off the recording path only: a read of a shared flag, written once. */
static inline void note_unrecorded(const rec_tls_t *t)
{
	if (!t->in_hook && HT_UNLIKELY(!ht_session.unrecorded_calls))
		ht_session.unrecorded_calls = 1;
}

/* A call of the program's forwarded unrecorded because the executable
 * has an allocator of its own (family_off): counted lost, not silent.
 * Off the recording path (family_off keeps session_on() 0). */
static inline void count_own_alloc(const rec_tls_t *t)
{
	if (HT_UNLIKELY(ht_session.family_off) && !t->in_hook && session_active())
		__atomic_fetch_add(&ht_session.lost_own_alloc, 1, __ATOMIC_RELAXED);
}

HT_EXPORT HT_ALLOC_HOOK void *malloc(size_t n)
{
	ENSURE(malloc, boot_alloc(n));
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook) {
		void *p;
		note_unrecorded(t);
		count_own_alloc(t);
		WAITING_RECALL(t, p, ht_self_malloc(n));
		p = real_malloc(n);
		NESTED_ALLOC(t, p, HT_KIND_MALLOC, n, 0);
		return p;
	}
	t->in_hook = HOOK_REC;
	void *p = real_malloc(n);
	if (p) {
		HT_ENTRY(t);
		recorder_alloc(HT_KIND_MALLOC, p, n, 0);
	}
	if (HT_UNLIKELY(from_loader(__builtin_return_address(0))))
		got_poll();
	recorder_hook_out(t);
	return p;
}

HT_EXPORT HT_ALLOC_HOOK void *calloc(size_t nm, size_t sz)
{
	size_t total;
	if (__builtin_mul_overflow(nm, sz, &total))
		total = SIZE_MAX; /* the bootstrap buffer refuses it */
	ENSURE(calloc, boot_alloc(total)); /* boot_buf is zeroed */
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook) {
		void *p;
		note_unrecorded(t);
		count_own_alloc(t);
		WAITING_RECALL(t, p, ht_self_calloc(nm, sz));
		p = real_calloc(nm, sz);
		NESTED_ALLOC(t, p, HT_KIND_CALLOC, (uint64_t)nm * sz, 0);
		return p;
	}
	t->in_hook = HOOK_REC;
	void *p = real_calloc(nm, sz);
	if (p) {
		HT_ENTRY(t);
		recorder_alloc(HT_KIND_CALLOC, p, (uint64_t)nm * sz, 0);
	}
	recorder_hook_out(t);
	return p;
}

HT_EXPORT void free(void *p)
{
	if (!p || is_boot(p))
		return;
	if (HT_UNLIKELY(!real_free)) {
		resolve();
		if (!real_free)
			return;
	}
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook) {
		count_own_alloc(t);
		if (HT_UNLIKELY(t->in_hook == HOOK_WAIT)) {
			recorder_wait_enter(t);
			ht_self_free(p);
			__atomic_store_n(&t->in_hook, HOOK_WAIT, __ATOMIC_RELAXED);
			return;
		}
		if (HT_UNLIKELY(nested_hook(t)) && nested_free(p))
			return;
		real_free(p);
		return;
	}
	t->in_hook = HOOK_REC;
	/* The real free starts by reading the block's malloc header, often a
	 * cache miss; recording first ends with a locked instruction that
	 * would keep that load from starting early, so ask for it now. */
	__builtin_prefetch((const char *)p - 2 * sizeof(size_t));
	/* The site: where the caller called free (one return address). */
	recorder_free(p, (uintptr_t)__builtin_return_address(0)); /* before the block can be handed out again */
	real_free(p);
	if (HT_UNLIKELY(from_loader(__builtin_return_address(0))))
		got_poll();
	recorder_hook_out(t);
}

HT_EXPORT void cfree(void *p);
HT_EXPORT void cfree(void *p)
{
	free(p);
}

/* A nested realloc (see nested_free): a block that moves is moved by hand,
 * so that the old one is freed only after the move is recorded. */
static HT_NOINLINE void *nested_realloc(void *p, size_t total, unsigned null_kind,
					void *(*call)(void *, size_t, size_t), size_t a, size_t b)
{
	rec_tls_t *t = &ht_tls;
	if (!p) {
		void *q = call(NULL, a, b);
		if (q)
			nested_alloc(RING_EV_ALLOC, null_kind, q, 0, total);
		return q;
	}
	if (total == 0) {
		/* glibc frees p and returns NULL. */
		if (nested_free(p))
			return NULL;
		return call(p, a, b);
	}
	if (t->in_hook == HOOK_NESTED) {
		recorder_lose_nested();
		return call(p, a, b);
	}
	void *q = real_malloc(total);
	if (!q)
		return NULL; /* errno is ENOMEM; p is untouched, as realloc leaves it */
	size_t old = real_malloc_usable_size(p);
	memcpy(q, p, old < total ? old : total);
	t->in_hook = HOOK_NESTED;
	int ok = recorder_pend(RING_EV_REALLOC, HT_KIND_REALLOC, p, (uint64_t)(uintptr_t)q, total,
			       1) == 0;
	t->in_hook = HOOK_REC;
	if (!ok)
		real_free(p);
	return q;
}

/* Shared by realloc and reallocarray (total = new size in bytes). */
static void *do_realloc(void *p, size_t total, unsigned null_kind, void *(*call)(void *, size_t, size_t),
			size_t a, size_t b, const uintptr_t *entry)
{
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook) {
		void *q;
		count_own_alloc(t);
		WAITING_RECALL(t, q, do_realloc(p, total, null_kind, call, a, b, entry));
		if (HT_UNLIKELY(nested_hook(t)))
			return nested_realloc(p, total, null_kind, call, a, b);
		return call(p, a, b);
	}
	t->in_hook = HOOK_REC;
	void *q;
	if (!p) {
		q = call(NULL, a, b);
		if (q) {
			t->entry = entry;
			recorder_alloc(null_kind, q, total, 0);
		}
	} else if (total == 0) {
		/* glibc frees p and returns NULL.  entry[1]: the return
		 * address into realloc's caller, the free's site. */
		recorder_free(p, entry ? entry[1] : 0);
		q = call(p, a, b);
		if (q) {
			t->entry = entry;
			recorder_alloc(null_kind, q, 0, 0);
		}
	} else {
		int64_t old_usable = heapcount_usable(p); /* p may be gone after */
		q = call(p, a, b);
		if (q) {
			t->entry = entry;
			recorder_realloc(p, q, total, old_usable);
		}
	}
	recorder_hook_out(t);
	return q;
}

static void *call_realloc(void *p, size_t n, size_t unused)
{
	(void)unused;
	return real_realloc(p, n);
}

static void *call_reallocarray(void *p, size_t nm, size_t sz)
{
	return real_reallocarray(p, nm, sz);
}

HT_EXPORT HT_ALLOC_HOOK void *realloc(void *p, size_t n)
{
	if (HT_UNLIKELY(is_boot(p))) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, boot_size(p) < n ? boot_size(p) : n);
		return q;
	}
	ENSURE(realloc, boot_alloc(n));
	return do_realloc(p, n, HT_KIND_REALLOC, call_realloc, n, 0,
			  (const uintptr_t *)__builtin_frame_address(0));
}

HT_EXPORT HT_ALLOC_HOOK void *reallocarray(void *p, size_t nm, size_t sz)
{
	size_t total;
	if (__builtin_mul_overflow(nm, sz, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (HT_UNLIKELY(is_boot(p)))
		return realloc(p, total);
	ENSURE(reallocarray, boot_alloc(total));
	return do_realloc(p, total, HT_KIND_REALLOCARRAY, call_reallocarray, nm, sz,
			  (const uintptr_t *)__builtin_frame_address(0));
}

HT_EXPORT HT_ALLOC_HOOK int posix_memalign(void **out, size_t al, size_t n)
{
	ENSURE(posix_memalign, ENOMEM);
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook) {
		int r;
		count_own_alloc(t);
		WAITING_RECALL(t, r, ht_self_posix_memalign(out, al, n));
		r = real_posix_memalign(out, al, n);
		NESTED_ALLOC(t, r == 0 ? *out : NULL, HT_KIND_POSIX_MEMALIGN, n, al);
		return r;
	}
	t->in_hook = HOOK_REC;
	int r = real_posix_memalign(out, al, n);
	if (r == 0) {
		HT_ENTRY(t);
		recorder_alloc(HT_KIND_POSIX_MEMALIGN, *out, n, al);
	}
	recorder_hook_out(t);
	return r;
}

#define ALIGNED_HOOK(name, kind, params, args, align)           \
	HT_EXPORT HT_ALLOC_HOOK void *name params                \
	{                                                        \
		ENSURE(name, NULL);                              \
		rec_tls_t *t = &ht_tls;                          \
		if (!session_on() || t->in_hook) {              \
			void *p;                                 \
			count_own_alloc(t);                      \
			WAITING_RECALL(t, p, ht_self_##name args); \
			p = real_##name args;                    \
			NESTED_ALLOC(t, p, kind, n, align);      \
			return p;                                \
		}                                                \
		t->in_hook = HOOK_REC;                           \
		void *p = real_##name args;                      \
		if (p) {                                         \
			HT_ENTRY(t);                             \
			recorder_alloc(kind, p, n, align);       \
		}                                                \
		recorder_hook_out(t);                            \
		return p;                                        \
	}

ALIGNED_HOOK(aligned_alloc, HT_KIND_ALIGNED_ALLOC, (size_t al, size_t n), (al, n), al)
ALIGNED_HOOK(memalign, HT_KIND_MEMALIGN, (size_t al, size_t n), (al, n), al)
ALIGNED_HOOK(valloc, HT_KIND_VALLOC, (size_t n), (n), 0)
ALIGNED_HOOK(pvalloc, HT_KIND_PVALLOC, (size_t n), (n), 0)

HT_EXPORT size_t malloc_usable_size(void *p)
{
	if (is_boot(p))
		return boot_size(p);
	ENSURE(malloc_usable_size, 0);
	return real_malloc_usable_size(p);
}

/* ---- snapshot API ------------------------------------------------------- */

HT_EXPORT int heaptrail_snapshot_impl(const char *label)
{
	return recorder_snapshot(label);
}

HT_EXPORT int heaptrail_recording_impl(void)
{
	return session_on();
}

/* ---- exec ----------------------------------------------------------------- */

enum { VIA_EXECVE, VIA_EXECVPE, VIA_FEXECVE };

static int call_exec(int via, int fd, const char *path, char *const argv[], char *const envp[])
{
	switch (via) {
	case VIA_EXECVE:
		return real_execve(path, argv, envp);
	case VIA_EXECVPE:
		return real_execvpe(path, argv, envp);
	default:
		return real_fexecve(fd, argv, envp);
	}
}

static int is_var(const char *e, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(e, name, n) && e[n] == '=';
}

/* In the recording process: flush, write EXEC, hand the trace fd to the
 * new image (same pid) through HEAPTRAIL_FD, exec; resume on failure. */
static int exec_recorded(int via, int fd, const char *path, char *const argv[], char *const envp[])
{
	size_t n = 0;
	int preloads = 0;
	if (envp)
		for (; envp[n]; n++)
			preloads |= is_var(envp[n], "LD_PRELOAD");
	char *env[n + 4];
	char fdv[64], idv[96], rootv[48];
	int tfd = ht_session.fd;
	char *const *use_env = envp;
	if (preloads) {
		/* The new image loads us again: hand it the trace. */
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (!is_var(envp[i], HT_ENV_FD) && !is_var(envp[i], HT_ENV_FD_ID) &&
			    !is_var(envp[i], HT_ENV_ROOT_PID))
				env[k++] = envp[i];
		util_line_t l = { rootv, sizeof(rootv), 0 };
		util_line_str(&l, HT_ENV_ROOT_PID "=");
		util_line_u64(&l, (uint64_t)getpid());
		env[k++] = rootv;
		if (tfd >= 0 && config_fd_env(tfd, fdv, sizeof(fdv), idv, sizeof(idv)) == 0) {
			env[k++] = fdv;
			env[k++] = idv;
		} else {
			tfd = -1;
		}
		env[k] = NULL;
		use_env = env;
	} else {
		/* An environment without LD_PRELOAD (env -i ...): the new image
		 * is not traced; leave its environment exactly as given. */
		tfd = -1;
	}

	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = HOOK_QUIET;
	char fdpath[40];
	if (via == VIA_FEXECVE) {
		util_line_t p = { fdpath, sizeof(fdpath), 0 };
		fdpath[0] = 0;
		util_line_str(&p, "/proc/self/fd/");
		util_line_u64(&p, (uint64_t)fd);
		path = fdpath;
	}
	int paused = lifecycle_before_exec(path, !preloads) == 0;
	if (tfd >= 0) {
		util_fcntl(tfd, F_SETFD, 0);
		msgfd_hand_over(1);
	}
	int r = call_exec(via, fd, path, argv, use_env);
	int err = errno;
	if (tfd >= 0) {
		util_fcntl(tfd, F_SETFD, FD_CLOEXEC);
		msgfd_hand_over(0);
	}
	if (paused)
		lifecycle_exec_failed();
	t->in_hook = nested;
	errno = err;
	return r;
}

HT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	ENSURE(execve, (errno = ENOSYS, -1));
	if (!session_recording_here())
		return real_execve(path, argv, envp);
	return exec_recorded(VIA_EXECVE, -1, path, argv, envp);
}

HT_EXPORT int execv(const char *path, char *const argv[])
{
	ENSURE(execv, (errno = ENOSYS, -1));
	if (!session_recording_here())
		return real_execv(path, argv);
	return exec_recorded(VIA_EXECVE, -1, path, argv, environ);
}

HT_EXPORT int execvp(const char *file, char *const argv[])
{
	ENSURE(execvp, (errno = ENOSYS, -1));
	if (!session_recording_here())
		return real_execvp(file, argv);
	ENSURE(execvpe, (errno = ENOSYS, -1));
	return exec_recorded(VIA_EXECVPE, -1, file, argv, environ);
}

HT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ENSURE(execvpe, (errno = ENOSYS, -1));
	if (!session_recording_here())
		return real_execvpe(file, argv, envp);
	return exec_recorded(VIA_EXECVPE, -1, file, argv, envp);
}

HT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	ENSURE(fexecve, (errno = ENOSYS, -1));
	if (!session_recording_here())
		return real_fexecve(fd, argv, envp);
	return exec_recorded(VIA_FEXECVE, fd, NULL, argv, envp);
}

/* Counts the arguments of an execl-style call (arg0 included). */
#define COUNT_ARGS(arg0, ap, n)                         \
	do {                                            \
		va_list cp;                             \
		va_copy(cp, ap);                        \
		n = 1;                                  \
		if (arg0)                               \
			while (va_arg(cp, char *))      \
				n++;                    \
		va_end(cp);                             \
	} while (0)

#define FILL_ARGS(arg0, ap, argv, n)                          \
	do {                                                  \
		argv[0] = (char *)arg0;                       \
		for (size_t i_ = 1; i_ < n; i_++)             \
			argv[i_] = va_arg(ap, char *);        \
		if (arg0)                                     \
			(void)va_arg(ap, char *);             \
		argv[n] = NULL;                               \
	} while (0)

/* Declares char *argv[] holding an execl-style call's arguments (arg0
 * included, NULL-terminated) and leaves ap after the terminating NULL, where
 * execle's envp follows; the caller va_ends ap.  glibc declares arg0
 * nonnull, yet execl(path, NULL) is a valid empty argv: the empty asm hides
 * the pointer from the compiler's nonnull reasoning. */
#define EXECL_ARGV(arg0, ap, argv)          \
	const char *first_ = (arg0);        \
	__asm__("" : "+r"(first_));         \
	size_t n_;                          \
	va_start(ap, arg0);                 \
	COUNT_ARGS(first_, ap, n_);         \
	char *argv[n_ + 1];                 \
	FILL_ARGS(first_, ap, argv, n_)

HT_EXPORT int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	EXECL_ARGV(arg0, ap, argv);
	va_end(ap);
	return execve(path, argv, environ);
}

HT_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	EXECL_ARGV(arg0, ap, argv);
	va_end(ap);
	return execvpe(file, argv, environ);
}

HT_EXPORT int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	EXECL_ARGV(arg0, ap, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/* ---- exit --------------------------------------------------------------- */

HT_EXPORT void _exit(int status)
{
	if (session_recording_here())
		lifecycle_finish();
	if (!real__exit)
		resolve();
	real__exit(status);
	__builtin_unreachable();
}

HT_EXPORT void _Exit(int status)
{
	if (session_recording_here())
		lifecycle_finish();
	if (!real__Exit)
		resolve();
	real__Exit(status);
	__builtin_unreachable();
}

/* A raw exit through libc's syscall(): syscall(SYS_exit_group, n) ends
 * the process as _exit does.  Up to six arguments are passed on, as libc's
 * own syscall() reads them (register arguments; reading an unpassed one is
 * harmless on x86-64). */
HT_EXPORT long syscall(long nr, ...)
{
	static long (*real_syscall)(long, ...);
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (HT_UNLIKELY(nr == SYS_exit_group) && session_recording_here())
		lifecycle_finish();
	if (HT_UNLIKELY(!real_syscall)) {
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		if (!real_syscall) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_syscall(nr, a, b, c, d, e, f);
}

/* ---- GOT redirection ---------------------------------------------------- */

/* Calls that bind past our hooks: a library dlopen'ed with RTLD_DEEPBIND
 * looks malloc up in its own dependencies first (libc), and with an
 * allocator preloaded before us every module binds to it.  We do not hook
 * dlopen (its caller decides RPATH and $ORIGIN lookups); instead, whenever
 * the module map changes, every module's GOT slots for the family are
 * checked and those bound to the function our hook forwards to are
 * pointed at the hook (gotpatch.h).  The result is the same call, now
 * recorded. */
static int got_busy; /* a scan runs (one at a time) */
static int got_off; /* a detach restored every slot: no scan patches again */
static int got_free_only; /* an attach's first scan: the free slots alone */
static int got_pending; /* a module was mid-dlopen, or a scan was skipped: scan again */
#define MAX_WARNED 32
static uintptr_t got_warned[MAX_WARNED]; /* biases of libraries warned about */
static unsigned got_nwarned;

typedef struct got_ctx {
	const struct dl_phdr_info *info;
	uintptr_t dyn; /* address of its dynamic section */
	int other_ns; /* -1: not known yet; 1: a dlmopen namespace, leave it */
} got_ctx_t;

/* Whether the module was loaded by dlmopen into another namespace (its
 * own libc and heap: never ours to redirect).  The base namespace's link
 * map list (_r_debug) is changed only under the loader's write lock,
 * which dl_iterate_phdr holds while it calls us; dladdr would take the
 * other loader lock in the wrong order, so the list is walked instead. */
static int in_base_namespace(uintptr_t bias, uintptr_t dyn)
{
	for (struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next)
		if (lm->l_addr == bias && (uintptr_t)lm->l_ld == dyn)
			return 1;
	return 0;
}

static int other_namespace(got_ctx_t *c)
{
	if (c->other_ns < 0)
		c->other_ns = !in_base_namespace(c->info->dlpi_addr, c->dyn);
	return c->other_ns;
}

static void *got_decide(void *arg, const gotpatch_slot_t *s)
{
	void *hook = fam_hook[s->sym], *real = fam_real[s->sym];
	if (alloc_mode == ALLOC_PROGRAM || s->cur == hook)
		return NULL;
	if (s->cur == real)
		return hook; /* bound past us to where the hook forwards */
	if (!s->lazy)
		return NULL; /* bound to some other allocator on purpose */
	/* A JUMP_SLOT not bound yet: the loader would bind it to the global
	 * definition (hook, or the preloaded allocator we forward to) or, for
	 * a deep-bound module, usually to libc's (where we forward too). */
	if (fam_global[s->sym] != hook && fam_global[s->sym] != real)
		return NULL;
	return other_namespace(arg) ? NULL : hook;
}

/* got_decide for a walk over fam_names[FAM_free] alone. */
static void *got_decide_free(void *arg, const gotpatch_slot_t *s)
{
	gotpatch_slot_t q = *s;
	q.sym = FAM_free;
	return got_decide(arg, &q);
}

static void got_warn(const struct dl_phdr_info *info, int err)
{
	for (unsigned i = 0; i < got_nwarned; i++)
		if (got_warned[i] == info->dlpi_addr)
			return;
	if (got_nwarned < MAX_WARNED)
		got_warned[got_nwarned++] = info->dlpi_addr;
	char msg[400];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, "cannot redirect the allocator calls of ");
	util_line_str(&l, info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "the program");
	util_line_str(&l, err == -ENOMEM ? " (out of memory)" : " (cannot write its GOT, errno ");
	if (err != -ENOMEM) {
		util_line_u64(&l, (uint64_t)-err);
		util_line_str(&l, ")");
	}
	util_line_str(&l, "; its malloc/free calls are not recorded");
	writer_warn(msg);
}

/* C++ operator new and delete.  jemalloc, tcmalloc and mimalloc define
 * them and serve them without calling malloc; preloaded, in either order,
 * they come before libstdc++ in the lookup, so none of a C++ program's
 * new/delete would reach us.  Slots bound to the allocator's operators are
 * pointed at libstdc++'s, which call malloc and free: our hooks, then the
 * same allocator (one heap, so blocks from either side free alike). */
#define HT_CXX(X)                                                                        \
	X(_Znwm) X(_Znam) X(_ZnwmRKSt9nothrow_t) X(_ZnamRKSt9nothrow_t)                  \
	X(_ZnwmSt11align_val_t) X(_ZnamSt11align_val_t)                                  \
	X(_ZnwmSt11align_val_tRKSt9nothrow_t) X(_ZnamSt11align_val_tRKSt9nothrow_t)      \
	X(_ZdlPv) X(_ZdaPv) X(_ZdlPvm) X(_ZdaPvm) X(_ZdlPvRKSt9nothrow_t)                \
	X(_ZdaPvRKSt9nothrow_t) X(_ZdlPvSt11align_val_t) X(_ZdaPvSt11align_val_t)        \
	X(_ZdlPvmSt11align_val_t) X(_ZdaPvmSt11align_val_t)                              \
	X(_ZdlPvSt11align_val_tRKSt9nothrow_t) X(_ZdaPvSt11align_val_tRKSt9nothrow_t)
static const char *const cxx_names[] = {
#define X_NAME(name) #name,
	HT_CXX(X_NAME)
#undef X_NAME
};
#define CXX_N (sizeof(cxx_names) / sizeof(cxx_names[0]))
static void *cxx_std[CXX_N]; /* libstdc++'s definitions (NULL: not loaded yet) */
static int cxx_alloc_has[CXX_N]; /* the allocator defines it */
static uintptr_t cxx_lo, cxx_hi; /* the allocator library whose operators are replaced */

static void *cxx_decide(void *arg, const gotpatch_slot_t *s)
{
	uintptr_t cur = (uintptr_t)s->cur;
	void *std = cxx_std[s->sym];
	if (!std || s->cur == std)
		return NULL;
	if (cur >= cxx_lo && cur < cxx_hi)
		return std; /* bound to the allocator's operator */
	/* Not bound yet: it will bind to the allocator's, first in the
	 * lookup, if it has one. */
	return s->lazy && cxx_alloc_has[s->sym] && !other_namespace(arg) ? std : NULL;
}

/* First pass of a scan: finds libstdc++'s and the allocator's operators. */
static int cxx_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 0;
	int is_std = info->dlpi_name && strstr(info->dlpi_name, "/libstdc++.so") &&
		     in_base_namespace(info->dlpi_addr, (uintptr_t)dyn);
	uintptr_t first = 0;
	for (int i = 0; i < info->dlpi_phnum && !first; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD)
			first = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	int is_alloc = first >= cxx_lo && first < cxx_hi;
	for (size_t k = 0; k < CXX_N && (is_std || is_alloc); k++) {
		void *d = gotpatch_lookup(info->dlpi_addr, dyn, cxx_names[k]);
		if (is_std)
			cxx_std[k] = d;
		if (is_alloc)
			cxx_alloc_has[k] = d != NULL;
	}
	return 0;
}

static int got_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	unsigned *unbound = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0, dyn = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_DYNAMIC)
			dyn = a;
		if (ph->p_type != PT_LOAD)
			continue;
		lo = a < lo ? a : lo;
		hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
	}
	uintptr_t self = (uintptr_t)&got_module;
	if ((self >= lo && self < hi) || (winner_lo >= lo && winner_lo < hi))
		return 0; /* us, or the allocator we forward to (its own calls) */
	got_ctx_t c = { info, dyn, -1 };
	gotpatch_result_t r;
	if (got_free_only) {
		if (gotpatch_module(info, &fam_names[FAM_free], 1, got_decide_free, &c, &r) == 0 &&
		    r.err)
			got_warn(info, r.err);
		return 0;
	}
	if (gotpatch_module(info, fam_names, FAM_N, got_decide, &c, &r) != 0)
		return 0;
	*unbound += r.unbound;
	if (r.err)
		got_warn(info, r.err);
	if (cxx_hi && !(cxx_lo >= lo && cxx_lo < hi) &&
	    gotpatch_module(info, cxx_names, CXX_N, cxx_decide, &c, &r) == 0) {
		*unbound += r.unbound;
		if (r.err)
			got_warn(info, r.err);
	}
	return 0;
}

/* Checks every module's GOT.  Runs in a hook (in_hook set) or at start. */
static void got_scan(void)
{
	if (alloc_mode == ALLOC_PROGRAM || !real_malloc ||
	    __atomic_load_n(&got_off, __ATOMIC_ACQUIRE))
		return;
	if (__atomic_exchange_n(&got_busy, 1, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&got_pending, 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_load_n(&got_off, __ATOMIC_ACQUIRE)) {
		/* A detach restored the slots after our first check. */
		__atomic_store_n(&got_busy, 0, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&got_pending, 0, __ATOMIC_RELAXED);
	unsigned unbound = 0;
	if (cxx_hi)
		dl_iterate_phdr(cxx_find, NULL);
	dl_iterate_phdr(got_module, &unbound);
	if (unbound)
		__atomic_store_n(&got_pending, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&got_busy, 0, __ATOMIC_RELEASE);
}

/* modules.c calls this when the module map changed; returns 1 to be
 * called again at the next refresh (a module was not relocated yet). */
static int got_on_modules_change(void)
{
	if (session_on())
		got_scan();
	return __atomic_load_n(&got_pending, __ATOMIC_RELAXED);
}

static void got_poll(void)
{
	modules_refresh(0);
	if (__atomic_load_n(&got_pending, __ATOMIC_RELAXED))
		got_scan();
}

static void got_fork_child(void)
{
	got_busy = 0; /* another thread may have been scanning at fork */
}

static void got_init(void)
{
	uintptr_t base = (uintptr_t)getauxval(AT_BASE), lo = 0, hi = 0;
	if (base)
		range_of(base, &lo, &hi);
	ldso_lo = lo;
	ldso_len = hi - lo;
	if (real_malloc && !same_object((void *)real_malloc, (void *)real_free, "libc.so"))
		range_of((uintptr_t)real_malloc, &cxx_lo, &cxx_hi);
	modules_on_change(got_on_modules_change);
	pthread_atfork(NULL, NULL, got_fork_child);
}

/* ---- attach (attach.h) --------------------------------------------------- */

int hooks_loaded_late(void)
{
	return loaded_late();
}

int hooks_program_malloc(void)
{
	if (!real_malloc)
		resolve();
	return alloc_mode == ALLOC_PROGRAM;
}

unsigned hooks_redirect(void)
{
	/* free first: a block whose malloc was not redirected yet and whose
	 * free is recorded counts as a free from before the attach; the other
	 * way round it would stay live in the trace for ever. */
	__atomic_store_n(&got_off, 0, __ATOMIC_RELEASE);
	got_free_only = 1;
	got_scan();
	got_free_only = 0;
	got_scan();
	return gotpatch_count();
}

unsigned hooks_restore(void)
{
	/* No scan starts after this, and the one running (another thread's,
	 * at a module map change) finishes first; got_busy stays taken. */
	__atomic_store_n(&got_off, 1, __ATOMIC_RELEASE);
	while (__atomic_exchange_n(&got_busy, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	/* free last, for the same reason as in hooks_redirect. */
	unsigned n = gotpatch_restore_name("free", 0);
	n += gotpatch_restore_name("free", 1);
	__atomic_store_n(&got_busy, 0, __ATOMIC_RELEASE);
	return n;
}

/* ---- constructor / destructor ------------------------------------------ */

/* One line when the executable defines part of the family: none of its
 * allocations reach us, and none of the family is recorded (the calls
 * that reach us anyway are counted lost).  An allocator library preloaded
 * before us needs no line: its calls are redirected through us (got_scan)
 * and recorded. */
static void warn_own_malloc(void)
{
	if (alloc_mode != ALLOC_PROGRAM || !own_name)
		return;
	int in_exe;
	void *m = global_def(own_name, &in_exe);
	Dl_info theirs;
	const char *who = m && dladdr(m, &theirs) && theirs.dli_fname && *theirs.dli_fname ?
				  theirs.dli_fname : "the program";
	char msg[400];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, own_name);
	util_line_str(&l, " is defined by ");
	util_line_str(&l, who);
	util_line_str(&l, ", an allocator of its own: no allocation is recorded (not to mix "
			  "two allocators); the family calls that reach heaptrail are counted lost");
	ht_session.own_malloc = 1;
	writer_warn(msg);
}

/* Recording could not start (why: the reason in words).  An empty trace
 * file gets the reason instead of a trace (HT_NOT_STARTED_MAGIC), so that
 * `heaptrail info` names the cause; under the wrapper that is all (its
 * summary says it, once, and the program's stderr stays the program's),
 * else one line on stderr too.  The fd is closed: nothing of ours stays. */
static void not_started(int fd, int fresh, int from_wrapper, const char *why)
{
	int written = 0;
	if (fd >= 0 && fresh && ftruncate(fd, 0) == 0) {
		char text[320];
		util_line_t t = { text, sizeof(text), 0 };
		util_line_str(&t, HT_NOT_STARTED_MAGIC);
		util_line_str(&t, why);
		util_line_str(&t, "\n");
		written = pwrite(fd, text, t.len, 0) == (ssize_t)t.len;
	}
	if (!written || !from_wrapper) {
		char msg[320];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, "cannot start recording: ");
		util_line_str(&l, why);
		util_line_str(&l, "; the program runs unrecorded");
		util_say(1, msg);
	}
	if (fd < 0)
		return;
	__atomic_store_n(&ht_session.fd, -1, __ATOMIC_RELEASE); /* fdguard lets go */
	close(fd);
}

/* quick_exit runs at_quick_exit handlers, then leaves without destructors;
 * ours is registered first, so it runs after the program's handlers. */
static void on_quick_exit(void)
{
	if (session_recording_here())
		lifecycle_finish();
}

__attribute__((constructor)) static void heaptrail_init(void)
{
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = HOOK_QUIET;
	if (!real_malloc)
		resolve();
	config_t cfg;
	if (loaded_late())
		memset(&cfg, 0, sizeof(cfg)); /* nothing of the environment's */
	else
		config_load(&cfg);
	pthread_atfork(lifecycle_fork_prepare, lifecycle_fork_parent, lifecycle_fork_child);
	got_init();
	int pid = getpid();
	/* Loaded by `heaptrail attach`: the environment is the program's, and
	 * recording waits for heaptrail_attach_start. */
	if (!loaded_late() && config_should_record(&cfg, pid)) {
		int fresh = 1;
		/* HEAPTRAIL_OUTPUT=/dev/null: record everything, write nothing
		 * (benchmarks of the recorder itself). */
		int fd = cfg.null_sink ? -1 : config_open_output(&cfg, pid, 1, &fresh);
		if (fd >= 0 || cfg.null_sink) {
			char why[256];
			int err = lifecycle_start(&cfg, fd, fresh, why, sizeof(why));
			if (err) {
				not_started(fd, fresh, !cfg.null_sink && pid == cfg.root_pid &&
							       getenv(HT_ENV_FD) != NULL, why);
			} else {
				warn_own_malloc();
				got_scan();
				at_quick_exit(on_quick_exit);
				pymodule_register();
			}
		}
	}
	t->in_hook = nested;
}

__attribute__((destructor)) static void heaptrail_fini(void)
{
	if (session_recording_here())
		lifecycle_finish();
}
