/* util: see util.h. */
#include "util.h"

#include "msgfd.h"
#include "sigproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int util_quiet;
static int said_lines;

void util_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;
	if (timeout_ns) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
		ts.tv_nsec = (long)(timeout_ns % 1000000000u);
		tp = &ts;
	}
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
}

void util_futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t util_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t util_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int util_fcntl(int fd, int cmd, long arg)
{
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

int util_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

void util_signal_default(int sig)
{
	/* Through the proxy's back door: our own sigaction would keep the
	 * recorder's handler installed behind a SIG_DFL view. */
	sigproxy_release(sig);
}

long util_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (long)len;
}

void util_line_str(util_line_t *l, const char *s)
{
	while (*s && l->len + 1 < l->cap)
		l->buf[l->len++] = *s++;
	l->buf[l->len] = 0;
}

size_t util_fmt_u64(char *buf, uint64_t v)
{
	char tmp[21];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return n;
}

void util_line_u64(util_line_t *l, uint64_t v)
{
	char tmp[21];
	util_fmt_u64(tmp, v);
	util_line_str(l, tmp);
}

int util_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

void util_say(int error, const char *msg)
{
	if (!error && util_quiet)
		return;
	/* A racy counter is fine: the limit only stops floods. */
	if (__atomic_fetch_add(&said_lines, 1, __ATOMIC_RELAXED) >= 32)
		return;
	int saved = errno;
	char buf[512];
	util_line_t l = { buf, sizeof(buf) - 1, 0 };
	util_line_str(&l, "heaptrail: ");
	util_line_str(&l, msg);
	buf[l.len++] = '\n';
	msgfd_write(buf, l.len);
	errno = saved;
}
