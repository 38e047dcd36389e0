/* fdguard: see fdguard.h.
 *
 * Why: daemons and shells close every descriptor above stderr; before the
 * guard, everything not yet written was lost (300 of 300 allocations in
 * one run) and the trace said `lost events: 0`. */
#include "fdguard.h"

#include "config.h"
#include "msgfd.h"
#include "session.h"
#include "util.h"
#include "writer.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int fdguard_trace_fd(void)
{
	int fd = __atomic_load_n(&ht_session.fd, __ATOMIC_ACQUIRE);
	/* A vfork child shares our memory but not our descriptor table's
	 * future: leave it alone, the fd is close-on-exec anyway. */
	if (fd < 0 || getpid() != ht_session.pid)
		return -1;
	return fd;
}

static int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static int raw_close_range(unsigned lo, unsigned hi, unsigned flags)
{
	return (int)syscall(SYS_close_range, lo, hi, flags);
}

/* The message descriptor (msgfd.h): guarded in every process that loads
 * us, recording or not, since it may be the wrapper's. */
static int is_msgfd(int fd)
{
	return fd >= 0 && fd == __atomic_load_n(&msgfd_fd, __ATOMIC_RELAXED);
}

HT_EXPORT int close(int fd)
{
	/* The cheap compare first: fdguard_trace_fd costs a getpid(), and
	 * programs that close every descriptor call this thousands of times. */
	if (HT_UNLIKELY((fd >= 0 && fd == __atomic_load_n(&ht_session.fd, __ATOMIC_RELAXED) &&
			 fd == fdguard_trace_fd()) || is_msgfd(fd))) {
		errno = EBADF; /* as if the number were free */
		return -1;
	}
	return raw_close(fd);
}

/* close_range over [lo, hi] except the descriptors in keep[0..n) (sorted,
 * distinct). */
static int close_range_except(unsigned lo, unsigned hi, unsigned flags, const int *keep, int n)
{
	for (int i = 0; i < n && lo <= hi; i++) {
		unsigned k = (unsigned)keep[i];
		if (k < lo || k > hi)
			continue;
		if (k > lo) {
			int r = raw_close_range(lo, k - 1, flags);
			if (r)
				return r;
			/* Unsharing once is enough. */
			flags &= ~CLOSE_RANGE_UNSHARE;
		}
		if (k == hi)
			return 0;
		lo = k + 1;
	}
	return raw_close_range(lo, hi, flags);
}

HT_EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	int keep[2], n = 0;
	int ours = fdguard_trace_fd();
	int msg = __atomic_load_n(&msgfd_fd, __ATOMIC_RELAXED);
	/* CLOSE_RANGE_CLOEXEC alone may include ours (close-on-exec already
	 * or, for the wrapper's message file, meant for the next image: the
	 * program asked for it). */
	if (lo > hi || (flags & CLOSE_RANGE_CLOEXEC))
		return raw_close_range(lo, hi, (unsigned)flags);
	if (ours >= 0)
		keep[n++] = ours;
	if (msg >= 0 && msg != ours)
		keep[n++] = msg;
	if (n == 2 && keep[0] > keep[1]) {
		int t = keep[0];
		keep[0] = keep[1];
		keep[1] = t;
	}
	return close_range_except(lo, hi, (unsigned)flags, keep, n);
}

HT_EXPORT void closefrom(int lo)
{
	if (lo < 0)
		lo = 0;
	if (close_range((unsigned)lo, UINT_MAX, 0) == 0)
		return;
	/* No close_range (old kernel): one by one, up to the limit. */
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = lo; fd < max; fd++)
		close((int)fd);
}

/* The program wants our number: move the trace to another one first,
 * under the writer lock so no write goes to the old number meanwhile. */
static int make_room(int newfd)
{
	writer_lock();
	int ours = fdguard_trace_fd();
	int r = 0;
	if (ours == newfd) {
		int moved = util_fcntl(ours, F_DUPFD_CLOEXEC, CONFIG_HIGH_FD);
		if (moved < 0 || moved == newfd) {
			r = -1;
		} else {
			__atomic_store_n(&ht_session.fd, moved, __ATOMIC_RELEASE);
			raw_close(ours);
		}
	}
	writer_unlock();
	return r;
}

static int dup_onto(int oldfd, int newfd, int flags, int via_dup3)
{
	int ours = fdguard_trace_fd();
	if ((ours >= 0 && oldfd == ours) || is_msgfd(oldfd)) {
		errno = EBADF;
		return -1;
	}
	if (is_msgfd(newfd) && oldfd != newfd) {
		int saved = errno;
		msgfd_make_room(newfd);
		errno = saved;
	}
	if (ours >= 0 && newfd == ours && oldfd != newfd) {
		int saved = errno;
		if (make_room(newfd) < 0) {
			/* Cannot move it: the program's file wins, the trace ends
			 * (the writer notices the file changed). */
			writer_warn("cannot move the trace descriptor out of the program's way");
		}
		errno = saved;
	}
	if (via_dup3)
		return (int)syscall(SYS_dup3, oldfd, newfd, flags);
	return (int)syscall(SYS_dup2, oldfd, newfd);
}

HT_EXPORT int dup2(int oldfd, int newfd)
{
	/* dup2(fd, fd) checks fd and returns it: EBADF for ours, as if free. */
	if (oldfd == newfd) {
		if ((oldfd >= 0 && oldfd == fdguard_trace_fd()) || is_msgfd(oldfd)) {
			errno = EBADF;
			return -1;
		}
		return (int)syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : oldfd;
	}
	return dup_onto(oldfd, newfd, 0, 0);
}

HT_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, 1);
}

/* ---- fcntl ------------------------------------------------------------------ */

typedef int fcntl_fn(int, int, ...);

/* libc's fcntl or fcntl64 (F_GETOWN, F_SETLKW's cancellation and the like
 * stay libc's); the raw syscall if dlsym cannot say. */
static int call_fcntl(fcntl_fn **real, const char *name, int fd, int cmd, unsigned long arg)
{
	fcntl_fn *f = __atomic_load_n(real, __ATOMIC_ACQUIRE);
	if (HT_UNLIKELY(!f)) {
		f = (fcntl_fn *)dlsym(RTLD_NEXT, name);
		if (!f)
			return util_fcntl(fd, cmd, (long)arg);
		__atomic_store_n(real, f, __ATOMIC_RELEASE);
	}
	return f(fd, cmd, arg);
}

/* Every command on the trace descriptor fails with EBADF, as on a free
 * number (F_SETFD games would otherwise leak it into children or, with
 * F_SETFL, make its writes non-blocking).  F_DUPFD and F_DUPFD_CLOEXEC
 * give the lowest free number >= arg: when that would have been ours, the
 * trace moves out of the way and the program gets it. */
static int guard_fcntl(fcntl_fn **real, const char *name, int fd, int cmd, unsigned long arg)
{
	int cur = __atomic_load_n(&ht_session.fd, __ATOMIC_RELAXED);
	int dupfd = cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
	if (HT_LIKELY(cur < 0 || (fd != cur && !(dupfd && (int)arg >= 0 && (int)arg <= cur))))
		return call_fcntl(real, name, fd, cmd, arg);
	int ours = fdguard_trace_fd();
	if (ours < 0)
		return call_fcntl(real, name, fd, cmd, arg);
	if (fd == ours) {
		errno = EBADF;
		return -1;
	}
	int r = call_fcntl(real, name, fd, cmd, arg);
	if (dupfd && r > ours && (int)arg <= ours) {
		/* Every number from arg to r but ours is taken: with ours
		 * free, the answer was ours. */
		int saved = errno;
		if (make_room(ours) == 0) {
			int again = call_fcntl(real, name, fd, cmd, (unsigned long)ours);
			if (again >= 0) {
				raw_close(r);
				r = again;
			}
		}
		errno = saved;
	}
	return r;
}

static fcntl_fn *real_fcntl, *real_fcntl64;

/* The third argument is an int or a pointer: read as a register word
 * (reading one not passed is harmless on x86-64). */
HT_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	return guard_fcntl(&real_fcntl, "fcntl", fd, cmd, arg);
}

HT_EXPORT int fcntl64(int fd, int cmd, ...);
HT_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	return guard_fcntl(&real_fcntl64, "fcntl64", fd, cmd, arg);
}
