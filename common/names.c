/* names: see names.h. */
#include "common/names.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },     { "INT", SIGINT },	{ "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },   { "ABRT", SIGABRT },	{ "IOT", SIGIOT },     { "BUS", SIGBUS },
	{ "FPE", SIGFPE },     { "KILL", SIGKILL },	{ "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },   { "PIPE", SIGPIPE },	{ "ALRM", SIGALRM },   { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },	{ "CONT", SIGCONT },   { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },	{ "TTOU", SIGTTOU },   { "URG", SIGURG },
	{ "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH }, { "IO", SIGIO },		{ "POLL", SIGPOLL },   { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

/* Highest signal number Linux has (NSIG - 1). */
#define NAMES_SIG_MAX 64

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* Case-insensitive: does s start with prefix?  Returns its length or 0. */
static size_t starts(const char *s, const char *prefix)
{
	size_t i = 0;
	for (; prefix[i]; i++)
		if (upper((unsigned char)s[i]) != prefix[i])
			return 0;
	return i;
}

/* Decimal digits only, at most 4 of them; -1 otherwise. */
static int small_number(const char *s)
{
	int v = 0, n = 0;
	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n == 4)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return n ? v : -1;
}

int names_parse_signal(const char *text)
{
	if (!text || !*text)
		return -EINVAL;
	if (*text >= '0' && *text <= '9') {
		int v = small_number(text);
		return v >= 1 && v <= NAMES_SIG_MAX ? v : -EINVAL;
	}
	const char *s = text + starts(text, "SIG");
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		size_t n = starts(s, signals[i].name);
		if (n && !s[n])
			return signals[i].sig;
	}
	int base = 0, dir = 0;
	size_t n;
	if ((n = starts(s, "RTMIN")) != 0) {
		base = SIGRTMIN;
		dir = 1;
	} else if ((n = starts(s, "RTMAX")) != 0) {
		base = SIGRTMAX;
		dir = -1;
	} else {
		return -EINVAL;
	}
	s += n;
	if (!*s)
		return base;
	if (*s != (dir > 0 ? '+' : '-'))
		return -EINVAL;
	int k = small_number(s + 1);
	if (k < 0)
		return -EINVAL;
	int sig = base + dir * k;
	return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -EINVAL;
}

int names_snapshot_signal(const char *text)
{
	int sig = names_parse_signal(text);
	return sig == SIGKILL || sig == SIGSTOP ? -EINVAL : sig;
}

/* Appends n bytes of s at *o in buf; -1 when they (and the NUL) do not fit. */
static int put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + n >= cap)
		return -1;
	memcpy(buf + *o, s, n);
	*o += n;
	return 0;
}

static int put_int(char *buf, size_t cap, size_t *o, int v)
{
	char tmp[12];
	size_t n = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	do
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	return put(buf, cap, o, tmp + sizeof(tmp) - n, n);
}

int names_expand(const char *pattern, int pid, char *buf, size_t cap)
{
	size_t o = 0;
	int pids = 0;
	if (!cap)
		return -ENAMETOOLONG;
	for (const char *p = pattern; *p; p++) {
		int bad;
		if (p[0] == '%' && p[1] == 'p') {
			bad = put_int(buf, cap, &o, pid);
			pids++;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			bad = put(buf, cap, &o, "%", 1);
			p++;
		} else {
			bad = put(buf, cap, &o, p, 1);
		}
		if (bad) {
			buf[o] = 0;
			return -ENAMETOOLONG;
		}
	}
	buf[o] = 0;
	return pids;
}

int names_default_trace(const char *argv0, int pid, char *buf, size_t cap)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;
	base = base ? base + 1 : argv0;
	if (!base || !*base)
		base = "prog";
	size_t o = 0;
	if (!cap)
		return -ENAMETOOLONG;
	int bad = put(buf, cap, &o, "heaptrail.", 10) || put(buf, cap, &o, base, strlen(base)) ||
		  put(buf, cap, &o, ".", 1) || put_int(buf, cap, &o, pid) ||
		  put(buf, cap, &o, ".htr", 4);
	buf[o] = 0;
	return bad ? -ENAMETOOLONG : 0;
}
