/* config: see config.h. */
#include "config.h"

#include "common/env.h"
#include "common/names.h"
#include "heaptrail_format.h"
#include "msgfd.h"
#include "stacks.h"
#include "unwind.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the settings come from: the environment, or an attach's
 * configuration (config_use_source). */
static char *(*source)(const char *) = getenv;

void config_use_source(char *(*get)(const char *))
{
	source = get ? get : getenv;
}

static int env_flag(const char *name)
{
	const char *v = source(name);
	return v && *v && strcmp(v, "0") != 0;
}

/* Seconds, decimal allowed ("0.5"), into nanoseconds; 0 on error. */
static uint64_t parse_seconds(const char *s)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000u;
	const char *p = s;
	if (!*p)
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > 1000000000u)
			return 0;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
	}
	if (*p)
		return 0;
	return whole * 1000000000u + frac;
}

void config_load(config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->depth = CONFIG_DEFAULT_DEPTH;
	c->quiet = env_flag(HT_ENV_QUIET);
	util_quiet = c->quiet;
	/* First: every message below goes through it.  An attach sets up
	 * its own message file (attach.c): the program's environment and
	 * fd 2 are not ours. */
	if (source == getenv)
		msgfd_setup(env_flag(HT_ENV_FOLLOW_EXEC));
	const char *v = source(HT_ENV_DEPTH);
	uint64_t n;
	if (v && *v) {
		if (util_parse_u64(v, &n) || n < 1)
			util_say(1, "HEAPTRAIL_DEPTH is not a positive integer; using 64");
		else
			c->depth = n > STACKS_MAX_FRAMES ? STACKS_MAX_FRAMES : (unsigned)n;
	}
	v = source(HT_ENV_SNAPSHOT_EVERY);
	if (v && *v) {
		c->snap_every_ns = parse_seconds(v);
		if (!c->snap_every_ns)
			util_say(1, "HEAPTRAIL_SNAPSHOT_EVERY is not a positive number of seconds; ignored");
		else if (c->snap_every_ns < 1000000u)
			c->snap_every_ns = 1000000u;
	}
	v = source(HT_ENV_SNAPSHOT_SIGNAL);
	if (v && *v) {
		int sig = names_snapshot_signal(v);
		c->snap_signal = sig > 0 ? sig : 0;
		if (!c->snap_signal)
			util_say(1, "HEAPTRAIL_SNAPSHOT_SIGNAL is not a signal name or number; ignored");
	}
	v = source(HT_ENV_CRASH_FLUSH);
	c->crash_flush = !(v && !strcmp(v, "0"));
	c->follow_fork = env_flag(HT_ENV_FOLLOW_FORK);
	c->aggregate = env_flag(HT_ENV_AGGREGATE);
	c->follow_exec = env_flag(HT_ENV_FOLLOW_EXEC);
	c->compress = env_flag(HT_ENV_COMPRESS);
	v = source(HT_ENV_PYTHONMALLOC);
	if (v && !strcmp(v, "malloc"))
		c->proc_flags |= HT_PROC_PYTHONMALLOC;
	v = source(HT_ENV_UNWIND);
	c->unwind_mode = UNWIND_FAST;
	if (v && !strcmp(v, "libunwind")) {
		c->unwind_mode = UNWIND_LIBUNWIND;
	} else if (v && !strcmp(v, "verify")) {
		c->unwind_mode = UNWIND_VERIFY;
	} else if (v && *v && strcmp(v, "fast")) {
		char msg[160];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, HT_ENV_UNWIND "=");
		util_line_str(&l, v);
		util_line_str(&l, " is not fast, libunwind or verify; using fast");
		util_say(1, msg);
	}
	v = source(HT_ENV_OUTPUT);
	c->null_sink = v && !strcmp(v, "/dev/null");
	v = source(HT_ENV_ROOT_PID);
	if (v && !util_parse_u64(v, &n) && n > 0 && n < INT32_MAX) {
		c->root_pid = (int)n;
	} else if (source != getenv) {
		c->root_pid = getpid(); /* an attach: the environment is the program's */
	} else {
		/* Manual LD_PRELOAD: this process is the root.  setenv allocates;
		 * the caller holds the re-entrancy guard. */
		char buf[24];
		c->root_pid = getpid();
		util_fmt_u64(buf, (uint64_t)c->root_pid);
		setenv(HT_ENV_ROOT_PID, buf, 1);
	}
}

void config_python(config_python_t *out)
{
	const char *v = source(HT_ENV_PYTHON_FRAMES);
	out->profile = v && !strcmp(v, "profile");
	uint64_t n;
	v = source(HT_ENV_PYTHON_ROW);
	out->row = v && !util_parse_u64(v, &n) && n < 100 ? (int)n : 0;
}

int config_should_record(const config_t *c, int pid)
{
	return pid == c->root_pid || c->follow_exec;
}

/* dev:ino as "<dev>:<ino>" into buf. */
static void fmt_id(char *buf, size_t cap, uint64_t dev, uint64_t ino)
{
	util_line_t l = { buf, cap, 0 };
	buf[0] = 0;
	util_line_u64(&l, dev);
	util_line_str(&l, ":");
	util_line_u64(&l, ino);
}

static int env_fd(void)
{
	const char *fdv = source(HT_ENV_FD);
	const char *idv = source(HT_ENV_FD_ID);
	uint64_t fd;
	struct stat st;
	char want[64];
	if (util_parse_u64(fdv, &fd) || fd > INT32_MAX || !idv) {
		util_say(1, "HEAPTRAIL_FD/HEAPTRAIL_FD_ID are malformed; not recording");
		return -EINVAL;
	}
	if (fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		util_say(1, "HEAPTRAIL_FD is not an open regular file; not recording");
		return -EBADF;
	}
	fmt_id(want, sizeof(want), (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (strcmp(want, idv)) {
		util_say(1, "HEAPTRAIL_FD does not match HEAPTRAIL_FD_ID; not recording");
		return -EBADF;
	}
	/* Children started with fork+exec must not inherit it; the recorder
	 * clears this again right before its own exec. */
	util_fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

/* The trace path of process pid: the HEAPTRAIL_OUTPUT pattern, or the
 * default name after argv[0] (what `heaptrail record` names it too).  A
 * pattern without %p names the root's file: other processes append
 * ".<pid>".  A path too long for out comes out cut (open then fails or
 * makes that file: never another process's). */
static void build_path(const config_t *c, int pid, char *out, size_t cap)
{
	const char *pat = source(HT_ENV_OUTPUT);
	if (!pat || !*pat) {
		names_default_trace(program_invocation_name, pid, out, cap);
		return;
	}
	int pids = names_expand(pat, pid, out, cap);
	if (pids == 0 && pid != c->root_pid) {
		util_line_t l = { out, cap, strlen(out) };
		util_line_str(&l, ".");
		util_line_u64(&l, (uint64_t)pid);
	}
}

int config_open_output(const config_t *c, int pid, int use_env_fd, int *fresh)
{
	*fresh = 1;
	if (use_env_fd && pid == c->root_pid && source(HT_ENV_FD)) {
		int fd = env_fd();
		if (fd >= 0) {
			struct stat st;
			*fresh = fstat(fd, &st) == 0 && st.st_size == 0;
		}
		return fd;
	}
	char path[4096];
	build_path(c, pid, path, sizeof(path));
	int fd = open(path, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = errno;
		char msg[4300];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, "cannot create trace ");
		util_line_str(&l, path);
		if (err == EEXIST) {
			util_line_str(&l, ": file exists (refusing to overwrite; not recording)");
		} else {
			/* strerrordesc_np: a constant string, no locale, no
			 * allocation (strerror may allocate). */
			const char *why = strerrordesc_np(err);
			util_line_str(&l, ": ");
			util_line_str(&l, why ? why : "cannot open");
			util_line_str(&l, " (not recording)");
		}
		util_say(1, msg);
		return -err;
	}
	/* Keep out of the program's way: programs may expect the lowest
	 * free descriptors for themselves. */
	int high = util_fcntl(fd, F_DUPFD_CLOEXEC, CONFIG_HIGH_FD);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	/* The wrapper cannot guess this name (a child's own argv[0], its
	 * working directory): say it. */
	msgfd_announce_trace(pid, path);
	return fd;
}

int config_fd_env(int fd, char *fd_var, size_t fd_cap, char *id_var, size_t id_cap)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	util_line_t l = { fd_var, fd_cap, 0 };
	fd_var[0] = 0;
	util_line_str(&l, HT_ENV_FD "=");
	util_line_u64(&l, (uint64_t)fd);
	char id[64];
	fmt_id(id, sizeof(id), (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	util_line_t m = { id_var, id_cap, 0 };
	id_var[0] = 0;
	util_line_str(&m, HT_ENV_FD_ID "=");
	util_line_str(&m, id);
	return 0;
}
