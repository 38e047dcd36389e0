/* unwind: see unwind.h. */
#include "unwind.h"

#include "heaptrail_format.h"
#include "stacks.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* Leading frames searched for the recorder's own code. */
#define SKIP_SCAN 12

static uintptr_t self_lo, self_hi;

int unwind_init(uintptr_t lo, uintptr_t hi)
{
	self_lo = lo;
	self_hi = hi;
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	return 0;
}

unsigned unwind_capture(uint64_t *ips, unsigned max, unsigned *flags)
{
	void *buf[STACKS_MAX_FRAMES + SKIP_SCAN + 1];
	if (max > STACKS_MAX_FRAMES)
		max = STACKS_MAX_FRAMES;
	int got = unw_backtrace(buf, (int)(max + SKIP_SCAN + 1));
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
	for (unsigned i = 0; i < n; i++)
		ips[i] = (uint64_t)(uintptr_t)buf[start + (int)i];
	return n;
}
