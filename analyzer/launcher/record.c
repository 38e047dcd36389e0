/* `heaptrail record`: the wrapper that runs a program under the recorder.
 *
 * The child opens the trace file itself, after fork, because only it knows
 * the pid that `%p` and the default name stand for; it hands the open file to
 * libheaptrail.so through HEAPTRAIL_FD/HEAPTRAIL_FD_ID (every variable of that
 * contract is named in common/env.h) and execs the program.  Signal names,
 * `%p` and the default trace name come from common/names.h, which the library
 * uses too: a trace gets the same name with or without the wrapper.  A close-on-exec pipe
 * tells the parent whether the exec happened, so that a setup failure in the
 * child is never mistaken for the program's own exit status. */
#include "launcher/record.h"
#include "launcher/sanitizer.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/env.h"
#include "common/names.h"
#include "heaptrail_format.h"
#include "launcher/ztail.h"

#define DEPTH_MAX 256
/* Lowest fd number the trace file is moved to: out of the way of programs
 * that assume small fds are theirs (shells use 10 and up, bash 255). */
#define TRACE_FD_MIN 500

/* Command-line settings.  Strings point into argv. */
typedef struct {
	const char *output; /* -o pattern, NULL = default name */
	int depth; /* 0 = not given, else 1..DEPTH_MAX */
	const char *snapshot_every; /* seconds as given (validated), or NULL */
	int snapshot_signal; /* 0 = not given */
	int follow_fork;
	int aggregate; /* --aggregate */
	int follow_exec;
	int python_malloc; /* set PYTHONMALLOC=malloc (default 1) */
	int quiet;
	int force; /* --force: overwrite an existing trace file */
	int compress; /* --compress 1, --no-compress 0, -1 = as HEAPTRAIL_COMPRESS */
	const char *check; /* --check: `heaptrail check` options, NULL = none */
	int live; /* --live: the live view on this terminal while it runs */
	const char *live_output; /* --live-output FILE, NULL = TRACE.out */
	char **program; /* PROGRAM ARGS..., NULL-terminated (argv tail) */
} record_opts_t;

/* What the child reports through the status pipe when it fails before exec.
 * EOF on the pipe means the exec succeeded.  The child also leaves it in a
 * shared page (child_status_t), which is all there is when the fd limit
 * leaves no room for the pipe. */
typedef struct {
	int exit_code; /* status the wrapper should exit with (2, 126, 127) */
} child_failure_t;

typedef struct {
	int failed; /* 1: the child did not exec; fail is valid */
	int unrecorded; /* 1: the program was exec'd without the recorder (said why) */
	child_failure_t fail;
} child_status_t;

/* The child's pid, for the forwarding handler; 0 until forked. */
static volatile pid_t record_child;

static const int forwarded_signals[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };

/* After a usage error, as the other commands say it (cli/args.c). */
#define TRY_HELP "Try 'heaptrail help record'.\n"

static void usage(FILE *out)
{
	fputs("usage: heaptrail record [-o FILE] [--depth N] [--snapshot-every SECONDS]\n"
	      "                        [--snapshot-signal SIG] [--follow-fork] [--follow-exec]\n"
	      "                        [--no-python-malloc] [--compress] [--aggregate]\n"
	      "                        [--quiet] [--force] [--check 'OPTIONS']\n"
	      "                        [--live [--live-output FILE]]\n"
	      "                        -- PROGRAM [ARGS...]\n"
	      "\n"
	      "Runs PROGRAM with the heap recorder preloaded and writes its trace.\n"
	      "  -o, --output FILE        trace file (%p = pid); default $HEAPTRAIL_OUTPUT, else\n"
	      "                           heaptrail.<program>.<pid>.htr in the current directory;\n"
	      "                           an existing file is not overwritten without --force\n"
	      "  --force                  overwrite an existing trace file\n"
	      "  --depth N                native frames kept per stack, 1..256 (default 64)\n"
	      "  --snapshot-every SECONDS mark a snapshot periodically (decimals allowed)\n"
	      "  --snapshot-signal SIG    mark a snapshot when PROGRAM receives SIG (e.g. USR2)\n"
	      "  --follow-fork            also record forked children, each into its own file\n"
	      "  --follow-exec            also record children that fork and exec\n"
	      "  --no-python-malloc       do not set PYTHONMALLOC=malloc\n"
	      "  --compress               write the trace zstd-compressed (HEAPTRAIL_COMPRESS=1);\n"
	      "                           every command reads it as it reads a plain one\n"
	      "  --no-compress            write it uncompressed, whatever HEAPTRAIL_COMPRESS says\n"
	      "  --aggregate              bounded trace for long runs: per-stack totals at\n"
	      "                           every snapshot, the peak and the end, no single\n"
	      "                           events (growth, --temporary and frees need them)\n"
	      "  -q, --quiet              no summary line at the end\n"
	      "  --check 'OPTIONS'        then run `heaptrail check TRACE OPTIONS` (options\n"
	      "                           split at blanks) with its report on stderr; exit\n"
	      "                           status 1 when a limit is broken, 2 when the check\n"
	      "                           could not run, else the program's own; bad\n"
	      "                           OPTIONS are a usage error before PROGRAM runs\n"
	      "  --live                   show the live view (heaptrail live) on this terminal\n"
	      "                           while PROGRAM runs; PROGRAM's output goes to a file,\n"
	      "                           its input is /dev/null\n"
	      "  --live-output FILE       that file (default TRACE.out), or another terminal's\n"
	      "                           device (/dev/pts/N)\n",
	      out);
}

int record_parse_signal(const char *text)
{
	return names_parse_signal(text);
}

/* Accepts seconds as the recorder parses them: digits with an optional
 * decimal part ("0.5", "10"), at least a millisecond (its timer's floor). */
static int valid_seconds(const char *text)
{
	size_t whole = strspn(text, "0123456789");
	const char *p = text + whole;
	size_t frac = 0;
	if (*p == '.')
		frac = strspn(++p, "0123456789");
	if (whole + frac == 0 || p[frac] != '\0' || whole > 9)
		return 0;
	return strtod(text, NULL) >= 0.001;
}

static int parse_args(int argc, char **argv, record_opts_t *o)
{
	enum { OPT_DEPTH = 256, OPT_EVERY, OPT_SIGNAL, OPT_FORK, OPT_EXEC, OPT_NOPY, OPT_FORCE,
	       OPT_CHECK, OPT_COMPRESS, OPT_NO_COMPRESS, OPT_AGGREGATE,
	       OPT_LIVE, OPT_LIVE_OUTPUT };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "snapshot-every", required_argument, NULL, OPT_EVERY },
		{ "snapshot-signal", required_argument, NULL, OPT_SIGNAL },
		{ "follow-fork", no_argument, NULL, OPT_FORK },
		{ "follow-exec", no_argument, NULL, OPT_EXEC },
		{ "no-python-malloc", no_argument, NULL, OPT_NOPY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "compress", no_argument, NULL, OPT_COMPRESS },
		{ "no-compress", no_argument, NULL, OPT_NO_COMPRESS },
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "aggregate", no_argument, NULL, OPT_AGGREGATE },
		{ "live", no_argument, NULL, OPT_LIVE },
		{ "live-output", required_argument, NULL, OPT_LIVE_OUTPUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->python_malloc = 1;
	o->compress = -1;
	optind = 0; /* glibc: full re-initialisation, main may have used getopt */
	opterr = 0;
	int c;
	/* '+': stop at PROGRAM, its own options are not ours. */
	while ((c = getopt_long(argc, argv, "+:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg) {
				fprintf(stderr, "heaptrail record: -o needs a file name\n");
				return -EINVAL;
			}
			o->output = optarg;
			break;
		case OPT_DEPTH: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > DEPTH_MAX) {
				fprintf(stderr,
					"heaptrail record: --depth must be a number from 1 to %d, not '%s'\n",
					DEPTH_MAX, optarg);
				return -EINVAL;
			}
			o->depth = (int)v;
			break;
		}
		case OPT_EVERY:
			if (!valid_seconds(optarg)) {
				fprintf(stderr,
					"heaptrail record: --snapshot-every wants a positive number of seconds, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->snapshot_every = optarg;
			break;
		case OPT_SIGNAL: {
			int sig = names_snapshot_signal(optarg);
			if (sig < 0) {
				fprintf(stderr,
					"heaptrail record: --snapshot-signal: '%s' is not a usable signal (try USR2)\n",
					optarg);
				return -EINVAL;
			}
			o->snapshot_signal = sig;
			break;
		}
		case OPT_FORK:
			o->follow_fork = 1;
			break;
		case OPT_EXEC:
			o->follow_exec = 1;
			break;
		case OPT_AGGREGATE:
			o->aggregate = 1;
			break;
		case OPT_NOPY:
			o->python_malloc = 0;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_FORCE:
			o->force = 1;
			break;
		case OPT_COMPRESS:
		case OPT_NO_COMPRESS:
			o->compress = c == OPT_COMPRESS;
			break;
		case OPT_CHECK:
			o->check = optarg;
			break;
		case OPT_LIVE:
			o->live = 1;
			break;
		case OPT_LIVE_OUTPUT:
			if (!*optarg) {
				fprintf(stderr, "heaptrail record: --live-output needs a file name\n");
				return -EINVAL;
			}
			o->live_output = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "heaptrail record: option '%s' needs a value\n",
				argv[optind - 1]);
			fputs(TRY_HELP, stderr);
			return -EINVAL;
		default:
			fprintf(stderr, "heaptrail record: unknown option '%s'\n",
				argv[optind - 1]);
			fputs(TRY_HELP, stderr);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "heaptrail record: no program given\n");
		fputs(TRY_HELP, stderr);
		return -EINVAL;
	}
	o->program = argv + optind;
	if (o->live_output && !o->live) {
		fprintf(stderr, "heaptrail record: --live-output goes with --live\n");
		fputs(TRY_HELP, stderr);
		return -EINVAL;
	}
	if (o->live && o->aggregate) {
		fprintf(stderr, "heaptrail record: --live follows single events as they come, and an "
				"--aggregate trace has none (per-stack totals at snapshots only); use one or "
				"the other\n");
		return -EINVAL;
	}
	if (o->live && o->compress == 1) {
		fprintf(stderr, "heaptrail record: --live follows the trace as it grows and cannot "
				"follow a compressed one; drop --compress (the trace is then written plain)\n");
		return -EINVAL;
	}
	if (o->live)
		o->compress = 0; /* whatever HEAPTRAIL_COMPRESS says: the view reads it */
	if (o->live && (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))) {
		fprintf(stderr, "heaptrail record: --live draws on a terminal and reads its keys, and "
				"standard %s is not one; record without --live and run `heaptrail live "
				"TRACE` in a terminal\n", isatty(STDOUT_FILENO) ? "input" : "output");
		return -EINVAL;
	}
	/* A pattern set by hand (the public variable) counts as -o. */
	if (!o->output) {
		const char *env = getenv(HT_ENV_OUTPUT);
		if (env && *env)
			o->output = env;
	}
	return 0;
}

/* Finds libheaptrail.so: $HEAPTRAIL_LIB, else next to this executable (build
 * tree), else ../lib relative to it (installed).  Writes the path to buf. */
int record_find_library(char *buf, size_t len)
{
	const char *env = getenv(HT_ENV_LIB);
	if (env && *env) {
		if (access(env, R_OK) != 0) {
			fprintf(stderr, "heaptrail: %s=%s: %s\n", HT_ENV_LIB, env, strerror(errno));
			return -ENOENT;
		}
		if ((size_t)snprintf(buf, len, "%s", env) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "heaptrail: cannot read /proc/self/exe to find libheaptrail.so; "
				"set HEAPTRAIL_LIB\n");
		return -ENOENT;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	static const char *const rel[] = { "/libheaptrail.so", "/../lib/libheaptrail.so" };
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if ((size_t)snprintf(buf, len, "%s%s", exe, rel[i]) >= len)
			continue;
		if (access(buf, R_OK) == 0) {
			/* An absolute, canonical path: the program may chdir. */
			char real[PATH_MAX];
			if (realpath(buf, real) && strlen(real) < len)
				strcpy(buf, real);
			return 0;
		}
	}
	fprintf(stderr, "heaptrail: libheaptrail.so not found next to %s or in %s/../lib; "
			"set HEAPTRAIL_LIB to its path\n", exe, exe);
	return -ENOENT;
}

/* The python helper directory for PYTHONPATH: <libdir>/python in the build
 * tree, <libdir>/heaptrail/python when installed. */
static void python_dir(const char *lib, char *buf, size_t len)
{
	const char *slash = strrchr(lib, '/');
	int dirlen = slash ? (int)(slash - lib) : 1;
	const char *dir = slash ? lib : ".";
	struct stat st;
	snprintf(buf, len, "%.*s/python", dirlen, dir);
	if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		return;
	snprintf(buf, len, "%.*s/heaptrail/python", dirlen, dir);
}

/* The trace path for the root process `pid`. */
static int trace_path(const record_opts_t *o, pid_t pid, char *buf, size_t len)
{
	if (o->output) {
		int rc = names_expand(o->output, (int)pid, buf, len);
		return rc < 0 ? rc : 0;
	}
	/* execvp gives the program this argv[0]: the library's own default. */
	return names_default_trace(o->program[0], (int)pid, buf, len);
}

/* --live: where the program's output goes (--live-output, else TRACE.out). */
static int live_output_path(const record_opts_t *o, const char *trace, char *buf, size_t len)
{
	int n = o->live_output ? snprintf(buf, len, "%s", o->live_output) :
				 snprintf(buf, len, "%s.out", trace);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* --live, in the child before exec: the view owns the terminal, so the
 * program writes to the output file and reads /dev/null.  Returns 0, or -1
 * after saying why on stderr (still the terminal). */
static int live_redirect(const record_opts_t *o, const char *trace)
{
	char out[PATH_MAX + 8];
	if (live_output_path(o, trace, out, sizeof(out)) < 0) {
		fprintf(stderr, "heaptrail: --live-output: file name too long\n");
		return -1;
	}
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "heaptrail: cannot create the program's output file %s: %s\n", out,
			strerror(errno));
		return -1;
	}
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0) {
		fprintf(stderr, "heaptrail: cannot redirect the program's output: %s\n", strerror(errno));
		return -1;
	}
	if (in != STDIN_FILENO)
		close(in);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static record_live_fn live_view;

void record_set_live_view(record_live_fn fn)
{
	live_view = fn;
}

static int setenv_int(const char *name, long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%ld", v);
	return setenv(name, tmp, 1);
}

/* Prepends `first` to the list in variable `name` (separator sep). */
static int prepend_env(const char *name, const char *first, char sep)
{
	const char *old = getenv(name);
	if (!old || !*old)
		return setenv(name, first, 1);
	size_t n = strlen(first) + 1 + strlen(old) + 1;
	char *val = malloc(n);
	if (!val)
		return -1;
	snprintf(val, n, "%s%c%s", first, sep, old);
	int rc = setenv(name, val, 1);
	free(val);
	return rc;
}

/* Moves fd to a high number (not close-on-exec) so that the program's own
 * fd juggling (dup2 onto small numbers, closing 3..N) leaves it alone. */
static int move_fd_high(int fd)
{
	struct rlimit rl;
	long lo = TRACE_FD_MIN;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur < lo + 16)
		lo = (long)rl.rlim_cur > 32 ? (long)rl.rlim_cur - 16 : 3;
	int hi = fcntl(fd, F_DUPFD, (int)lo);
	if (hi < 0)
		hi = fcntl(fd, F_DUPFD, 3);
	if (hi < 0) {
		/* No free number above it (a tiny ulimit -n): it stays where
		 * it is, only no longer close-on-exec. */
		if (errno != EMFILE || fcntl(fd, F_SETFD, 0) < 0)
			return -errno;
		return fd;
	}
	close(fd);
	return hi;
}

/* Sets the environment contract for the recorder in the child (common/env.h):
 * trace fd and identity, root pid, options, preload.
 * Returns 0 or -errno. */
static int child_set_env(const record_opts_t *o, const char *lib, int fd,
			 const struct stat *st, int msg_fd)
{
	char id[64], pydir[PATH_MAX];
	int rc = 0;
	struct stat mst;

	if (msg_fd >= 0 && fstat(msg_fd, &mst) == 0) {
		snprintf(id, sizeof(id), "%ju:%ju", (uintmax_t)mst.st_dev, (uintmax_t)mst.st_ino);
		rc |= setenv_int(HT_ENV_MSG_FD, msg_fd);
		rc |= setenv(HT_ENV_MSG_FD_ID, id, 1);
	} else {
		unsetenv(HT_ENV_MSG_FD);
		unsetenv(HT_ENV_MSG_FD_ID);
	}

	snprintf(id, sizeof(id), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
	rc |= setenv_int(HT_ENV_FD, fd);
	rc |= setenv(HT_ENV_FD_ID, id, 1);
	rc |= setenv_int(HT_ENV_ROOT_PID, getpid());
	if (o->output) {
		/* Absolute, so followed children that chdir still write beside it. */
		char cwd[PATH_MAX], abs[PATH_MAX * 2];
		if (o->output[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
		    (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, o->output) < sizeof(abs))
			rc |= setenv(HT_ENV_OUTPUT, abs, 1);
		else
			rc |= setenv(HT_ENV_OUTPUT, o->output, 1);
	} else {
		/* Followed children get the recorder's default name, which
		 * carries their own program name. */
		unsetenv(HT_ENV_OUTPUT);
	}
	if (o->depth)
		rc |= setenv_int(HT_ENV_DEPTH, o->depth);
	if (o->snapshot_every)
		rc |= setenv(HT_ENV_SNAPSHOT_EVERY, o->snapshot_every, 1);
	if (o->snapshot_signal)
		rc |= setenv_int(HT_ENV_SNAPSHOT_SIGNAL, o->snapshot_signal);
	/* The command line is authoritative for the switches: a stale
	 * variable from the user's shell must not turn them on. */
	static const struct {
		const char *name;
		size_t offset;
	} flags[] = {
		{ HT_ENV_FOLLOW_FORK, offsetof(record_opts_t, follow_fork) },
		{ HT_ENV_AGGREGATE, offsetof(record_opts_t, aggregate) },
		{ HT_ENV_FOLLOW_EXEC, offsetof(record_opts_t, follow_exec) },
		{ HT_ENV_QUIET, offsetof(record_opts_t, quiet) },
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (*(const int *)((const char *)o + flags[i].offset))
			rc |= setenv(flags[i].name, "1", 1);
		else
			unsetenv(flags[i].name);
	}
	if (o->python_malloc)
		rc |= setenv(HT_ENV_PYTHONMALLOC, "malloc", 1);
	/* Unlike the switches above, HEAPTRAIL_COMPRESS from the user's
	 * shell is honoured when neither option is given. */
	if (o->compress >= 0)
		rc |= setenv(HT_ENV_COMPRESS, o->compress ? "1" : "0", 1);
	python_dir(lib, pydir, sizeof(pydir));
	rc |= prepend_env("PYTHONPATH", pydir, ':');
	rc |= prepend_env("LD_PRELOAD", lib, ':');
	return rc ? -errno : 0;
}

/* " (ulimit -n N)" when a soft descriptor limit is set, else "". */
static const char *nofile_limit(void)
{
	static char buf[48];
	struct rlimit rl;
	buf[0] = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(buf, sizeof(buf), " (ulimit -n %ju)", (uintmax_t)rl.rlim_cur);
	return buf;
}

/* Whether a descriptor stays free for the program once the trace (fd) is
 * open and the status pipe (*status_fd, close-on-exec) is gone; the pipe
 * is closed early if that is what makes room (the shared page still
 * carries a failure). */
static int fd_to_spare(int fd, int *status_fd)
{
	for (;;) {
		int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (probe >= 0) {
			close(probe);
			return 1;
		}
		if (errno != EMFILE || *status_fd < 0)
			return errno != EMFILE;
		close(*status_fd);
		*status_fd = -1;
	}
}

/* Runs in the child between fork and exec: opens the trace, sets the
 * environment, execs.  Never returns; on failure it tells the parent
 * through status_fd and shared, and exits with 2, 126 or 127.  When the
 * descriptor limit leaves no room for the trace it execs the program
 * unrecorded (shared->unrecorded) after one line on stderr. */
static void child_run(const record_opts_t *o, const char *lib, const sigset_t *oldmask,
		      int status_fd, child_status_t *shared, int msg_fd)
{
	child_failure_t fail = { .exit_code = 2 };
	char path[PATH_MAX];
	int fd = -1, created = 0, rc, err_fd = -1;
	struct stat st;

	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (trace_path(o, getpid(), path, sizeof(path)) < 0) {
		fprintf(stderr, "heaptrail: output file name too long\n");
		goto fail;
	}
	/* --force truncates an existing file, never through a symlink. */
	fd = open(path, O_CREAT | (o->force ? O_TRUNC : O_EXCL) | O_NOFOLLOW |
				O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		/* No descriptor left for the trace: the program still runs,
		 * plainly, and this line says why nothing is recorded. */
		int e = errno;
		fprintf(stderr, "heaptrail: cannot create %s: %s%s; the program runs unrecorded\n",
			path, strerror(e), nofile_limit());
		shared->unrecorded = 1;
		goto exec;
	}
	created = fd >= 0;
	if (fd >= 0 && !fd_to_spare(fd, &status_fd)) {
		/* The trace would take the program's last free descriptor (the
		 * loader needs one to open the program's libraries). */
		close(fd);
		unlink(path);
		created = 0;
		fprintf(stderr, "heaptrail: the descriptor limit%s leaves no descriptor for the "
				"program beside the trace's; the program runs unrecorded\n",
			nofile_limit());
		shared->unrecorded = 1;
		goto exec;
	}
	if (fd < 0) {
		/* Not a bad command line: 1, not 2. */
		fail.exit_code = 1;
		if (errno == EEXIST)
			fprintf(stderr, "heaptrail: %s already exists; not overwriting it "
					"(--force overwrites it; -o names another file)\n", path);
		else
			fprintf(stderr, "heaptrail: cannot create %s: %s\n", path, strerror(errno));
		goto fail;
	}
	created = 1;
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "heaptrail: cannot stat %s: %s\n", path, strerror(errno));
		goto fail;
	}
	rc = move_fd_high(fd);
	if (rc < 0) {
		fprintf(stderr, "heaptrail: cannot move the trace fd: %s\n", strerror(-rc));
		goto fail;
	}
	fd = rc;
	rc = child_set_env(o, lib, fd, &st, msg_fd);
	if (rc < 0) {
		fprintf(stderr, "heaptrail: cannot set the environment: %s\n", strerror(-rc));
		goto fail;
	}
	if (o->live) {
		/* The terminal's stderr stays at hand for an exec failure. */
		err_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (live_redirect(o, path) < 0)
			goto fail;
	}

exec:
	execvp(o->program[0], o->program);

	int err = errno;
	const char *prog = o->program[0];
	if (err_fd >= 0)
		dup2(err_fd, STDERR_FILENO);
	if (err == ENOENT && !strchr(prog, '/')) {
		fprintf(stderr, "heaptrail: %s: command not found\n", prog);
		fail.exit_code = 127;
	} else {
		fprintf(stderr, "heaptrail: %s: %s\n", prog, strerror(err));
		fail.exit_code = (err == ENOENT || err == ENOTDIR) ? 127 : 126;
	}
fail:
	/* Nothing ran: leave no empty trace behind. */
	if (created)
		unlink(path);
	shared->fail = fail;
	shared->failed = 1;
	if (status_fd >= 0 && write(status_fd, &fail, sizeof(fail)) < 0) {
		/* The parent then sees the exit code alone; nothing more to do. */
	}
	_exit(fail.exit_code);
}

static void forward_signal(int sig)
{
	int saved = errno;
	if (record_child > 0)
		kill(record_child, sig);
	errno = saved;
}

/* SIGINT and SIGQUIT: a terminal sends them to the whole foreground process
 * group, so the program already has its own and forwarding would make two;
 * only one sent to the wrapper itself (kill(2), sigqueue, tgkill: si_code
 * <= 0) is passed on.  A kill(2) aimed at the process group still reaches
 * the program twice: nothing tells it from one aimed at the wrapper. */
static void forward_user_signal(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (info->si_code <= 0)
		forward_signal(sig);
}

/* "1234567" -> "1,234,567" */
static void format_count(uint64_t v, char *buf, size_t len)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

/* The path as a shell word, for the suggested next command. */
static void shell_word(const char *s, char *buf, size_t len)
{
	int plain = *s != '\0';
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_./%+,:=@-", *p))
			plain = 0;
	if (plain) {
		snprintf(buf, len, "%s", s);
		return;
	}
	size_t o = 0;
	buf[o++] = '\'';
	for (const char *p = s; *p && o + 6 < len; p++) {
		if (*p == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
}

/* The recorder's message file (preload/msgfd.h): an anonymous memory file
 * every traced process of the run appends its lines to, so that none of
 * them lands on the program's own fd 2.  Inherited at a high number; -1
 * when it cannot be made (the recorder then writes to a terminal only). */
static int open_messages(void)
{
	/* Under a tiny descriptor limit the trace and the program need every
	 * number (test_limits.DescriptorLimit): no message file then, and the
	 * recorder's lines go where they go without the wrapper. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 64)
		return -1;
	int fd = memfd_create("heaptrail-messages", 0);
	if (fd < 0)
		return -1;
	int hi = move_fd_high(fd);
	if (hi < 0) {
		close(fd);
		return -1;
	}
	return hi;
}

#define MESSAGES_SHOWN 20
/* Enough for the announcements of tens of thousands of followed children. */
#define MESSAGES_MAX (16 * 1024 * 1024)

/* The traces followed children announced (HT_MSG_TRACE_PREFIX lines), in
 * the order they were created. */
typedef struct {
	char **paths; /* absolute, malloc'd */
	size_t n, cap;
} announced_t;

static void announced_add(announced_t *a, const char *line)
{
	const char *sp = strchr(line, ' ');
	if (!sp || sp[1] != '/')
		return;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->paths[i], sp + 1) == 0)
			return;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16;
		char **np = realloc(a->paths, ncap * sizeof(*np));
		if (!np)
			return;
		a->paths = np;
		a->cap = ncap;
	}
	if ((a->paths[a->n] = strdup(sp + 1)))
		a->n++;
}

static void announced_free(announced_t *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->paths[i]);
	free(a->paths);
}

/* Prints the recorder's messages once each, in the order first seen, at
 * most MESSAGES_SHOWN of them; the trace announcements go to *ann instead.
 * Returns 1 when one says writing the trace failed. */
static int print_messages(int fd, announced_t *ann)
{
	if (fd < 0)
		return 0;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return 0;
	}
	size_t len = st.st_size > MESSAGES_MAX ? MESSAGES_MAX : (size_t)st.st_size;
	char *buf = malloc(len + 1);
	ssize_t n = buf ? pread(fd, buf, len, 0) : -1;
	close(fd);
	if (n <= 0) {
		free(buf);
		return 0;
	}
	buf[n] = '\0';
	const char *shown[MESSAGES_SHOWN];
	size_t nshown = 0, more = 0;
	int write_failed = 0;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, HT_MSG_TRACE_PREFIX, strlen(HT_MSG_TRACE_PREFIX)) == 0) {
			announced_add(ann, line + strlen(HT_MSG_TRACE_PREFIX));
			continue;
		}
		if (strstr(line, "heaptrail: " HT_MSG_WRITE_FAILED) == line)
			write_failed = 1;
		size_t i = 0;
		while (i < nshown && strcmp(shown[i], line))
			i++;
		if (i < nshown)
			continue;
		if (nshown == MESSAGES_SHOWN) {
			more++;
			continue;
		}
		shown[nshown++] = line;
		fprintf(stderr, "%s\n", line);
	}
	if (more)
		fprintf(stderr, "heaptrail: (%zu more messages not shown)\n", more);
	free(buf);
	return write_failed;
}

/* One line on stderr: where the trace is, how many events, what to run next.
 * status is the program's wait status (for why a trace has no end). */
static void print_summary(const char *path, int status, int write_failed)
{
	char word[PATH_MAX * 2];
	shell_word(path, word, sizeof(word));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "heaptrail: the trace %s is gone (%s)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (st.st_size == 0) {
		/* Nothing will ever be written: a file that looks like a
		 * broken trace would only mislead. */
		close(fd);
		unlink(path);
		fprintf(stderr, "heaptrail: no trace written: the recorder was not loaded into "
				"the program (statically linked or setuid?)\n");
		return;
	}
	char head[512];
	size_t nsl = strlen(HT_NOT_STARTED_MAGIC);
	ssize_t hn = pread(fd, head, sizeof(head) - 1, 0);
	if (hn > (ssize_t)nsl && memcmp(head, HT_NOT_STARTED_MAGIC, nsl) == 0) {
		/* The recorder was loaded and wrote why it could not start. */
		head[hn] = 0;
		head[strcspn(head, "\n")] = 0;
		close(fd);
		unlink(path);
		fprintf(stderr, "heaptrail: no trace written: recording did not start in the program: "
				"%s; the program ran unrecorded\n", head + nsl);
		return;
	}
	uint8_t end[HT_END_RECORD_LEN];
	int have_end = ztail_is_zstd(fd) ?
			       ztail_read(fd, st.st_size, end, sizeof(end)) == 0 :
			       st.st_size >= HT_HEADER_LEN + HT_END_RECORD_LEN &&
				       pread(fd, end, sizeof(end), st.st_size - HT_END_RECORD_LEN) ==
					       (ssize_t)sizeof(end);
	have_end = have_end &&
		       end[0] == (HT_REC_END << 3 | HT_OP_RECORD) && end[1] == HT_END_BODY_LEN &&
		       memcmp(end + 2 + 24, HT_END_MAGIC, 8) == 0;
	close(fd);
	if (!have_end) {
		char why[160] = "the program did not finish cleanly";
		if (write_failed)
			snprintf(why, sizeof(why), "writing the trace failed");
		else if (WIFEXITED(status))
			/* It did exit: say so, and the two usual reasons. */
			snprintf(why, sizeof(why),
				 "the program exited with status %d, but the recorder could not end "
				 "the trace: its descriptor closed, or a raw exit system call?",
				 WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "the program was killed by SIG%s",
				 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
		fprintf(stderr, "heaptrail: wrote %s, truncated (no end record: %s); "
				"next: heaptrail info %s\n", path, why, word);
		return;
	}
	char events[40], lost[40];
	format_count(ht_get_u64le(end + 2), events, sizeof(events));
	uint64_t nlost = ht_get_u64le(end + 2 + 8);
	format_count(nlost, lost, sizeof(lost));
	char died[80] = "";
	if (WIFSIGNALED(status))
		/* The crash handler ended the trace before the signal's action. */
		snprintf(died, sizeof(died), "; complete up to SIG%s, which killed the program",
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	if (nlost)
		fprintf(stderr, "heaptrail: wrote %s (%s events, %s LOST%s%s); next: heaptrail report %s\n",
			path, events, lost, write_failed ? " because writing the trace failed" : "",
			died, word);
	else
		fprintf(stderr, "heaptrail: wrote %s (%s events%s); next: heaptrail report %s\n",
			path, events, died, word);
}

/* What print_tree_summary shows of one trace: its first PROCESS record
 * and its END.  Reads the head of the file only (and its last bytes). */
typedef struct {
	uint64_t pid, ppid;
	char cmd[160]; /* argv joined by spaces, cut with "..." */
	int has_end;
	uint64_t events, lost;
} trace_peek_t;

static int peek_str(const uint8_t **p, const uint8_t *end, const uint8_t **s,
		    uint64_t *len)
{
	if (ht_get_varint(p, end, len) < 0 || *len > (uint64_t)(end - *p))
		return -1;
	*s = *p;
	*p += *len;
	return 0;
}

static int trace_peek(const char *path, trace_peek_t *t)
{
	uint8_t buf[8192];
	memset(t, 0, sizeof(*t));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 ? pread(fd, buf, sizeof(buf), 0) : -1;
	uint8_t endrec[HT_END_RECORD_LEN];
	t->has_end = n > 0 && st.st_size >= HT_HEADER_LEN + HT_END_RECORD_LEN &&
		     pread(fd, endrec, sizeof(endrec), st.st_size - HT_END_RECORD_LEN) ==
			     (ssize_t)sizeof(endrec) &&
		     endrec[0] == (HT_REC_END << 3 | HT_OP_RECORD) && endrec[1] == HT_END_BODY_LEN &&
		     memcmp(endrec + 2 + 24, HT_END_MAGIC, 8) == 0;
	close(fd);
	if (t->has_end) {
		t->events = ht_get_u64le(endrec + 2);
		t->lost = ht_get_u64le(endrec + 2 + 8);
	}
	if (n < HT_HEADER_LEN + 2)
		return -1;
	const uint8_t *p = buf + HT_HEADER_LEN, *end = buf + n, *s;
	uint64_t head, len, v;
	if (ht_get_varint(&p, end, &head) < 0 || head != (HT_REC_PROCESS << 3 | HT_OP_RECORD) ||
	    ht_get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
		return -1;
	end = p + len;
	if (ht_get_varint(&p, end, &t->pid) < 0 || ht_get_varint(&p, end, &t->ppid) < 0 ||
	    ht_get_varint(&p, end, &v) < 0 || ht_get_varint(&p, end, &v) < 0 ||
	    peek_str(&p, end, &s, &len) < 0 || peek_str(&p, end, &s, &len) < 0 ||
	    ht_get_varint(&p, end, &v) < 0)
		return -1;
	size_t at = 0;
	for (uint64_t i = 0; i < v && peek_str(&p, end, &s, &len) == 0; i++) {
		for (uint64_t k = 0; k <= len && at + 4 < sizeof(t->cmd); k++) {
			char c = k == len ? ' ' : (char)s[k];
			t->cmd[at++] = (c == '\n' || c == '\t') ? ' ' : c;
		}
		if (at + 4 >= sizeof(t->cmd)) {
			memcpy(t->cmd + sizeof(t->cmd) - 4, "...", 4);
			return 0;
		}
	}
	while (at && t->cmd[at - 1] == ' ')
		at--;
	t->cmd[at] = 0;
	return 0;
}

/* path relative to the working directory when it lies below it. */
static const char *relative(const char *path, const char *cwd)
{
	size_t n = strlen(cwd);
	if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

/* How the `next:` hint names every trace: all of them when few, else the
 * glob of their common prefix and suffix (the digits of the pids cut from
 * the prefix, which the glob then covers). */
#define TREE_NAMES_LISTED 6
/* How long the summary waits for followed processes still writing. */
#define TREE_WAIT_MS 2000
static void tree_hint(char **names, size_t n, char *out, size_t cap)
{
	size_t at = 0;
	out[0] = 0;
	if (n <= TREE_NAMES_LISTED) {
		char word[PATH_MAX * 2];
		for (size_t i = 0; i < n && at < cap; i++) {
			shell_word(names[i], word, sizeof(word));
			at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? " " : "", word);
		}
		return;
	}
	size_t pre = strlen(names[0]), suf = strlen(names[0]);
	for (size_t i = 1; i < n; i++) {
		size_t k = 0, li = strlen(names[i]), l0 = strlen(names[0]);
		while (k < pre && names[i][k] == names[0][k])
			k++;
		pre = k;
		for (k = 0; k < suf && k < li && k < l0 && names[i][li - 1 - k] == names[0][l0 - 1 - k]; k++)
			;
		suf = k;
	}
	while (pre && isdigit((unsigned char)names[0][pre - 1]))
		pre--;
	size_t l0 = strlen(names[0]);
	if (pre + suf > l0)
		suf = l0 - pre;
	while (suf && isdigit((unsigned char)names[0][l0 - suf]))
		suf--;
	/* Quoted except the star, which the shell is to expand. */
	char a[PATH_MAX], b[PATH_MAX];
	snprintf(a, sizeof(a), "%.*s", (int)pre, names[0]);
	snprintf(b, sizeof(b), "%s", names[0] + l0 - suf);
	char wa[PATH_MAX * 2], wb[PATH_MAX * 2];
	shell_word(a, wa, sizeof(wa));
	shell_word(b, wb, sizeof(wb));
	snprintf(out, cap, "%s*%s", a[0] ? wa : "", b[0] ? wb : "");
}

/* With followed children: every trace of the run, one line each (pid,
 * parent, events, file, command), and the command that reports them
 * together.  root: the first process's trace (NULL when unknown). */
static void print_tree_summary(const char *root, const announced_t *ann)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = 0;
	size_t n = ann->n + (root ? 1 : 0);
	char **names = calloc(n, sizeof(*names));
	if (!names)
		return;
	size_t k = 0;
	if (root)
		names[k++] = (char *)relative(root, cwd);
	for (size_t i = 0; i < ann->n; i++)
		names[k++] = (char *)relative(ann->paths[i], cwd);
	/* A process the program started may outlive it by a moment (a
	 * multiprocessing resource tracker sees its pipe close): give the
	 * traces without an END a little time, then show them as they are. */
	for (int tries = 0; tries < TREE_WAIT_MS / 20; tries++) {
		size_t open_traces = 0;
		for (size_t i = 0; i < n; i++) {
			trace_peek_t t;
			if (trace_peek(names[i], &t) == 0 && !t.has_end)
				open_traces++;
		}
		if (!open_traces)
			break;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "heaptrail: wrote %zu traces, one per process:\n", n);
	for (size_t i = 0; i < n; i++) {
		trace_peek_t t;
		char events[40], lost[40], what[96];
		if (trace_peek(names[i], &t) < 0) {
			fprintf(stderr, "heaptrail:   %s (unreadable or empty)\n", names[i]);
			continue;
		}
		format_count(t.events, events, sizeof(events));
		format_count(t.lost, lost, sizeof(lost));
		if (!t.has_end)
			snprintf(what, sizeof(what), "truncated");
		else if (t.lost)
			snprintf(what, sizeof(what), "%s event%s, %s LOST", events,
				 t.events == 1 ? "" : "s", lost);
		else
			snprintf(what, sizeof(what), "%s event%s", events, t.events == 1 ? "" : "s");
		fprintf(stderr, "heaptrail:   pid %" PRIu64 " (parent %" PRIu64 ")  %s  %s  %s\n",
			t.pid, t.ppid, what, names[i], t.cmd);
	}
	char hint[PATH_MAX * 8];
	tree_hint(names, n, hint, sizeof(hint));
	fprintf(stderr, "heaptrail: next: heaptrail report %s\n", hint);
	free(names);
}

/* `heaptrail check TRACE WORDS...` (this executable), its report on our
 * stderr so that the program's stdout stays the program's; with
 * options_only, `heaptrail check - WORDS... --options-only` (the options
 * validated, nothing read).  Returns check's exit status (0 held, 1 a
 * limit broken, 2 usage error or unreadable trace), 2 when it cannot run. */
#define CHECK_MAX_WORDS 32
static int run_check(const char *trace, const char *words, int options_only)
{
	char buf[1024];
	char *argv[CHECK_MAX_WORDS + 5];
	int argc = 0;
	if (strlen(words) >= sizeof(buf)) {
		fprintf(stderr, "heaptrail record: --check: options too long\n");
		return 2;
	}
	strcpy(buf, words);
	argv[argc++] = "heaptrail";
	argv[argc++] = "check";
	argv[argc++] = (char *)trace;
	for (char *save = NULL, *w = strtok_r(buf, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (argc >= CHECK_MAX_WORDS + 3) {
			fprintf(stderr, "heaptrail record: --check: too many options\n");
			return 2;
		}
		argv[argc++] = w;
	}
	if (options_only)
		argv[argc++] = "--options-only";
	argv[argc] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "heaptrail: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "heaptrail record: --check: cannot run heaptrail check: %s\n",
			strerror(errno));
		_exit(2);
	}
	int status;
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 2)
		return 2;
	return WEXITSTATUS(status);
}

/* Dies of `sig` like the program did, without a core file of our own. */
static void die_of_signal(int sig)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

int cmd_record(int argc, char **argv)
{
	record_opts_t o;
	char lib[PATH_MAX];
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (record_find_library(lib, sizeof(lib)) < 0)
		return 2;
	/* Its runtime must load first and brings its own malloc: the program
	 * would refuse to start under LD_PRELOAD or run unrecorded. */
	const char *san = sanitizer_of(o.program[0]);
	if (san) {
		fprintf(stderr,
			"heaptrail: %s is built with %s, which replaces malloc and must be "
			"the first library loaded, so heaptrail cannot record it; record a "
			"build without -fsanitize\n",
			o.program[0], san);
		return 2;
	}
	/* A bad --check is a usage error now, not after a long run. */
	if (o.check && run_check("-", o.check, 1) != 0)
		return 2;

	/* The child's report: a pipe (EOF at exec) when a descriptor pair
	 * is free, and always a shared page, which needs none. */
	child_status_t *shared = mmap(NULL, sizeof(child_status_t), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		fprintf(stderr, "heaptrail: cannot map a page: %s\n", strerror(errno));
		return 2;
	}
	int msg_fd = open_messages();
	int pipefd[2] = { -1, -1 };
	if (pipe2(pipefd, O_CLOEXEC) < 0 && errno != EMFILE && errno != ENFILE) {
		fprintf(stderr, "heaptrail: pipe: %s\n", strerror(errno));
		return 2;
	}

	/* Block what we forward until the handlers are in place, so a signal
	 * arriving around fork is neither lost nor fatal to the wrapper. */
	sigset_t fwd, oldmask;
	sigemptyset(&fwd);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&fwd, forwarded_signals[i]);
	if (o.snapshot_signal)
		sigaddset(&fwd, o.snapshot_signal);
	sigaddset(&fwd, SIGINT);
	sigaddset(&fwd, SIGQUIT);
	sigprocmask(SIG_BLOCK, &fwd, &oldmask);

	/* waitpid needs SIGCHLD not ignored (an ignored SIGCHLD reaps the
	 * child for us and loses its status); the program gets the original
	 * disposition back in child_run. */
	struct sigaction old_chld, dfl = { .sa_handler = SIG_DFL };
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old_chld);

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "heaptrail: fork: %s\n", strerror(errno));
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		return 2;
	}
	if (pid == 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		sigaction(SIGCHLD, &old_chld, NULL);
		child_run(&o, lib, &oldmask, pipefd[1], shared, msg_fd);
	}
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (msg_fd >= 0)
		fcntl(msg_fd, F_SETFD, FD_CLOEXEC); /* ours: not for `check` */
	record_child = pid;

	/* A terminal's SIGINT/SIGQUIT reach the program directly; the wrapper
	 * passes on only those sent to it alone (forward_user_signal). */
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd_sa = { .sa_handler = forward_signal };
	struct sigaction user_sa = { .sa_sigaction = forward_user_signal };
	struct sigaction old_int, old_quit;
	sigemptyset(&ign.sa_mask);
	sigemptyset(&fwd_sa.sa_mask);
	sigemptyset(&user_sa.sa_mask);
	fwd_sa.sa_flags = SA_RESTART;
	user_sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigaction(SIGINT, &user_sa, &old_int);
	sigaction(SIGQUIT, &user_sa, &old_quit);
	/* A closed stderr must not turn the program's exit status into our
	 * SIGPIPE when the summary is printed. */
	sigaction(SIGPIPE, &ign, NULL);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &fwd_sa, NULL);
	if (o.snapshot_signal && o.snapshot_signal != SIGINT && o.snapshot_signal != SIGQUIT &&
	    o.snapshot_signal != SIGCHLD)
		sigaction(o.snapshot_signal, &fwd_sa, NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);

	/* EOF: the exec happened.  Data: the child failed before it. */
	child_failure_t fail;
	ssize_t n = 0;
	if (pipefd[0] >= 0) {
		do
			n = read(pipefd[0], &fail, sizeof(fail));
		while (n < 0 && errno == EINTR);
		close(pipefd[0]);
	}
	int ran = n != (ssize_t)sizeof(fail);

	int status;
	pid_t w = 0;
	if (o.live && ran && !shared->failed && !shared->unrecorded && live_view) {
		/* The view runs until the program ends (then it has reaped
		 * it) or the user closes it (then we wait below). */
		char tpath[PATH_MAX], out[PATH_MAX + 8];
		if (trace_path(&o, pid, tpath, sizeof(tpath)) == 0 &&
		    live_output_path(&o, tpath, out, sizeof(out)) == 0 &&
		    live_view(tpath, pid, out, &status) > 0)
			w = pid;
	}
	while (w == 0) {
		w = waitpid(pid, &status, 0);
		if (w < 0 && errno == EINTR)
			w = 0;
	}
	if (w < 0) {
		fprintf(stderr, "heaptrail: waitpid: %s\n", strerror(errno));
		return 2;
	}
	record_child = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (shared->failed) {
		ran = 0;
		fail = shared->fail;
	}
	int unrecorded = shared->unrecorded;
	munmap(shared, sizeof(*shared));

	if (!ran)
		return WIFEXITED(status) ? WEXITSTATUS(status) : fail.exit_code;
	if (unrecorded) {
		/* The child said why on stderr; no trace, no summary.  A check
		 * that cannot judge is 2, as for a trace that is gone. */
		if (o.check) {
			fprintf(stderr, "heaptrail record: --check: no trace to check\n");
			return 2;
		}
		if (WIFSIGNALED(status)) {
			fflush(NULL);
			die_of_signal(WTERMSIG(status));
			return 128 + WTERMSIG(status);
		}
		return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
	}

	announced_t ann = { 0 };
	int write_failed = print_messages(msg_fd, &ann);
	char path[PATH_MAX];
	int have_path = trace_path(&o, pid, path, sizeof(path)) == 0;
	if (!o.quiet && have_path)
		print_summary(path, status, write_failed);
	if (!o.quiet && ann.n)
		print_tree_summary(have_path ? path : NULL, &ann);
	announced_free(&ann);
	/* --check: a broken limit (1) or a check that could not judge (2)
	 * is the status; when every limit held the program's own is. */
	int check_rc = 0;
	if (o.check)
		check_rc = have_path ? run_check(path, o.check, 0) : 2;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		fflush(NULL);
		die_of_signal(sig);
		return 128 + sig; /* the signal did not kill us (ignored-by-default) */
	}
	if (check_rc)
		return check_rc;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
