/* hooks: the interposed libc functions and the library constructor /
 * destructor.  Entry point of libheaptrail.so (kept out of the unit-test
 * archive).  Every hook is thread-safe, never allocates, preserves errno,
 * and forwards unchanged when not recording or when re-entered. */
#include "common/env.h"
#include "config.h"
#include "heapcount.h"
#include "heaptrail_format.h"
#include "lifecycle.h"
#include "recorder.h"
#include "session.h"
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

static void resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
#define X_RESOLVE(name, ret, args) real_##name = (ret(*) args)dlsym(RTLD_NEXT, #name);
	HT_HOOKS(X_RESOLVE)
#undef X_RESOLVE
	ht_heapcount.glibc = same_object(real_malloc, real_malloc_usable_size, "libc.so") &&
			     same_object(real_free, real_malloc_usable_size, "libc.so");
	ht_heapcount.usable = real_malloc_usable_size;
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

/* ---- allocation hooks ------------------------------------------------- */

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

HT_EXPORT HT_ALLOC_HOOK void *malloc(size_t n)
{
	ENSURE(malloc, boot_alloc(n));
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook) {
		note_unrecorded(t);
		return real_malloc(n);
	}
	t->in_hook = 1;
	void *p = real_malloc(n);
	if (p) {
		HT_ENTRY(t);
		recorder_alloc(HT_KIND_MALLOC, p, n, 0);
	}
	t->in_hook = 0;
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
		note_unrecorded(t);
		return real_calloc(nm, sz);
	}
	t->in_hook = 1;
	void *p = real_calloc(nm, sz);
	if (p) {
		HT_ENTRY(t);
		recorder_alloc(HT_KIND_CALLOC, p, (uint64_t)nm * sz, 0);
	}
	t->in_hook = 0;
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
		real_free(p);
		return;
	}
	t->in_hook = 1;
	/* The real free starts by reading the block's malloc header, often a
	 * cache miss; recording first ends with a locked instruction that
	 * would keep that load from starting early, so ask for it now. */
	__builtin_prefetch((const char *)p - 2 * sizeof(size_t));
	recorder_free(p); /* before the block can be handed out again */
	real_free(p);
	t->in_hook = 0;
}

HT_EXPORT void cfree(void *p);
HT_EXPORT void cfree(void *p)
{
	free(p);
}

/* Shared by realloc and reallocarray (total = new size in bytes). */
static void *do_realloc(void *p, size_t total, unsigned null_kind, void *(*call)(void *, size_t, size_t),
			size_t a, size_t b, const uintptr_t *entry)
{
	rec_tls_t *t = &ht_tls;
	if (!session_on() || t->in_hook)
		return call(p, a, b);
	t->in_hook = 1;
	void *q;
	if (!p) {
		q = call(NULL, a, b);
		if (q) {
			t->entry = entry;
			recorder_alloc(null_kind, q, total, 0);
		}
	} else if (total == 0) {
		/* glibc frees p and returns NULL. */
		recorder_free(p);
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
	t->in_hook = 0;
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
	if (!session_on() || t->in_hook)
		return real_posix_memalign(out, al, n);
	t->in_hook = 1;
	int r = real_posix_memalign(out, al, n);
	if (r == 0) {
		HT_ENTRY(t);
		recorder_alloc(HT_KIND_POSIX_MEMALIGN, *out, n, al);
	}
	t->in_hook = 0;
	return r;
}

#define ALIGNED_HOOK(name, kind, params, args, align)           \
	HT_EXPORT HT_ALLOC_HOOK void *name params                \
	{                                                        \
		ENSURE(name, NULL);                              \
		rec_tls_t *t = &ht_tls;                          \
		if (!session_on() || t->in_hook)                \
			return real_##name args;                 \
		t->in_hook = 1;                                  \
		void *p = real_##name args;                      \
		if (p) {                                         \
			HT_ENTRY(t);                             \
			recorder_alloc(kind, p, n, align);       \
		}                                                \
		t->in_hook = 0;                                  \
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
	t->in_hook = 1;
	char fdpath[40];
	if (via == VIA_FEXECVE) {
		util_line_t p = { fdpath, sizeof(fdpath), 0 };
		fdpath[0] = 0;
		util_line_str(&p, "/proc/self/fd/");
		util_line_u64(&p, (uint64_t)fd);
		path = fdpath;
	}
	int paused = lifecycle_before_exec(path, !preloads) == 0;
	if (tfd >= 0)
		fcntl(tfd, F_SETFD, 0);
	int r = call_exec(via, fd, path, argv, use_env);
	int err = errno;
	if (tfd >= 0)
		fcntl(tfd, F_SETFD, FD_CLOEXEC);
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

/* ---- constructor / destructor ------------------------------------------ */

static void warn_own_malloc(void)
{
	Dl_info mine, theirs;
	const ElfW(Sym) *sym = NULL;
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	if (!m || !dladdr((void *)&warn_own_malloc, &mine) ||
	    !dladdr1(m, &theirs, (void **)&sym, RTLD_DL_SYMENT))
		return;
	if (theirs.dli_fbase == mine.dli_fbase)
		return;
	/* A non-PIE program that calls malloc gets a canonical PLT entry:
	 * dlsym finds the program's undefined `malloc` (st_shndx SHN_UNDEF),
	 * whose calls still reach us.  Only a definition hides malloc. */
	if (sym && sym->st_shndx == SHN_UNDEF)
		return;
	/* Some object earlier in the lookup order than us defines malloc. */
	char msg[300];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, "malloc is defined by ");
	util_line_str(&l, theirs.dli_fname && *theirs.dli_fname ? theirs.dli_fname : "the program");
	util_line_str(&l, "; its allocations are not recorded");
	ht_session.own_malloc = 1;
	writer_warn(msg);
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
	t->in_hook = 1;
	if (!real_malloc)
		resolve();
	config_t cfg;
	config_load(&cfg);
	pthread_atfork(lifecycle_fork_prepare, lifecycle_fork_parent, lifecycle_fork_child);
	int pid = getpid();
	if (config_should_record(&cfg, pid)) {
		int fresh = 1;
		/* HEAPTRAIL_OUTPUT=/dev/null: record everything, write nothing
		 * (benchmarks of the recorder itself). */
		int fd = cfg.null_sink ? -1 : config_open_output(&cfg, pid, 1, &fresh);
		if (fd >= 0 || cfg.null_sink) {
			int err = lifecycle_start(&cfg, fd, fresh);
			if (err) {
				util_say(1, "cannot start recording");
			} else {
				warn_own_malloc();
				at_quick_exit(on_quick_exit);
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
