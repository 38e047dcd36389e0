/* msgfd: see msgfd.h.
 *
 * Why: the recorder used to write on the program's fd 2, which is often
 * the program's data: a daemon's log file after it reopened 0-2, the pipe
 * of `ls /nonexist 2>&1 | wc -l`, the captured stderr of a child a test
 * compares with b"" (issue 20.1). */
#include "msgfd.h"

#include "common/env.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int msgfd_fd = -1;
static int keep_open; /* the descriptor is inherited across exec */
static int budget = -1; /* lines left, -1 = no limit of ours */
static int wrapper; /* msgfd_fd is the wrapper's message file */
/* Identity of the chosen file: a program that closed our number with a raw
 * syscall may have reused it for its own file, which must not get our
 * lines. */
static dev_t want_dev;
static ino_t want_ino;

static void remember(void)
{
	struct stat st;
	if (msgfd_fd >= 0 && fstat(msgfd_fd, &st) == 0) {
		want_dev = st.st_dev;
		want_ino = st.st_ino;
	} else {
		msgfd_fd = -1;
	}
}

static int matches(int fd, const char *id)
{
	struct stat st;
	char want[64];
	util_line_t l = { want, sizeof(want), 0 };
	want[0] = 0;
	if (fstat(fd, &st) < 0)
		return 0;
	util_line_u64(&l, (uint64_t)st.st_dev);
	util_line_str(&l, ":");
	util_line_u64(&l, (uint64_t)st.st_ino);
	return strcmp(want, id) == 0;
}

/* A private copy of fd, high and close-on-exec: the program's later
 * dup2 onto its number, or close of it, no longer reaches ours. */
static int private_dup(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, CONFIG_HIGH_FD);
}

void msgfd_setup(int keep_on_exec)
{
	const char *v = getenv(HT_ENV_MSG_FD);
	const char *id = getenv(HT_ENV_MSG_FD_ID);
	uint64_t n;
	msgfd_fd = -1;
	budget = -1;
	keep_open = 0;
	wrapper = 0;
	if (v && *v && !util_parse_u64(v, &n) && n < INT32_MAX) {
		if (id && *id) {
			/* The wrapper's file: ours only if it is still the same
			 * file (a child that was not followed gets the variable
			 * but not the descriptor, whose number may be reused). */
			if (matches((int)n, id)) {
				msgfd_fd = (int)n;
				wrapper = 1;
				keep_open = keep_on_exec;
				if (!keep_on_exec)
					fcntl(msgfd_fd, F_SETFD, FD_CLOEXEC);
				remember();
				return;
			}
		} else {
			msgfd_fd = private_dup((int)n);
			remember();
			return;
		}
	}
	/* The bare LD_PRELOAD way: a terminal only (never a pipe or file,
	 * which may be the program's output), and one line at most. */
	if (isatty(2)) {
		msgfd_fd = private_dup(2);
		budget = 1;
		remember();
	}
}

void msgfd_use(int fd)
{
	int old = __atomic_exchange_n(&msgfd_fd, -1, __ATOMIC_ACQ_REL);
	if (old >= 0)
		close(old);
	budget = -1;
	keep_open = 0;
	if (fd < 0)
		return;
	msgfd_fd = private_dup(fd);
	close(fd);
	remember();
}

void msgfd_write(const char *buf, size_t len)
{
	int fd = __atomic_load_n(&msgfd_fd, __ATOMIC_ACQUIRE);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_dev != want_dev || st.st_ino != want_ino)
		return;
	if (budget >= 0 && __atomic_fetch_sub(&budget, 1, __ATOMIC_RELAXED) <= 0)
		return;
	/* The descriptor may be a pipe nobody reads: a SIGPIPE from our
	 * write must not kill the program.  Block it, write, and swallow the
	 * one the write raised (unless one was already pending). */
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	int had_pending = sigismember(&pending, SIGPIPE);
	ssize_t r = write(fd, buf, len);
	if (r < 0 && errno == EPIPE && !had_pending) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void msgfd_hand_over(int on)
{
	int fd = __atomic_load_n(&msgfd_fd, __ATOMIC_ACQUIRE);
	if (fd < 0 || !wrapper || keep_open)
		return;
	util_fcntl(fd, F_SETFD, on ? 0 : FD_CLOEXEC);
}

void msgfd_announce_trace(int pid, const char *path)
{
	if (!wrapper)
		return;
	char line[4096 + 1024];
	util_line_t l = { line, sizeof(line), 0 };
	line[0] = 0;
	util_line_str(&l, HT_MSG_TRACE_PREFIX);
	util_line_u64(&l, (uint64_t)pid);
	util_line_str(&l, " ");
	if (path[0] != '/') {
		/* Straight into the line, by the raw syscall (glibc's getcwd
		 * may allocate). */
		long n = syscall(SYS_getcwd, line + l.len, sizeof(line) - l.len - 1);
		if (n <= 1 || line[l.len] != '/')
			return; /* unreachable directory: no name to give */
		l.len += strlen(line + l.len);
		util_line_str(&l, "/");
	}
	util_line_str(&l, path);
	util_line_str(&l, "\n");
	if (l.len + 1 >= sizeof(line))
		return; /* cut: a wrong name is worse than none */
	msgfd_write(line, l.len);
}

int msgfd_make_room(int fd)
{
	int ours = __atomic_load_n(&msgfd_fd, __ATOMIC_ACQUIRE);
	if (ours < 0 || ours != fd)
		return 0;
	int moved = fcntl(ours, keep_open ? F_DUPFD : F_DUPFD_CLOEXEC, CONFIG_HIGH_FD);
	__atomic_store_n(&msgfd_fd, moved == fd ? -1 : moved, __ATOMIC_RELEASE);
	syscall(SYS_close, ours);
	return moved < 0 || moved == fd ? -1 : 0;
}
