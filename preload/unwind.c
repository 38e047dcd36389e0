/* unwind: see unwind.h. */
#include "unwind.h"

#include "heaptrail_format.h"
#include "stacks.h"

#define UNW_LOCAL_ONLY
#include <fcntl.h>
#include <libunwind.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Leading frames searched for the recorder's own code. */
#define SKIP_SCAN (UNWIND_EXTRA - 1)

static uintptr_t self_lo, self_hi;

/* libunwind opens a pipe (to validate addresses) on its first use and
 * keeps it: left alone it would take the program's lowest free descriptor
 * numbers (3 and 4), which programs notice.  Fill the low numbers first so
 * the pipe lands at `high` or above, then release them. */
static void first_use_high(int high)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)high + 16 > rl.rlim_cur)
		high = rl.rlim_cur > 32 ? (int)rl.rlim_cur - 16 : 0;
	int fill[1024];
	int n = 0;
	int base = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (base >= 0) {
		fill[n++] = base;
		while (n < (int)(sizeof(fill) / sizeof(fill[0]))) {
			int fd = fcntl(base, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				break;
			fill[n++] = fd;
			if (fd >= high)
				break;
		}
	}
	/* Either call may be libunwind's first (and open the pipe). */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	void *buf[4];
	unw_backtrace(buf, 4);
	for (int i = 0; i < n; i++)
		close(fill[i]);
}

int unwind_init(uintptr_t lo, uintptr_t hi, int high_fd)
{
	self_lo = lo;
	self_hi = hi;
	first_use_high(high_fd);
	return 0;
}

unsigned unwind_capture(uint64_t *ips, unsigned max, unsigned *flags)
{
	if (max > STACKS_MAX_FRAMES)
		max = STACKS_MAX_FRAMES;
	/* Unwind in place (a return address and a uint64_t have the same
	 * representation here) to keep the hook's stack frame small. */
	_Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit only");
	void **buf = (void **)ips;
	int got = unw_backtrace(buf, (int)(max + UNWIND_EXTRA));
	if (got < 0)
		got = 0;
	/* Start after the last of our own frames among the first few: the
	 * hooked function's frame is the outermost of ours. */
	int start = 0;
	int scan = got < SKIP_SCAN ? got : SKIP_SCAN;
	for (int i = 0; i < scan; i++) {
		uintptr_t ip = (uintptr_t)buf[i];
		if (ip >= self_lo && ip < self_hi)
			start = i + 1;
	}
	unsigned n = (unsigned)(got - start);
	*flags = 0;
	if (n > max) {
		n = max;
		*flags |= HT_STACK_TRUNCATED;
	}
	if (start)
		memmove(ips, ips + start, n * sizeof(uint64_t));
	return n;
}
