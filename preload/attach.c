/* attach: see attach.h.
 *
 * Order at the start: the session is on before the first slot is patched,
 * so every call that reaches a hook through a patched slot is recorded.
 * At the stop: every slot is put back first, then, after GRACE_NS for the
 * calls that had loaded a patched slot just before, the trace ends.  A
 * call still inside a hook at that point finishes there, forwarding
 * unrecorded: the library is never unloaded, so its code stays valid. */
#include "attach.h"

#include "common/env.h"
#include "config.h"
#include "lifecycle.h"
#include "msgfd.h"
#include "pyframes.h"
#include "session.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The configuration string, copied: NAME=VALUE entries, NUL-separated. */
#define CONF_MAX 8192
static char conf[CONF_MAX];
static size_t conf_len;
static int attached; /* heaptrail_attach_start succeeded, no stop yet */
static int used; /* an attach ran in this process (its tables stay) */

/* Calls that loaded a patched slot just before it was put back. */
#define GRACE_NS 50000000L

static char *conf_get(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < conf_len;) {
		char *e = conf + i;
		size_t len = strlen(e);
		if (!strncmp(e, name, n) && e[n] == '=')
			return e + n + 1;
		i += len + 1;
	}
	return NULL;
}

static int parse(const char *config)
{
	size_t len = strlen(config);
	if (len >= CONF_MAX)
		return -E2BIG;
	memcpy(conf, config, len + 1);
	for (size_t i = 0; i < len; i++)
		if (conf[i] == '\n')
			conf[i] = 0;
	conf_len = len;
	return 0;
}

static void say(const char *a, const char *b)
{
	char msg[400];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, a);
	if (b)
		util_line_str(&l, b);
	util_say(1, msg);
}

/* The process start in unix ns (0 = unknown): /proc/self/stat's starttime
 * (clock ticks after boot, field 22) plus /proc/stat's btime. */
static uint64_t process_start_ns(void)
{
	char buf[1024];
	long n = util_read_file("/proc/self/stat", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* p + 2 is field 3 (state); starttime is field 22. */
	p += 2;
	for (int f = 3; f < 22 && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return 0;
	char *sp = strchr(p, ' ');
	if (sp)
		*sp = 0;
	uint64_t ticks, btime = 0;
	if (util_parse_u64(p, &ticks))
		return 0;
	static char st[16384];
	n = util_read_file("/proc/stat", st, sizeof(st) - 1);
	if (n <= 0)
		return 0;
	st[n] = 0;
	char *b = strstr(st, "\nbtime ");
	if (!b)
		return 0;
	b += 7;
	char *nl = strchr(b, '\n');
	if (nl)
		*nl = 0;
	if (util_parse_u64(b, &btime))
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		return 0;
	return btime * 1000000000ull + ticks * (1000000000ull / (uint64_t)hz);
}

/* The trace the attacher made for us: an empty regular file. */
static int open_trace(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		char msg[4200];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, "the process cannot open the trace ");
		util_line_str(&l, path);
		util_line_str(&l, ": ");
		util_line_str(&l, strerrordesc_np(err) ? strerrordesc_np(err) : "error");
		util_line_str(&l, " (it must be writable by the process's user, in its mount namespace)");
		util_say(1, msg);
		return -err;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 0) {
		close(fd);
		say("the trace is not an empty regular file: ", path);
		return -EEXIST;
	}
	int high = fcntl(fd, F_DUPFD_CLOEXEC, CONFIG_HIGH_FD);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	return fd;
}

static int start(const char *config)
{
	if (!config || parse(config))
		return -EINVAL;
	const char *msg = conf_get(HT_ENV_ATTACH_MSG);
	int mfd = msg && *msg ? open(msg, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC) : -1;
	/* Refusals that leave a running recorder's own message channel (the
	 * wrapper's, or a first attach's) alone: written straight to ours. */
	const char *busy = NULL;
	if (!hooks_loaded_late() || session_active())
		busy = "this process records already: heaptrail was loaded at its start "
		       "(heaptrail record or LD_PRELOAD)";
	else if (attached)
		busy = "heaptrail is attached to this process already";
	else if (used)
		busy = "heaptrail was attached to this process before and detached; a second "
		       "attach in one process is not supported (restart it to attach again)";
	if (busy) {
		if (mfd >= 0) {
			char line[300];
			util_line_t l = { line, sizeof(line) - 1, 0 };
			util_line_str(&l, "heaptrail: ");
			util_line_str(&l, busy);
			line[l.len++] = '\n';
			if (write(mfd, line, l.len) < 0)
				l.len = 0;
			close(mfd);
		}
		return -EALREADY;
	}
	msgfd_use(mfd);
	if (hooks_program_malloc()) {
		say("the program defines malloc itself: its allocations cannot be recorded", NULL);
		return -ENOTSUP;
	}
	const char *path = conf_get(HT_ENV_ATTACH_TRACE);
	if (!path || !*path) {
		say("no trace file in the attach configuration", NULL);
		return -EINVAL;
	}
	config_use_source(conf_get);
	config_t cfg;
	config_load(&cfg);
	config_use_source(NULL);
	/* No crash handler (its signals would be the program's to see), one
	 * image, one process: an exec'd image would not have the library. */
	cfg.crash_flush = 0;
	cfg.follow_fork = 0;
	cfg.follow_exec = 0;
	int fd = open_trace(path);
	if (fd < 0)
		return fd;
	uint64_t by = 0;
	const char *v = conf_get(HT_ENV_ATTACH_BY);
	if (v)
		util_parse_u64(v, &by);
	ht_session.attached = 1;
	ht_session.attach_proc_start_ns = process_start_ns();
	ht_session.attach_by = by;
	used = 1;
	char why[256];
	int err = lifecycle_start(&cfg, fd, 1, why, sizeof(why));
	if (err) {
		say("cannot start recording: ", why);
		close(fd);
		return err;
	}
	if (hooks_redirect() == 0) {
		hooks_restore();
		lifecycle_detach();
		say("no allocator call of the process could be redirected (no GOT slot "
		    "of malloc or free found)", NULL);
		return -ENOENT;
	}
	pyframes_attached();
	attached = 1;
	/* A CPython process: its frames come from the main thread's next
	 * bytecode boundary (we run in a thread gdb stopped anywhere, maybe
	 * without the GIL or inside the interpreter). */
	int py = pyframes_attach_schedule();
	if (py < 0)
		say("Python frames not captured after the attach: CPython refused the pending "
		    "call that installs them; showing native frames only", NULL);
	if (py != 0) {
		const char *a = pyframes_allocator_name();
		if (!a || strncmp(a, "malloc", 6))
			say("Python's small objects (512 bytes or less) are pooled by pymalloc, "
			    "whose arenas come from mmap, not malloc: they are not in the trace. "
			    "Start the program with PYTHONMALLOC=malloc to see every object", NULL);
	}
	return py > 0 ? 1 : 0;
}

int heaptrail_attach_start(const char *config)
{
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = HOOK_QUIET;
	int err = start(config);
	if (err < 0 && err != -EALREADY)
		msgfd_use(-1); /* nothing of ours stays open */
	t->in_hook = nested;
	return err;
}

int heaptrail_attach_stop(void)
{
	if (!attached)
		return -ENOENT;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = HOOK_QUIET;
	hooks_restore();
	struct timespec ts = { 0, GRACE_NS };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	pyframes_detached();
	lifecycle_detach();
	attached = 0;
	msgfd_use(-1);
	t->in_hook = nested;
	return 0;
}

int heaptrail_attach_active(void)
{
	return attached;
}
