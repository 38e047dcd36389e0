/* unwind: the fast walk returns exactly what libunwind returns, at several
 * depths, with truncation, through alloca frames and in threads; verify
 * mode counts no mismatches. */
#include "heaptrail_format.h"
#include "seam.h"
#include "unwind.h"

#include <alloca.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOINL __attribute__((noinline))

typedef struct {
	uint64_t ips[64 + UNWIND_EXTRA];
	unsigned n, flags;
} cap_t;

static volatile int opaque = 1;

NOINL static void capture(cap_t *c, unsigned max)
{
	c->n = unwind_capture(c->ips, max, &c->flags, NULL, NULL, NULL, NULL);
	__asm__ volatile("" : : "r"(c) : "memory");
}

NOINL static void down(int n, cap_t *c, unsigned max)
{
	if (n == 0) {
		capture(c, max);
		return;
	}
	if (n % 3 == 0) {
		/* A frame whose CFA follows RBP even without frame pointers. */
		char *buf = alloca(16 + (size_t)(n * opaque) * 8);
		memset(buf, 0, 16);
		down(n - 1, c, max);
		__asm__ volatile("" : : "r"(buf) : "memory");
		return;
	}
	down(n - 1, c, max);
	__asm__ volatile("" : : "r"(c) : "memory");
}

static void setup(void)
{
	static int done;
	if (!done)
		cr_assert_eq(unwind_init(0, 0, 40, UNWIND_FAST), 0);
	done = 1;
}

/* Verify mode compares the fast walk with unw_backtrace within one capture
 * (the same call sites): runs down(depth) `times` times and returns the
 * stacks checked, asserting that none differed. */
static uint64_t verified(int depth, unsigned max, int times, cap_t *c)
{
	unwind_stats_t before, after;
	unwind_get_stats(&before);
	unwind_set_mode(UNWIND_VERIFY);
	for (int i = 0; i < times; i++)
		down(depth, c, max);
	unwind_set_mode(UNWIND_FAST);
	unwind_get_stats(&after);
	cr_assert_eq(after.mismatches, before.mismatches, "depth %d: %lu mismatches", depth,
		     (unsigned long)(after.mismatches - before.mismatches));
	return after.checked - before.checked;
}

Test(unwind, fast_walk_equals_libunwind_at_several_depths, .init = setup)
{
	static const int depths[] = { 0, 1, 5, 17, 40 };
	for (unsigned i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		cap_t c;
		/* Every call checked: the first one learns, then compares. */
		cr_assert_eq(verified(depths[i], 64, 3, &c), 3);
		/* down() frames, capture, the test function and more. */
		cr_assert_geq(c.n, (unsigned)depths[i] + 3);
	}
}

/* Frame-pointer code: every frame's CFA follows RBP and each saved RBP
 * points at the next frame record (the chain cache's compact check). */
#define FP_FRAMES __attribute__((noinline, optimize("no-omit-frame-pointer")))

FP_FRAMES static void fp_down(int n, cap_t *c, unsigned max)
{
	if (n == 0) {
		capture(c, max);
		return;
	}
	/* Frames of different sizes, so the records are not evenly spaced. */
	volatile char pad[16 * (1 + n % 4)];
	pad[0] = (char)n;
	fp_down(n - 1, c, max);
	__asm__ volatile("" : : "r"(pad) : "memory");
}

Test(unwind, frame_pointer_chains_equal_libunwind_when_reused, .init = setup)
{
	unwind_stats_t before, after;
	cap_t c;
	unwind_get_stats(&before);
	unwind_set_mode(UNWIND_VERIFY);
	for (int i = 0; i < 12; i++)
		fp_down(3 + i % 3 * 7, &c, 64);
	unwind_set_mode(UNWIND_FAST);
	unwind_get_stats(&after);
	cr_assert_eq(after.checked - before.checked, 12);
	cr_assert_eq(after.mismatches, before.mismatches);
	cr_assert_geq(c.n, 17u + 3);
}

Test(unwind, deep_stacks_are_truncated_the_same_way, .init = setup)
{
	cap_t c;
	cr_assert_eq(verified(100, 16, 2, &c), 2);
	cr_assert_eq(c.n, 16);
	cr_assert_eq(c.flags, HT_STACK_TRUNCATED);
}

Test(unwind, learned_stacks_need_no_libunwind, .init = setup)
{
	cap_t c;
	unwind_stats_t st[11];
	/* Identical iterations; the first one or two (if the compiler peels
	 * one) run at a new call site and learn. */
	for (int i = 0; i < 11; i++) {
		down(30, &c, 64);
		unwind_get_stats(&st[i]);
	}
	cr_assert_eq(st[10].fallback, st[2].fallback);
	cr_assert_geq(c.n, 33);
}

/* Two callers with the same frame layout: leaf() runs at the same stack
 * address under either, so its cached chain must be checked, not trusted. */
NOINL static void leaf(cap_t *c)
{
	capture(c, 64);
	__asm__ volatile("" : : "r"(c) : "memory");
}

/* (Different asm text keeps the compiler from merging the two.) */
NOINL static void via_a(cap_t *c)
{
	leaf(c);
	__asm__ volatile("# via_a" : : "r"(c) : "memory");
}

NOINL static void via_b(cap_t *c)
{
	leaf(c);
	__asm__ volatile("# via_b" : : "r"(c) : "memory");
}

Test(unwind, a_chain_reached_through_another_caller_is_not_reused, .init = setup)
{
	cap_t a[2], b[2];
	unwind_stats_t before, after;
	unwind_get_stats(&before);
	for (int round = 0; round < 2; round++) {
		unwind_set_mode(round == 0 ? UNWIND_VERIFY : UNWIND_FAST);
		for (int i = 0; i < 10; i++) {
			via_a(&a[round]);
			via_b(&b[round]);
		}
	}
	unwind_set_mode(UNWIND_FAST);
	unwind_get_stats(&after);
	cr_assert_eq(after.mismatches, before.mismatches);
	cr_assert_eq(after.checked - before.checked, 20);
	/* leaf's return address into via_a / via_b is frame 2 (capture,
	 * leaf, caller): the stacks differ there and only there. */
	for (int r = 0; r < 2; r++) {
		cr_assert_eq(a[r].n, b[r].n);
		cr_assert_neq(a[r].ips[2], b[r].ips[2]);
		cr_assert_eq(a[r].ips[1], b[r].ips[1]);
	}
	/* The fast captures equal the verified ones up to via_a / via_b
	 * (the rounds may call them from different sites). */
	cr_assert_eq(memcmp(a[0].ips, a[1].ips, 3 * sizeof(uint64_t)), 0);
	cr_assert_eq(memcmp(b[0].ips, b[1].ips, 3 * sizeof(uint64_t)), 0);
}

static void *thread_main(void *arg)
{
	cap_t *c = arg;
	for (int i = 0; i < 50; i++)
		down(i % 25, c, 64);
	return NULL;
}

Test(unwind, verify_mode_counts_no_mismatch_in_threads, .init = setup, .timeout = 30)
{
	unwind_stats_t before, after;
	unwind_get_stats(&before);
	unwind_set_mode(UNWIND_VERIFY);
	pthread_t t[4];
	cap_t caps[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, thread_main, &caps[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	unwind_set_mode(UNWIND_FAST);
	unwind_get_stats(&after);
	cr_assert_eq(after.mismatches, before.mismatches);
	/* 200 stacks, each either checked or (a thread that found another
	 * one learning) handed to libunwind. */
	cr_assert_eq(after.checked - before.checked + after.fallback - before.fallback, 200);
	cr_assert_geq(after.checked - before.checked, 1);
}

/* An allocation hook's shape: a frame record of its own, handed to the
 * unwinder as `entry`.  First call: the full capture writes `id` into
 * the chain's note (as stackid.c would); every call: what the hot path's
 * lookup (unwind_cached) finds. */
typedef struct {
	unwind_note_t *known; /* unwind_cached before the capture */
	unwind_note_t *memo; /* the capture's note */
	unsigned n;
} hooked_t;

/* The caller's first word of a note (zeroed by the unwinder). */
static uint32_t note_id(const unwind_note_t *note)
{
	uint32_t id;
	memcpy(&id, note->data, sizeof(id));
	return id;
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void
hook_like(hooked_t *h, uint32_t id)
{
	const uintptr_t *entry = __builtin_frame_address(0);
	uint64_t ips[64 + UNWIND_EXTRA];
	unsigned flags;
	h->known = unwind_cached(entry, 64);
	h->n = unwind_capture(ips, 64, &flags, &h->memo, NULL, NULL, entry);
	if (h->memo && !note_id(h->memo))
		memcpy(h->memo->data, &id, sizeof(id));
	__asm__ volatile("" : : "r"(h) : "memory");
}

NOINL static void hooked_via_a(hooked_t *h, uint32_t id)
{
	hook_like(h, id);
	__asm__ volatile("# hooked_via_a" : : "r"(h) : "memory");
}

NOINL static void hooked_via_b(hooked_t *h, uint32_t id)
{
	hook_like(h, id);
	__asm__ volatile("# hooked_via_b" : : "r"(h) : "memory");
}

Test(unwind, a_known_stack_is_found_by_its_caller_only, .init = setup)
{
	hooked_t a = { 0 }, b = { 0 };
	unwind_set_mode(UNWIND_FAST);
	/* One call site each (the stack includes this function's return
	 * address): the first rounds learn and note 101 / 202, later rounds
	 * must find exactly those, each under its own caller, though the
	 * hook's frame lies at the same address under either. */
	int found = 0;
	for (int i = 0; i < 8; i++) {
		hooked_via_a(&a, 101);
		hooked_via_b(&b, 202);
		if (i >= 4) {
			cr_assert_not_null(a.memo);
			cr_assert_not_null(b.memo);
			cr_assert_not_null(a.known, "round %d", i);
			cr_assert_not_null(b.known, "round %d", i);
			cr_assert_eq(note_id(a.known), 101);
			cr_assert_eq(note_id(b.known), 202);
			found++;
		}
	}
	cr_assert_eq(found, 4);
	cr_assert_eq(note_id(a.memo), 101);
	cr_assert_eq(note_id(b.memo), 202);
	/* Only the fast mode answers (verify mode checks the answer instead,
	 * libunwind mode never walks). */
	for (int i = 0; i < 2; i++) {
		unwind_set_mode(i ? UNWIND_VERIFY : UNWIND_LIBUNWIND);
		hooked_via_a(&a, 101);
		cr_assert_null(a.known);
	}
	unwind_set_mode(UNWIND_FAST);
}

/* ---- signal frames (issue 14, defect 3) ---------------------------------- */

static cap_t sig_cap;

NOINL static void on_usr2(int sig)
{
	(void)sig;
	capture(&sig_cap, 64);
	__asm__ volatile("" : : : "memory"); /* no tail call: a frame of its own */
}

NOINL static void raiser(void)
{
	raise(SIGUSR2);
	__asm__ volatile("" : : : "memory");
}

/* The restorer the kernel returns a handler to (glibc's __restore_rt). */
static uintptr_t kernel_restorer(int sig)
{
	struct {
		uintptr_t handler;
		unsigned long flags;
		uintptr_t restorer;
		uint64_t mask;
	} k;
	cr_assert_eq(syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(k.mask)), 0);
	return k.restorer;
}

/* The handler's stack showed the sigreturn trampoline as an unsymbolized
 * libc frame between the handler and the interrupted code. */
Test(unwind, a_handler_stack_goes_on_at_the_interrupted_code_without_the_trampoline,
     .init = setup)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR2, &sa, &old), 0);
	unwind_find_sigreturn();
	uintptr_t tramp = kernel_restorer(SIGUSR2);
	cr_assert_neq(tramp, 0);

	for (int mode = UNWIND_FAST; mode <= UNWIND_VERIFY; mode++) {
		unwind_set_mode(mode);
		for (int round = 0; round < 3; round++) {
			memset(&sig_cap, 0, sizeof(sig_cap));
			raiser();
			int in_handler = 0, in_raiser = 0;
			for (unsigned i = 0; i < sig_cap.n; i++) {
				cr_assert_neq(sig_cap.ips[i], tramp, "mode %d: frame %u is the trampoline",
					      mode, i);
				in_handler |= sig_cap.ips[i] - (uintptr_t)on_usr2 < 64;
				in_raiser |= sig_cap.ips[i] - (uintptr_t)raiser < 64;
			}
			cr_assert(in_handler && in_raiser, "mode %d: %u frames, handler %d, raiser %d",
				  mode, sig_cap.n, in_handler, in_raiser);
		}
	}
	unwind_set_mode(UNWIND_FAST);
	sigaction(SIGUSR2, &old, NULL);
}
