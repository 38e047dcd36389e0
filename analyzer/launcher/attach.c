/* `heaptrail attach` / `heaptrail detach`: see attach.h.
 *
 * What could go wrong, checked before gdb runs, each with its own
 * sentence: no such process (or a zombie), gdb missing, another user's
 * process, Yama's ptrace_scope, a static binary, a musl (or other non-glibc)
 * process.  gdb's own failures are passed on.  A target is never left
 * stopped: gdb detaches when its script ends (also on errors), a gdb that
 * hangs is killed after GDB_TIMEOUT_S, and a target found in a stop it was
 * not in before gets SIGCONT. */
#include "launcher/attach.h"
#include "launcher/record.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/env.h"
#include "common/names.h"
#include "heaptrail_format.h"

#define GDB_TIMEOUT_S 60
#define BUSY_TRIES 30 /* gdb found every thread inside malloc or the loader */

/* The gdb side.  HT_ACTION start: mmap a scratch page in the target (no
 * malloc: the program's heap is left alone), write the library path and
 * the configuration there, dlopen the library, call heaptrail_attach_start;
 * stop: dlopen with RTLD_NOLOAD and call heaptrail_attach_stop.  The call
 * runs in a thread stopped outside the allocator, the loader and our
 * library (a call from inside them could deadlock on their locks); the
 * other threads run meanwhile (scheduler-locking off); nor inside
 * CPython's pending calls (the start adds one, under their lock).  Prints one
 * HEAPTRAIL-* line for the launcher. */
static const char gdb_script[] =
	"import gdb, os\n"
	"LIB = os.environ['HT_LIB']\n"
	"CONF = os.environ.get('HT_CONF', '').encode() + b'\\0'\n"
	"ACTION = os.environ['HT_ACTION']\n"
	"# unwindonsignal: a signal that arrives during a call unwinds it instead\n"
	"# of leaving the process inside gdb's dummy frame.\n"
	"for c in ('set pagination off', 'set confirm off', 'set scheduler-locking off',\n"
	"          'set unwindonsignal on'):\n"
	"    try:\n"
	"        gdb.execute(c)\n"
	"    except gdb.error:\n"
	"        pass\n"
	"inf = gdb.selected_inferior()\n"
	"if inf.pid == 0:\n"
	"    print('HEAPTRAIL-NOPROC')\n"
	"    raise SystemExit\n"
	"BAD = ('malloc', 'free', 'calloc', 'realloc', 'cfree', '_int_', '__libc_malloc', '__libc_free',\n"
	"       '__libc_calloc', '__libc_realloc', '__libc_memalign', '__libc_valloc', '__libc_pvalloc',\n"
	"       '__libc_dl', '__GI___libc_malloc', '__GI___libc_free', '__GI___libc_realloc',\n"
	"       '_dl_', 'dl_', 'sysmalloc', 'tcache', 'arena', 'ptmalloc', '__malloc', '__free',\n"
	"       'posix_memalign', 'memalign', 'aligned_alloc', 'valloc', 'pvalloc', 'dlopen', 'dlsym')\n"
	"def unsafe(th):\n"
	"    th.switch()\n"
	"    try:\n"
	"        f = gdb.newest_frame()\n"
	"    except gdb.error:\n"
	"        return 'no frame'\n"
	"    n = 0\n"
	"    while f is not None and n < 200:\n"
	"        lib = gdb.solib_name(f.pc()) or ''\n"
	"        name = f.name() or ''\n"
	"        if 'libheaptrail' in lib or '/ld-linux' in lib or name.startswith(BAD) or 'malloc' in name \\\n"
	"                or 'PendingCall' in name or 'pending_call' in name:\n"
	"            return name or lib\n"
	"        try:\n"
	"            f = f.older()\n"
	"        except gdb.error:\n"
	"            break\n"
	"        n += 1\n"
	"    return None\n"
	"chosen = None\n"
	"why = []\n"
	"for th in sorted(inf.threads(), key=lambda t: t.num):\n"
	"    u = unsafe(th)\n"
	"    if u is None:\n"
	"        chosen = th\n"
	"        break\n"
	"    why.append(u)\n"
	"if chosen is None:\n"
	"    print('HEAPTRAIL-BUSY ' + ','.join(why))\n"
	"    gdb.execute('detach')\n"
	"    raise SystemExit\n"
	"chosen.switch()\n"
	"def call(expr):\n"
	"    return int(gdb.parse_and_eval(expr))\n"
	"if ACTION == 'stop':\n"
	"    # gdb knows the library's symbols since the attach loaded it: no\n"
	"    # dlopen or dlsym in the process, so nothing of ours allocates there.\n"
	"    try:\n"
	"        fn = int(gdb.parse_and_eval('(long)&heaptrail_attach_stop'))\n"
	"    except gdb.error:\n"
	"        fn = 0\n"
	"    try:\n"
	"        if fn:\n"
	"            print('HEAPTRAIL-RC %d' % call('((int (*)(void))%d)()' % fn))\n"
	"        else:\n"
	"            print('HEAPTRAIL-NOTLOADED')\n"
	"    except gdb.error as e:\n"
	"        print('HEAPTRAIL-GDB ' + str(e))\n"
	"    gdb.execute('detach')\n"
	"    raise SystemExit\n"
	"def cstr(addr):\n"
	"    return inf.read_memory(addr, 400).tobytes().split(b'\\0')[0].decode(errors='replace')\n"
	"try:\n"
	"    page = call('((void *(*)(void *, unsigned long, int, int, int, long))mmap)(0, 65536, 3, 0x22, -1, 0)')\n"
	"except gdb.error as e:\n"
	"    print('HEAPTRAIL-GDB ' + str(e))\n"
	"    gdb.execute('detach')\n"
	"    raise SystemExit\n"
	"if page in (0, -1, (1 << 64) - 1):\n"
	"    print('HEAPTRAIL-GDB mmap failed in the process')\n"
	"    gdb.execute('detach')\n"
	"    raise SystemExit\n"
	"try:\n"
	"    inf.write_memory(page, LIB.encode() + b'\\0')\n"
	"    inf.write_memory(page + 4096, CONF)\n"
	"    inf.write_memory(page + 16384, b'heaptrail_attach_start\\0heaptrail_attach_stop\\0')\n"
	"    flags = 2 if ACTION == 'start' else 2 | 4\n"
	"    h = call('((void *(*)(const char *, int))dlopen)((const char *)%d, %d)' % (page, flags))\n"
	"    if not h:\n"
	"        if ACTION == 'start':\n"
	"            e = call('((char *(*)(void))dlerror)()')\n"
	"            print('HEAPTRAIL-DLOPEN ' + (cstr(e) if e else 'unknown error'))\n"
	"        else:\n"
	"            print('HEAPTRAIL-NOTLOADED')\n"
	"    else:\n"
	"        sym = page + 16384 + (0 if ACTION == 'start' else 23)\n"
	"        fn = call('((void *(*)(void *, const char *))dlsym)((void *)%d, (const char *)%d)' % (h, sym))\n"
	"        if not fn:\n"
	"            print('HEAPTRAIL-NOSYM')\n"
	"        elif ACTION == 'start':\n"
	"            print('HEAPTRAIL-RC %d' % call('((int (*)(const char *))%d)((const char *)%d)' % (fn, page + 4096)))\n"
	"        else:\n"
	"            print('HEAPTRAIL-RC %d' % call('((int (*)(void))%d)()' % fn))\n"
	"except gdb.error as e:\n"
	"    print('HEAPTRAIL-GDB ' + str(e))\n"
	"finally:\n"
	"    try:\n"
	"        call('((int (*)(void *, unsigned long))munmap)((void *)%d, 65536)' % page)\n"
	"    finally:\n"
	"        gdb.execute('detach')\n";

typedef struct attach_opts {
	int pid;
	const char *output; /* -o */
	double duration; /* seconds, 0 = until stopped */
	const char *depth, *every, *signal; /* passed on as given */
	int quiet;
} attach_opts_t;

static void attach_usage(FILE *out)
{
	fputs("usage: heaptrail attach PID [-o FILE] [--duration SECONDS] [--depth N]\n"
	      "                        [--snapshot-every SECONDS] [--snapshot-signal SIG] [--quiet]\n"
	      "       heaptrail detach PID\n"
	      "  records the running process PID until Ctrl-C, the end of --duration,\n"
	      "  `heaptrail detach PID` or its exit; the process runs on afterwards\n",
	      out);
}

/* The process's state letter from /proc/PID/stat (R, S, D, T, t, Z...), or
 * 0 when there is no such process. */
static char proc_state(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Whether the file names a directory of PATH holding an executable gdb. */
static int find_gdb(char *buf, size_t len)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if ((size_t)snprintf(buf, len, "%.*s/gdb", (int)n, n ? path : ".") < len &&
		    access(buf, X_OK) == 0)
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}

static long read_long_file(const char *path, long dflt)
{
	FILE *f = fopen(path, "r");
	long v = dflt;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

/* Whether the process's maps show a file whose path contains what. */
static int maps_have(int pid, const char *what)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int found = 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/* The path of the mapped file whose path contains what, into buf; 0 or -1. */
static int maps_path(int pid, const char *what, char *buf, size_t len)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int rc = -1;
	while (rc && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		if (!p || !strstr(p, what))
			continue;
		p[strcspn(p, "\n")] = 0;
		if (strlen(p) < len) {
			strcpy(buf, p);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* Checks everything that can be told before gdb runs; 0, or 1 after a
 * line on stderr. */
static int preflight(const char *cmd, int pid, char *gdb, size_t gdblen)
{
	char st = proc_state(pid);
	if (!st || (kill(pid, 0) != 0 && errno == ESRCH)) {
		fprintf(stderr, "heaptrail %s: no process with pid %d (it may have exited)\n", cmd, pid);
		return 1;
	}
	if (st == 'Z' || st == 'X') {
		fprintf(stderr, "heaptrail %s: process %d has exited (a zombie waiting for its parent)\n",
			cmd, pid);
		return 1;
	}
	if (pid == getpid()) {
		fprintf(stderr, "heaptrail %s: %d is heaptrail itself\n", cmd, pid);
		return 1;
	}
	if (find_gdb(gdb, gdblen) != 0) {
		fprintf(stderr,
			"heaptrail %s: gdb not found in PATH; heaptrail loads its recorder into a "
			"running process with gdb: install it (Debian/Ubuntu: apt-get install gdb)\n",
			cmd);
		return 1;
	}
	char path[64];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	uid_t me = geteuid();
	if (stat(path, &sb) == 0 && me != 0 && sb.st_uid != me) {
		struct passwd *pw = getpwuid(sb.st_uid);
		fprintf(stderr,
			"heaptrail %s: process %d belongs to user %s (uid %u), not to you (uid %u): "
			"run heaptrail %s as that user or as root\n",
			cmd, pid, pw ? pw->pw_name : "?", (unsigned)sb.st_uid, (unsigned)me, cmd);
		return 1;
	}
	long scope = read_long_file("/proc/sys/kernel/yama/ptrace_scope", 0);
	if (scope == 3) {
		fprintf(stderr,
			"heaptrail %s: kernel.yama.ptrace_scope is 3: no process may attach to another "
			"until the next reboot, so heaptrail cannot attach\n", cmd);
		return 1;
	}
	if (scope == 2 && me != 0) {
		fprintf(stderr,
			"heaptrail %s: kernel.yama.ptrace_scope is 2: only root (CAP_SYS_PTRACE) may "
			"attach to a process: run heaptrail %s as root\n", cmd, cmd);
		return 1;
	}
	if (scope == 1 && me != 0) {
		fprintf(stderr,
			"heaptrail %s: kernel.yama.ptrace_scope is 1: only a process's parent may attach "
			"to it: run heaptrail %s as root, or allow it with "
			"`sudo sysctl kernel.yama.ptrace_scope=0`\n", cmd, cmd);
		return 1;
	}
	int has_glibc = maps_have(pid, "/libc.so.6");
	if (has_glibc < 0) {
		fprintf(stderr, "heaptrail %s: cannot read /proc/%d/maps: %s\n", cmd, pid, strerror(errno));
		return 1;
	}
	if (!has_glibc) {
		char exe[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		if (maps_have(pid, "ld-musl") > 0 || maps_have(pid, "libc.musl") > 0)
			fprintf(stderr,
				"heaptrail %s: process %d (%s) runs on musl libc; heaptrail's recorder "
				"needs glibc, it cannot be loaded there\n", cmd, pid, exe);
		else if (maps_have(pid, "/ld-linux") <= 0)
			fprintf(stderr,
				"heaptrail %s: process %d (%s) is statically linked: there is no dynamic "
				"loader to load the recorder with, and its malloc is inside the program; "
				"heaptrail can record only dynamically linked programs\n", cmd, pid, exe);
		else
			fprintf(stderr,
				"heaptrail %s: process %d (%s) does not use glibc's libc.so.6; heaptrail's "
				"recorder needs it\n", cmd, pid, exe);
		return 1;
	}
	return 0;
}

/* Runs gdb on pid with the script for action; out gets its HEAPTRAIL-*
 * line (without the prefix) or, when there is none, gdb's last error
 * line.  0 when the script printed its line, -1 otherwise. */
static int run_gdb(const char *gdb, int pid, const char *lib, const char *action,
		   const char *conf, char *out, size_t outlen)
{
	char script[] = "/tmp/heaptrail-gdb-XXXXXX.py"; /* .py: gdb sources it as Python */
	out[0] = 0;
	int sfd = mkstemps(script, 3);
	if (sfd < 0 || write(sfd, gdb_script, sizeof(gdb_script) - 1) != (ssize_t)sizeof(gdb_script) - 1) {
		snprintf(out, outlen, "cannot write the gdb script in /tmp: %s", strerror(errno));
		if (sfd >= 0) {
			close(sfd);
			unlink(script);
		}
		return -1;
	}
	close(sfd);
	char before = proc_state(pid);
	int pfd[2];
	if (pipe(pfd) != 0) {
		unlink(script);
		snprintf(out, outlen, "pipe: %s", strerror(errno));
		return -1;
	}
	char pidarg[24];
	snprintf(pidarg, sizeof(pidarg), "%d", pid);
	pid_t child = fork();
	if (child == 0) {
		/* Its own process group: a Ctrl-C meant for `heaptrail attach`
		 * must not interrupt gdb in the middle of a call. */
		setpgid(0, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		setenv("HT_LIB", lib, 1);
		setenv("HT_ACTION", action, 1);
		setenv("HT_CONF", conf ? conf : "", 1);
		execl(gdb, "gdb", "-nx", "-batch", "-p", pidarg, "-x", script, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	if (child < 0) {
		close(pfd[0]);
		unlink(script);
		snprintf(out, outlen, "fork: %s", strerror(errno));
		return -1;
	}
	/* Read everything, with a deadline. */
	static char text[1 << 16];
	size_t len = 0;
	time_t deadline = time(NULL) + GDB_TIMEOUT_S;
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	int status = 0, done = 0, killed = 0;
	for (;;) {
		ssize_t n = read(pfd[0], text + len, sizeof(text) - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			if (len >= sizeof(text) - 1)
				len = 0; /* keep the tail only */
			continue;
		}
		if (!done && waitpid(child, &status, WNOHANG) == child)
			done = 1;
		if (n == 0 || (done && n < 0 && errno == EAGAIN))
			break;
		if (time(NULL) > deadline && !killed) {
			kill(child, SIGKILL);
			killed = 1;
		}
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	close(pfd[0]);
	if (!done)
		waitpid(child, &status, 0);
	unlink(script);
	text[len] = 0;
	/* Never leave the target stopped (a killed gdb may leave its SIGSTOP). */
	char after = proc_state(pid);
	if ((after == 'T' || after == 't') && before != 'T' && before != 't')
		kill(pid, SIGCONT);
	if (killed) {
		snprintf(out, outlen, "gdb did not finish within %d s and was killed", GDB_TIMEOUT_S);
		return -1;
	}
	char *line = strstr(text, "HEAPTRAIL-");
	if (line) {
		line += strlen("HEAPTRAIL-");
		size_t n = strcspn(line, "\n");
		snprintf(out, outlen, "%.*s", (int)n, line);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(out, outlen, "cannot run %s", gdb);
		return -1;
	}
	/* gdb's own complaint: the last line that says what went wrong. */
	const char *best = NULL;
	size_t bestn = 0;
	for (char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (memmem(p, n, "ptrace", 6) || memmem(p, n, "rror", 4) || memmem(p, n, "not permitted", 13) ||
		    memmem(p, n, "Python scripting is not supported", 33)) {
			best = p;
			bestn = n;
		}
		p += n + (p[n] == '\n');
	}
	if (best)
		snprintf(out, outlen, "gdb: %.*s", (int)bestn, best);
	else
		snprintf(out, outlen, "gdb exited without result (status %d)", status);
	return -1;
}

/* run_gdb again while every thread was inside malloc or the loader. */
static int run_gdb_retry(const char *gdb, int pid, const char *lib, const char *action,
			 const char *conf, char *out, size_t outlen)
{
	for (int i = 0;; i++) {
		int rc = run_gdb(gdb, pid, lib, action, conf, out, outlen);
		if (rc || strncmp(out, "BUSY", 4) || i == BUSY_TRIES)
			return rc;
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* Whether the trace file ends with an END record. */
static int trace_ended(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat sb;
	int ended = 0;
	unsigned char tail[8];
	if (fstat(fd, &sb) == 0 && sb.st_size >= HT_HEADER_LEN + HT_END_RECORD_LEN &&
	    pread(fd, tail, 8, sb.st_size - 8) == 8)
		ended = memcmp(tail, HT_END_MAGIC, 8) == 0;
	close(fd);
	return ended;
}

/* Copies what the library wrote to the message file since *off onto
 * stderr. */
static void relay(int fd, off_t *off)
{
	char buf[4096];
	ssize_t n;
	while ((n = pread(fd, buf, sizeof(buf), *off)) > 0) {
		fwrite(buf, 1, (size_t)n, stderr);
		*off += n;
	}
}

/* After an attach to a CPython process: the Python frames are installed
 * by a pending call that the main thread runs at its next bytecode
 * boundary, and the library says how it went in a line that begins
 * "heaptrail: Python frames".  Relays the messages until that line came
 * (1) or PY_WAIT_S passed (0), or the process ended. */
#define PY_WAIT_S 5
static int wait_python(int fd, off_t *off, int pid)
{
	/* From the start: the line may have come before gdb was gone. */
	off_t from = 0;
	for (int i = 0; i < PY_WAIT_S * 20; i++) {
		relay(fd, off);
		char buf[8192];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, "heaptrail: Python frames"))
				return 1;
		}
		char st = proc_state(pid);
		if (!st || st == 'Z' || st == 'X')
			return 0;
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int parse_pid(const char *cmd, const char *s, int *pid)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || v <= 0 || v > INT32_MAX) {
		fprintf(stderr, "heaptrail %s: '%s' is not a process id\n", cmd, s ? s : "");
		attach_usage(stderr);
		return -1;
	}
	*pid = (int)v;
	return 0;
}

static int parse_attach(int argc, char **argv, attach_opts_t *o)
{
	enum { OPT_DURATION = 256, OPT_DEPTH, OPT_EVERY, OPT_SIGNAL, OPT_QUIET };
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "snapshot-every", required_argument, NULL, OPT_EVERY },
		{ "snapshot-signal", required_argument, NULL, OPT_SIGNAL },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case OPT_DURATION:
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0)) {
				fprintf(stderr, "heaptrail attach: --duration wants a positive number of "
						"seconds, not '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_DEPTH: {
			long d = strtol(optarg, &end, 10);
			if (*end || d < 1 || d > 256) {
				fprintf(stderr, "heaptrail attach: --depth must be a number from 1 to 256, "
						"not '%s'\n", optarg);
				return 2;
			}
			o->depth = optarg;
			break;
		}
		case OPT_EVERY:
			if (!(strtod(optarg, &end) > 0) || *end) {
				fprintf(stderr, "heaptrail attach: --snapshot-every wants a positive number "
						"of seconds, not '%s'\n", optarg);
				return 2;
			}
			o->every = optarg;
			break;
		case OPT_SIGNAL:
			if (record_parse_signal(optarg) < 0) {
				fprintf(stderr, "heaptrail attach: --snapshot-signal: '%s' is not a usable "
						"signal (try USR2)\n", optarg);
				return 2;
			}
			o->signal = optarg;
			break;
		case OPT_QUIET:
			o->quiet = 1;
			break;
		case 'h':
			attach_usage(stdout);
			return 1;
		default:
			attach_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "heaptrail attach: %s\n",
			optind >= argc ? "no process id given" : "one process id only");
		attach_usage(stderr);
		return 2;
	}
	return parse_pid("attach", argv[optind], &o->pid) ? 2 : 0;
}

/* The trace's absolute path (-o, or the default name after the process's
 * executable in the current directory). */
static int trace_name(const attach_opts_t *o, char *buf, size_t len)
{
	char name[PATH_MAX];
	if (o->output) {
		if (names_expand(o->output, o->pid, name, sizeof(name)) < 0)
			return -ENAMETOOLONG;
	} else {
		char path[64], exe[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%d/exe", o->pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		if (names_default_trace(n > 0 ? exe : "program", o->pid, name, sizeof(name)) < 0)
			return -ENAMETOOLONG;
	}
	if (name[0] == '/')
		return (size_t)snprintf(buf, len, "%s", name) < len ? 0 : -ENAMETOOLONG;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return (size_t)snprintf(buf, len, "%s/%s", cwd, name) < len ? 0 : -ENAMETOOLONG;
}

/* A file the process (another user's, when we are root) can write. */
static int make_for(int pid, int fd)
{
	char path[64];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &sb) == 0 && geteuid() == 0 && sb.st_uid != 0)
		return fchown(fd, sb.st_uid, sb.st_gid);
	return 0;
}

/* The library's answer in words. */
static void say_failure(const char *cmd, int pid, const char *res, int msgfd)
{
	off_t off = 0;
	if (msgfd >= 0)
		relay(msgfd, &off);
	if (!strncmp(res, "RC ", 3)) {
		if (!off)
			fprintf(stderr, "heaptrail %s: the recorder in process %d failed (%s)\n", cmd, pid,
				strerror(-atoi(res + 3)));
	} else if (!strncmp(res, "BUSY", 4)) {
		fprintf(stderr, "heaptrail %s: every thread of process %d stayed inside malloc or the "
				"dynamic loader (%s); try again\n", cmd, pid, res + 5);
	} else if (!strncmp(res, "DLOPEN ", 7)) {
		fprintf(stderr, "heaptrail %s: process %d cannot load the recorder: %s\n", cmd, pid, res + 7);
	} else if (!strcmp(res, "NOTLOADED")) {
		fprintf(stderr, "heaptrail %s: heaptrail is not loaded in process %d: nothing to detach\n",
			cmd, pid);
	} else if (!strcmp(res, "NOSYM")) {
		fprintf(stderr, "heaptrail %s: the libheaptrail.so in process %d has no attach entry "
				"points (an older build?)\n", cmd, pid);
	} else if (!strncmp(res, "GDB ", 4)) {
		fprintf(stderr, "heaptrail %s: gdb: %s\n", cmd, res + 4);
	} else {
		fprintf(stderr, "heaptrail %s: process %d: %s\n", cmd, pid, res);
	}
}

static int detach_pid(const char *cmd, const char *gdb, int pid, const char *lib)
{
	char res[512];
	if (run_gdb_retry(gdb, pid, lib, "stop", NULL, res, sizeof(res)) != 0) {
		fprintf(stderr, "heaptrail %s: %s\n", cmd, res);
		return 1;
	}
	if (!strcmp(res, "RC 0"))
		return 0;
	if (!strcmp(res, "RC -2")) {
		fprintf(stderr, "heaptrail %s: heaptrail is not attached to process %d (detached "
				"already, or it records from its start under heaptrail record, which "
				"cannot be detached)\n", cmd, pid);
		return 1;
	}
	say_failure(cmd, pid, res, -1);
	return 1;
}

int cmd_attach(int argc, char **argv)
{
	attach_opts_t o;
	int rc = parse_attach(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	char gdb[PATH_MAX], lib[PATH_MAX], trace[PATH_MAX];
	if (preflight("attach", o.pid, gdb, sizeof(gdb)))
		return 1;
	if (record_find_library(lib, sizeof(lib)) < 0)
		return 1;
	if (trace_name(&o, trace, sizeof(trace)) < 0) {
		fprintf(stderr, "heaptrail attach: the trace path is too long\n");
		return 1;
	}
	int tfd = open(trace, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (tfd < 0) {
		fprintf(stderr, "heaptrail attach: cannot create trace %s: %s%s\n", trace, strerror(errno),
			errno == EEXIST ? " (refusing to overwrite)" : "");
		return 1;
	}
	make_for(o.pid, tfd);
	close(tfd);
	char msgpath[] = "/tmp/heaptrail-attach-XXXXXX";
	int mfd = mkstemp(msgpath);
	if (mfd < 0) {
		fprintf(stderr, "heaptrail attach: cannot create a message file in /tmp: %s\n",
			strerror(errno));
		unlink(trace);
		return 1;
	}
	make_for(o.pid, mfd);
	char conf[PATH_MAX * 3];
	int n = snprintf(conf, sizeof(conf), "%s=%s\n%s=%s\n%s=%d\n", HT_ENV_ATTACH_TRACE, trace,
			 HT_ENV_ATTACH_MSG, msgpath, HT_ENV_ATTACH_BY, (int)getpid());
	if (o.depth)
		n += snprintf(conf + n, sizeof(conf) - (size_t)n, "%s=%s\n", HT_ENV_DEPTH, o.depth);
	if (o.every)
		n += snprintf(conf + n, sizeof(conf) - (size_t)n, "%s=%s\n", HT_ENV_SNAPSHOT_EVERY, o.every);
	if (o.signal)
		n += snprintf(conf + n, sizeof(conf) - (size_t)n, "%s=%s\n", HT_ENV_SNAPSHOT_SIGNAL, o.signal);
	if (o.quiet)
		snprintf(conf + n, sizeof(conf) - (size_t)n, "%s=1\n", HT_ENV_QUIET);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	char res[512];
	rc = run_gdb_retry(gdb, o.pid, lib, "start", conf, res, sizeof(res));
	int python = rc == 0 && !strcmp(res, "RC 1");
	if (rc != 0 || (strcmp(res, "RC 0") && !python)) {
		if (rc != 0)
			fprintf(stderr, "heaptrail attach: %s\n", res);
		else
			say_failure("attach", o.pid, res, mfd);
		close(mfd);
		unlink(msgpath);
		/* An empty file, or one the recorder began and ended: keep the
		 * latter (it says what happened), drop the former. */
		struct stat sb;
		if (stat(trace, &sb) == 0 && sb.st_size == 0)
			unlink(trace);
		return 1;
	}
	off_t off = 0;
	relay(mfd, &off);
	if (python && !o.quiet && !wait_python(mfd, &off, o.pid))
		fprintf(stderr, "heaptrail: the main thread of process %d ran no Python bytecode "
				"within %d s (blocked in a call?): its Python frames begin when it "
				"does; until then allocations have native frames only\n",
			o.pid, PY_WAIT_S);
	fprintf(stderr, "heaptrail: attached to process %d, recording into %s; stop with Ctrl-C%s "
			"or `heaptrail detach %d`\n",
		o.pid, trace, o.duration > 0 ? ", the end of --duration" : "", o.pid);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *why = NULL;
	int ret = 0;
	for (;;) {
		struct timespec ts = { 0, 100000000 }, now;
		nanosleep(&ts, NULL);
		relay(mfd, &off);
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		char st = proc_state(o.pid);
		if (!st || st == 'Z' || st == 'X') {
			why = trace_ended(trace) ? "the process exited; its trace ends there" :
						   "the process ended without finishing the trace";
			ret = trace_ended(trace) ? 0 : 1;
			break;
		}
		if (trace_ended(trace)) {
			why = "detached (by `heaptrail detach`)";
			break;
		}
		if (stop_signal || (o.duration > 0 && el >= o.duration)) {
			ret = detach_pid("attach", gdb, o.pid, lib);
			why = ret ? NULL : "detached";
			break;
		}
	}
	relay(mfd, &off);
	close(mfd);
	unlink(msgpath);
	if (why)
		fprintf(stderr, "heaptrail: %s%s. Trace: %s (see `heaptrail report %s`)\n", why,
			strncmp(why, "the process", 11) ? "; the process runs on" : "", trace, trace);
	return ret;
}

int cmd_detach(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		attach_usage(stdout);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "heaptrail detach: %s\n", argc < 2 ? "no process id given" : "one process id only");
		attach_usage(stderr);
		return 2;
	}
	int pid;
	if (parse_pid("detach", argv[1], &pid))
		return 2;
	char gdb[PATH_MAX], lib[PATH_MAX];
	if (preflight("detach", pid, gdb, sizeof(gdb)))
		return 1;
	/* The library as the process loaded it (the stop finds it by name). */
	if (maps_path(pid, "libheaptrail", lib, sizeof(lib)) != 0) {
		fprintf(stderr, "heaptrail detach: heaptrail is not loaded in process %d: nothing to detach\n",
			pid);
		return 1;
	}
	if (detach_pid("detach", gdb, pid, lib))
		return 1;
	fprintf(stderr, "heaptrail: detached from process %d; it runs on\n", pid);
	return 0;
}
