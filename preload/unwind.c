/* unwind: see unwind.h.
 *
 * Fast path.  On x86-64 the unwinding step of an ordinary frame is: the
 * CFA (the caller's stack pointer) is RSP or RBP plus a constant, the
 * return address sits at CFA-8, and RBP is either left alone or restored
 * from a slot at a constant offset from the CFA.  Which of these holds is
 * a property of the return address alone (the code at the call site), so
 * a table keyed by return address can drive a walk that reads two words
 * per frame.  The rules are never guessed: the first time a return address
 * is met, libunwind unwinds that frame (one real step) and the rule is read
 * off its result, then confirmed with a second libunwind step from the same
 * register state with RSP moved down 16 bytes (a RSP-based CFA moves with
 * it; a RBP-based one does not).  Frames whose result fits no simple rule
 * (signal frames, realigned stacks, DWARF expressions) are marked and make
 * the whole stack go through unw_backtrace.  The walk only reads memory
 * between its own stack pointer and the outermost stack address libunwind
 * reached on this thread, so even a stale rule cannot fault.
 *
 * Rule table: global (rules are facts about code, shared by threads),
 * lock-free to read; learning takes a spinlock with trylock only (it may
 * run in a fork child or in a signal handler that interrupted a learner)
 * and only measures the stack when it is busy.  When a module is unloaded
 * (the recorder notices through its module map) the table is replaced by
 * an empty one, so rules of code that is gone stop matching; until the
 * recorder notices (its next new stack), a library loaded at the address
 * of an unloaded one may be walked with the old rules.
 *
 * In front of the walk, a per-thread chain cache (see "chain cache")
 * reuses a whole walk when every stack word it read is unchanged, and
 * carries a note for the caller (stackid.c's stack id) for that stack.
 *
 * HEAPTRAIL_UNWIND=verify runs both and records libunwind's result;
 * HEAPTRAIL_UNWIND=libunwind uses unw_backtrace only. */
#include "seam.h"

#include "mapmem.h"
#include "unwind.h"

#include "heaptrail_format.h"
#include "stacks.h"
#include "util.h"

#define UNW_LOCAL_ONLY
#include <emmintrin.h>
#include <errno.h>
#include <link.h>
#include <sched.h>
#include <stddef.h>
#include <fcntl.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <signal.h>
#include <pthread.h>
#include <ucontext.h>
#include <unistd.h>

/* Leading frames (after the anchor) searched for the recorder's own code. */
#define SKIP_SCAN (UNWIND_EXTRA - 1)

static uintptr_t self_lo, self_hi;
static int mode = UNWIND_FAST;

/* ---- rule table ---------------------------------------------------------- */

enum rule_kind {
	RK_RSP = 1, /* CFA = RSP + cfa_off */
	RK_RBP = 2, /* CFA = RBP + cfa_off */
	RK_END = 3, /* libunwind stops after this frame (outermost) */
	RK_BAD = 4, /* no simple rule: the stack needs libunwind */
};

/* A rule packed in 32 bits:
 *   bits 0-2   kind (RK_*)
 *   bit  3     RBP restored from CFA + rbp_off*8 (else unchanged)
 *   bits 4-11  rbp_off, signed, in 8-byte words
 *   bits 12-31 cfa_off, signed, bytes */
#define RULE_KIND(r) ((r)&7u)
#define RULE_RBP_SAVED(r) (((r) >> 3) & 1u)
#define RULE_RBP_OFF(r) ((int64_t)(int8_t)(uint8_t)((r) >> 4) * 8)
#define RULE_CFA_OFF(r) ((int64_t)((int32_t)(r) >> 12))
#define CFA_OFF_MAX ((1 << 19) - 1)

/* Distinct rules are few (a handful of frame shapes), so the table maps a
 * return address to an index into this list and a slot is one word: the
 * walk's lookups, one per frame and each depending on the one before,
 * then touch few cache lines.  Append-only; index 0 = none. */
#define RULE_LIST_MAX 4096
static uint32_t rule_list[RULE_LIST_MAX];
static uint32_t rule_count = 1;

/* Open addressing over one-word slots: ip << 16 | rule index (x86-64 user
 * addresses fit 48 bits); 0 = empty.  Slots are filled once and never
 * change, so a lookup needs no re-check.  The table starts small and is
 * replaced by a copy twice its size at half load; a flush replaces it by
 * an empty one.  Replaced tables stay mapped (a walk may still read one). */
#define TAB_MIN_BITS 11 /* 16 KiB */
#define TAB_MAX_BITS 20
typedef struct rule_tab {
	uint32_t bits; /* 2^bits slots */
	uint32_t used; /* filled slots (under the lock) */
	uint64_t slot[];
} rule_tab_t;

static rule_tab_t *tab; /* published with release; NULL: fast path off */
static int rules_lock;
static unsigned long long seen_subs; /* loader's dlpi_subs at the last flush */
static uint32_t tab_epoch = 1; /* bumped when a flush drops the rules */

/* Outermost stack address libunwind reached on this thread (0: none yet):
 * the fast walk never reads above it. */
static __thread uintptr_t stack_top __attribute__((tls_model("initial-exec")));

static uint64_t stat_checked, stat_mismatches, stat_fallback;

static inline uint32_t rule_hash(uint64_t ip, uint32_t bits)
{
	return (uint32_t)((ip * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

/* The packed rule of ip in t, or 0 when unknown. */
static inline uint32_t rule_find(const rule_tab_t *t, uint64_t ip)
{
	uint32_t mask = (1u << t->bits) - 1;
	uint32_t i = rule_hash(ip, t->bits);
	for (;;) {
		uint64_t s = __atomic_load_n(&t->slot[i], __ATOMIC_ACQUIRE);
		if (s >> 16 == ip)
			return rule_list[s & 0xffff];
		if (s == 0)
			return 0;
		i = (i + 1) & mask;
	}
}

static int rules_trylock(void)
{
	return __atomic_exchange_n(&rules_lock, 1, __ATOMIC_ACQUIRE) ? -1 : 0;
}

static void rules_unlock(void)
{
	__atomic_store_n(&rules_lock, 0, __ATOMIC_RELEASE);
}

static rule_tab_t *tab_new(uint32_t bits)
{
	size_t len = sizeof(rule_tab_t) + ((size_t)8 << bits);
	void *m = mapmem_map(len, MAPMEM_UNWIND, 0);
	if (!m)
		return NULL;
	rule_tab_t *t = m;
	t->bits = bits;
	return t;
}

/* Caller holds the lock.  Slots become visible with a release store, after
 * the rule_list entry they name. */
static void tab_insert(rule_tab_t *t, uint64_t word)
{
	uint32_t mask = (1u << t->bits) - 1;
	uint32_t i = rule_hash(word >> 16, t->bits);
	while (t->slot[i]) {
		if (t->slot[i] >> 16 == word >> 16)
			return;
		i = (i + 1) & mask;
	}
	__atomic_store_n(&t->slot[i], word, __ATOMIC_RELEASE);
	t->used++;
}

/* Caller holds the lock. */
static void rule_put(uint64_t ip, uint32_t rule)
{
	rule_tab_t *t = tab;
	if (ip == 0 || ip >> 48)
		return;
	uint32_t idx = 0;
	for (uint32_t i = 1; i < rule_count; i++)
		if (rule_list[i] == rule) {
			idx = i;
			break;
		}
	if (!idx) {
		if (rule_count >= RULE_LIST_MAX)
			return; /* these frames keep using libunwind */
		idx = rule_count;
		rule_list[idx] = rule;
		__atomic_store_n(&rule_count, idx + 1, __ATOMIC_RELEASE);
	}
	if (t->used + 1 > (1u << t->bits) / 2) {
		if (t->bits >= TAB_MAX_BITS)
			return;
		rule_tab_t *g = tab_new(t->bits + 1);
		if (!g)
			return;
		for (uint32_t i = 0; i < (1u << t->bits); i++)
			if (t->slot[i])
				tab_insert(g, t->slot[i]);
		__atomic_store_n(&tab, g, __ATOMIC_RELEASE);
		t = g;
	}
	tab_insert(t, ip << 16 | idx);
}

static int subs_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		*(unsigned long long *)arg = info->dlpi_subs;
	return 1;
}

void unwind_flush(void)
{
	/* Only an unloaded module can leave rules for code that is gone. */
	unsigned long long subs = 0;
	dl_iterate_phdr(subs_cb, &subs);
	if (subs == __atomic_load_n(&seen_subs, __ATOMIC_RELAXED) || !tab)
		return;
	int locked = 0;
	for (int i = 0; i < 1000 && !(locked = rules_trylock() == 0); i++)
		sched_yield();
	/* Even without the lock: a learner then inserts into the old table. */
	rule_tab_t *t = tab_new(TAB_MIN_BITS);
	if (t)
		__atomic_store_n(&tab, t, __ATOMIC_RELEASE);
	__atomic_fetch_add(&tab_epoch, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&seen_subs, subs, __ATOMIC_RELAXED);
	if (locked)
		rules_unlock();
}

/* ---- learning: rules read off libunwind's own steps ----------------------- */

static uint32_t pack(unsigned kind, int64_t cfa_off, int rbp_saved, int64_t rbp_off)
{
	if (cfa_off < -CFA_OFF_MAX || cfa_off > CFA_OFF_MAX || rbp_off % 8 ||
	    rbp_off / 8 < -128 || rbp_off / 8 > 127)
		return RK_BAD;
	return kind | (uint32_t)rbp_saved << 3 | ((uint32_t)(rbp_off / 8) & 0xff) << 4 |
	       (uint32_t)cfa_off << 12;
}

/* Where libunwind has RBP of the cursor's frame (memory address, or 0). */
static uintptr_t rbp_loc(unw_cursor_t *c)
{
	unw_save_loc_t l;
	if (unw_get_save_loc(c, UNW_X86_64_RBP, &l) < 0 || l.type != UNW_SLT_MEMORY)
		return 0;
	return (uintptr_t)l.u.addr;
}

/* The rule for the frame at (ip, sp, bp), whose libunwind step gave
 * (nip, cfa, nbp) with RBP loaded from nloc (0: not from memory) while it
 * was at loc before.  uc is any valid local context (a template). */
static uint32_t learn_rule(const unw_context_t *uc, uintptr_t ip, uintptr_t sp, uintptr_t bp,
			   uintptr_t nip, uintptr_t cfa, uintptr_t nbp, uintptr_t loc, uintptr_t nloc)
{
	if (nip == 0 || cfa <= sp || *(const uintptr_t *)(cfa - 8) != nip)
		return RK_BAD;
	int saved = 0;
	int64_t rbp_off = 0;
	if (nloc && nloc != loc) {
		/* Restored from this frame: the slot must lie inside it. */
		if (nloc < sp || nloc >= cfa || *(const uintptr_t *)nloc != nbp)
			return RK_BAD;
		saved = 1;
		rbp_off = (int64_t)(nloc - cfa);
	} else if (nbp != bp) {
		return RK_BAD;
	}
	/* Same frame with RSP 16 bytes lower: every address this step reads
	 * that follows RSP moves down within memory we know is mapped (our
	 * own stack sits below sp). */
	unw_context_t probe = *uc;
	probe.uc_mcontext.gregs[REG_RIP] = (greg_t)ip;
	probe.uc_mcontext.gregs[REG_RSP] = (greg_t)(sp - 16);
	probe.uc_mcontext.gregs[REG_RBP] = (greg_t)bp;
	unw_cursor_t pc;
	unw_word_t psp;
	if (unw_init_local(&pc, &probe) < 0 || unw_step(&pc) <= 0 ||
	    unw_get_reg(&pc, UNW_REG_SP, &psp) < 0)
		return RK_BAD;
	if (psp == cfa - 16)
		return pack(RK_RSP, (int64_t)(cfa - sp), saved, rbp_off);
	if (psp != cfa)
		return RK_BAD;
	/* CFA independent of RSP: accept only the classic frame (push rbp;
	 * mov rsp,rbp), and not a realigned one, whose CFA is loaded from
	 * the word below the saved RBP. */
	if (cfa - bp != 16 || !saved || rbp_off != -16 || *(const uintptr_t *)(bp - 8) == cfa)
		return RK_BAD;
	return pack(RK_RBP, 16, 1, -16);
}

/* Walks the calling thread's stack with libunwind and records a rule for
 * every return address not known yet (unless another thread is learning:
 * then it only measures); raises stack_top. */
static void learn_stack(void)
{
	if (!tab)
		return;
	int locked = rules_trylock() == 0;
	const rule_tab_t *t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
	unw_context_t uc;
	unw_cursor_t c;
	unw_word_t ip, sp, bp;
	if (unw_getcontext(&uc) < 0 || unw_init_local(&c, &uc) < 0 ||
	    unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0 ||
	    unw_get_reg(&c, UNW_X86_64_RBP, &bp) < 0)
		goto out;
	uintptr_t top = sp;
	/* A frame interrupted by a signal holds an arbitrary ip, which
	 * libunwind looks up as is rather than as a return address: no rule
	 * from it (the signal frame itself gets RK_BAD). */
	int interrupted = 0;
	/* Frame 0 is this function (not a return address): no rule. */
	for (int frame = 0; frame < 4 * STACKS_MAX_FRAMES; frame++) {
		uintptr_t loc = rbp_loc(&c);
		int sig = unw_is_signal_frame(&c) > 0;
		int r = unw_step(&c);
		int learn = locked && frame > 0 && !interrupted && rule_find(t, ip) == 0;
		interrupted = sig;
		if (sig) {
			if (learn)
				rule_put(ip, RK_BAD);
			learn = 0;
		}
		if (r <= 0) {
			if (learn)
				rule_put(ip, r == 0 ? RK_END : RK_BAD);
			break;
		}
		unw_word_t nip, nsp, nbp;
		if (unw_get_reg(&c, UNW_REG_IP, &nip) < 0 || unw_get_reg(&c, UNW_REG_SP, &nsp) < 0 ||
		    unw_get_reg(&c, UNW_X86_64_RBP, &nbp) < 0) {
			if (learn)
				rule_put(ip, RK_BAD);
			break;
		}
		if (learn)
			rule_put(ip, learn_rule(&uc, ip, sp, bp, nip, nsp, nbp, loc, rbp_loc(&c)));
		if (nsp > top)
			top = nsp;
		ip = nip;
		sp = nsp;
		bp = nbp;
	}
	if (top > stack_top)
		stack_top = top;
out:
	if (locked)
		rules_unlock();
}

/* ---- the fast walk --------------------------------------------------------- */

/* ---- chain cache ------------------------------------------------------------ */

/* The walk's lookups depend on each other (each rule gives the next
 * address to look up), so a long stack costs a chain of cache misses.  A
 * program allocates from a limited set of call chains, and a chain found
 * again at the same stack address is usually the same chain: each thread
 * keeps the chains it walked, keyed by the state of the first frame after
 * the recorder's own, with every stack word the walk read.  When that state
 * recurs and every one of those words still holds what the walk read, the
 * walk would run exactly as before, so its result is reused; the checks
 * are independent loads, not a chain of them.
 *
 * Chains are stored compactly, each sized by its own frames, in a
 * per-thread ring written in order: a new chain overwrites the oldest,
 * whose tag is cleared first, so a tag always names a whole, live chain.
 * (Fixed 80-frame slots held 512 chains per MiB; a program with a few
 * thousand distinct stacks thrashed them: issue 19's sweep, 500 and 5000
 * call sites.) */
#define CHAIN_MAX 80 /* frames kept per chain (longer ones are cut into pieces) */
#define CHAIN_SETS_BITS 10 /* 1024 sets per thread */
#define CHAIN_WAYS 4 /* chains per set: one call site may be reached by several chains */
#define CHAIN_RING_LEN ((size_t)1 << 20) /* bytes of chains per thread */

/* A chain's header in the ring; its arrays follow (chain_off() etc.;
 * val_at and fr_at are byte offsets from the header):
 *   uint32_t off[npair + nsingle]  offsets from sp of the stack words checked
 *   uint64_t val[2 * npair + nsingle]  what they must hold
 *   uint64_t fr[n + cont]     return addresses, fr[0] == ip (+ next ip when cont)
 * A check is a return-address slot (frame k's holds fr[k+1]) or a saved-RBP
 * slot the walk used.  A frame-pointer frame keeps its saved RBP right
 * below its return address: such a pair is one 16-byte check (npair of
 * them first), everything else a single word.  Both lists run outermost
 * first. */
typedef struct chain {
	uint64_t bp; /* the first frame's RBP (compared if bp_need) */
	uint64_t next_sp, next_bp; /* cont: registers of the frame after fr[n-1] */
	uint32_t epoch; /* tab_epoch when built; 0 = empty */
	uint32_t len; /* bytes in the ring, header and arrays */
	uint16_t n; /* frames fr[0..n) */
	uint16_t room; /* cap - frames before fr[0], when built */
	uint16_t val_at, fr_at; /* where val and fr start */
	uint16_t set; /* its tag: set and way */
	uint8_t way;
	uint8_t bp_need; /* the walk used the first frame's RBP */
	uint8_t npair; /* 16-byte checks: saved RBP + return address */
	uint8_t nsingle; /* 8-byte checks (up to 2 per frame) */
	uint8_t lead; /* frames before fr[0] in the walk that built it */
	uint8_t cont; /* the stack goes on past fr[n-1]: at fr[n], next_sp/bp */
	/* The caller's note for the stack this chain gives.  Its first words
	 * (stackid's id and Python frame count) share the header's cache
	 * line: a lookup that ends in a known stack reads that line and the
	 * checks, nothing else. */
	unwind_note_t note;
} chain_t;
_Static_assert(sizeof(chain_t) % 8 == 0, "chain arrays must stay aligned");

static inline uint32_t *chain_off(const chain_t *c)
{
	return (uint32_t *)(c + 1);
}

static inline uint64_t *chain_val(const chain_t *c)
{
	return (uint64_t *)((const char *)c + c->val_at);
}

static inline uint64_t *chain_fr(const chain_t *c)
{
	return (uint64_t *)((const char *)c + c->fr_at);
}

/* A chain being built: the header and arrays at their largest; copied
 * into the ring, at its own size, when finished. */
typedef struct chain_build {
	chain_t h;
	uint64_t fr[CHAIN_MAX + 1];
	uint32_t pair_off[CHAIN_MAX], single_off[2 * CHAIN_MAX];
	uint64_t pair_val[2 * CHAIN_MAX], single_val[2 * CHAIN_MAX];
} chain_build_t;

/* A set's keys and where its chains are, in 80 bytes: a lookup touches
 * only the chain that matches. */
typedef struct chain_tags {
	uint64_t ip[CHAIN_WAYS], sp[CHAIN_WAYS]; /* ip 0: way unused */
	uint32_t off[CHAIN_WAYS]; /* the chain's offset in the ring */
} chain_tags_t;

#define CHAIN_NSETS (1u << CHAIN_SETS_BITS)

/* What a walk notes per frame while it builds a chain, and the ring's
 * state. */
typedef struct chain_scratch {
	chain_build_t b;
	uint64_t cfa[CHAIN_MAX]; /* CFA of frame k */
	uint64_t nbp[CHAIN_MAX]; /* RBP after frame k's step */
	uint32_t rule[CHAIN_MAX]; /* rule of frame k */
	uint32_t head; /* where the next chain goes */
	uint32_t old, top; /* the previous lap's chains not yet overwritten: [old, top) */
	uint8_t victim[CHAIN_NSETS]; /* next way to replace, per set */
	uint8_t mru[CHAIN_NSETS]; /* way that matched last, per set: tried first */
} chain_scratch_t;

#define CHAIN_MAP_LEN (CHAIN_RING_LEN + sizeof(chain_tags_t) * CHAIN_NSETS + sizeof(chain_scratch_t))

/* This thread's chain ring (mmap'd on first use; tags and scratch after). */
static __thread unsigned char *chains __attribute__((tls_model("initial-exec")));
/* The last note serial handed out on this thread. */
static __thread uint64_t chain_serial __attribute__((tls_model("initial-exec")));

static inline chain_tags_t *chain_tags(void)
{
	return (chain_tags_t *)(chains + CHAIN_RING_LEN);
}

static inline chain_scratch_t *chain_scratch(void)
{
	return (chain_scratch_t *)&chain_tags()[CHAIN_NSETS];
}

static inline chain_t *chain_at(uint32_t off)
{
	return (chain_t *)(chains + off);
}

/* The set of (ip, sp), or -1 when the cache cannot be mapped. */
static int chain_set(uint64_t ip, uint64_t sp)
{
	if (HT_UNLIKELY(!chains)) {
		void *m = mapmem_map(CHAIN_MAP_LEN, MAPMEM_UNWIND, 0);
		if (!m)
			return -1;
		chains = m;
	}
	uint64_t h = (ip ^ sp * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	return (int)(h >> (64 - CHAIN_SETS_BITS));
}

void unwind_forget_ids(void)
{
	__atomic_fetch_add(&tab_epoch, 1, __ATOMIC_RELEASE);
	/* A followed fork child: the learner that may have held the lock
	 * at fork does not exist here. */
	rules_lock = 0;
}

void unwind_thread_exit(void)
{
	if (chains)
		mapmem_unmap(chains, CHAIN_MAP_LEN, MAPMEM_UNWIND);
	chains = NULL;
}

/* 1 when c (whose key matched ip and sp) holds the walk from (sp, bp)
 * with `room` frames left. */
static inline __attribute__((always_inline)) int chain_match(const chain_t *c, uint64_t sp, uint64_t bp, unsigned room,
			      uint32_t epoch)
{
	if (c->epoch != epoch || (c->cont ? room <= c->n : c->room != room) ||
	    (c->bp_need && c->bp != bp))
		return 0;
	/* Outermost first: chains that share their key (innermost frame and
	 * stack address) usually differ further out, e.g. one function
	 * called from two places; the first difference ends the check.  The
	 * loads are independent: two pairs, or four words, per branch. */
	const uint32_t *off = chain_off(c);
	const uint64_t *val = chain_val(c);
	unsigned np = c->npair, i = 0;
	const __m128i zero = _mm_setzero_si128();
#define PAIR_DIFF(k)                                                            \
	_mm_xor_si128(_mm_loadu_si128((const __m128i *)(sp + off[k])),          \
		      _mm_loadu_si128((const __m128i *)(val + 2 * (k))))
	for (; i + 2 <= np; i += 2) {
		__m128i d = _mm_or_si128(PAIR_DIFF(i), PAIR_DIFF(i + 1));
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(d, zero)) != 0xffff)
			return 0;
	}
	if (i < np && _mm_movemask_epi8(_mm_cmpeq_epi8(PAIR_DIFF(i), zero)) != 0xffff)
		return 0;
#undef PAIR_DIFF
	off += np;
	val += 2 * np;
	unsigned ns = c->nsingle;
#define WORD_DIFF(k) (*(const uint64_t *)(sp + off[k]) ^ val[k])
	for (i = 0; i + 4 <= ns; i += 4)
		if (WORD_DIFF(i) | WORD_DIFF(i + 1) | WORD_DIFF(i + 2) | WORD_DIFF(i + 3))
			return 0;
	uint64_t diff = 0;
	for (; i < ns; i++)
		diff |= WORD_DIFF(i);
#undef WORD_DIFF
	return diff == 0;
}

/* The walk that started at the key (sp) ended after n frames, or, with
 * b->h.cont, goes on at fr[n] / next_*; derive the words it depended on.
 * RBP matters in frame k when its CFA follows RBP or when it passes RBP
 * on unchanged to a frame where it matters (always, past a cut chain).
 * Returns -1 when a word lies too far above sp to be noted. */
static int chain_finish(chain_build_t *b, const chain_scratch_t *w, uint64_t sp, unsigned n,
			uint32_t epoch)
{
	chain_t *c = &b->h;
	c->n = (uint16_t)n;
	int need = c->cont; /* RBP of frame k+1 matters */
	unsigned np = 0, ns = 0;
	for (unsigned k = n; k-- > 0;) {
		uint32_t r = w->rule[k];
		if (k + 1 < n || c->cont) {
			/* The step of frame k read the return address... */
			uint64_t raoff = w->cfa[k] - 8 - sp;
			if (raoff > UINT32_MAX)
				return -1;
			/* ...and the saved RBP, which matters if it is used. */
			if (RULE_RBP_SAVED(r) && need) {
				uint64_t off = w->cfa[k] + (uint64_t)RULE_RBP_OFF(r) - sp;
				if (off > UINT32_MAX)
					return -1;
				if (off + 8 == raoff) {
					b->pair_off[np] = (uint32_t)off;
					b->pair_val[2 * np] = w->nbp[k];
					b->pair_val[2 * np + 1] = b->fr[k + 1];
					np++;
					goto stepped;
				}
				b->single_off[ns] = (uint32_t)off;
				b->single_val[ns++] = w->nbp[k];
			}
			b->single_off[ns] = (uint32_t)raoff;
			b->single_val[ns++] = b->fr[k + 1];
		}
	stepped:;
		unsigned kind = RULE_KIND(r);
		if (kind == RK_RBP)
			need = 1;
		else if (kind == RK_END || RULE_RBP_SAVED(r))
			need = 0;
		/* else RBP passes through: need stays. */
	}
	c->npair = (uint8_t)np;
	c->nsingle = (uint8_t)ns;
	c->bp_need = (uint8_t)need;
	c->epoch = epoch;
	return 0;
}

/* Clears the tag of the chain at off, if the tag still names it. */
static inline void chain_drop(uint32_t off)
{
	const chain_t *c = chain_at(off);
	chain_tags_t *tg = &chain_tags()[c->set];
	if (tg->ip[c->way] && tg->off[c->way] == off)
		tg->ip[c->way] = 0;
}

/* Copies the finished chain b into the ring, at its own size, and tags it
 * as way `way` of set `set` with key sp.  Returns the chain in the ring. */
static chain_t *chain_publish(chain_scratch_t *w, chain_build_t *b, unsigned set, unsigned way,
			      uint64_t sp)
{
	chain_t *h = &b->h;
	size_t nfr = (size_t)h->n + h->cont;
	size_t nchk = (size_t)h->npair + h->nsingle;
	size_t val_at = (sizeof(chain_t) + nchk * 4 + 7) & ~(size_t)7;
	size_t fr_at = val_at + ((size_t)2 * h->npair + h->nsingle) * 8;
	size_t len = fr_at + nfr * 8;
	h->val_at = (uint16_t)val_at;
	h->fr_at = (uint16_t)fr_at;
	if (w->head + len > CHAIN_RING_LEN) {
		/* Wrap: what is left of the previous lap goes, and this lap's
		 * chains become the previous lap. */
		for (; w->old < w->top; w->old += chain_at(w->old)->len)
			chain_drop(w->old);
		w->top = w->head;
		w->old = 0;
		w->head = 0;
	}
	uint32_t at = w->head;
	for (; w->old < w->top && w->old < at + len; w->old += chain_at(w->old)->len)
		chain_drop(w->old);
	w->head = at + (uint32_t)len;
	h->len = (uint32_t)len;
	h->set = (uint16_t)set;
	h->way = (uint8_t)way;
	chain_t *c = chain_at(at);
	memcpy(c, h, sizeof(chain_t));
	memcpy(chain_off(c), b->pair_off, (size_t)h->npair * 4);
	memcpy(chain_off(c) + h->npair, b->single_off, (size_t)h->nsingle * 4);
	memcpy(chain_val(c), b->pair_val, (size_t)h->npair * 16);
	memcpy(chain_val(c) + 2 * h->npair, b->single_val, (size_t)h->nsingle * 8);
	memcpy(chain_fr(c), b->fr, nfr * 8);
	chain_tags_t *tg = &chain_tags()[set];
	tg->off[way] = at;
	tg->sp[way] = sp;
	tg->ip[way] = b->fr[0];
	return c;
}

/* Fills buf with up to cap return addresses starting at the return address
 * of the frame record at fp (unwind_capture's own, or the hook's when the
 * hook passed it: either holds the caller's RBP and the return address
 * into it, exactly the registers libunwind would restore for that frame).
 * Returns the count,
 * -1 when a frame has no rule yet or the walk would leave the part of the
 * stack known to be mapped (between fp and stack_top; learning helps), -3
 * when a frame is known to need libunwind, or -2 when the stack is one
 * cached chain and enough() says so (*idp is set, buf is not filled). */
static int fast_walk(uint64_t *buf, unsigned cap, const uintptr_t *fp, unwind_note_t **idp,
		     unwind_enough_fn *enough, const void *arg)
{
	uintptr_t lo = (uintptr_t)fp;
	uintptr_t top = stack_top;
	if (lo + 16 > top)
		return -1;
	uintptr_t ip = fp[1], sp = (uintptr_t)(fp + 2), bp = fp[0];
	const rule_tab_t *t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
	uint32_t epoch = __atomic_load_n(&tab_epoch, __ATOMIC_RELAXED);
	chain_build_t *build = NULL;
	chain_scratch_t *w = NULL;
	unsigned bset = 0, bway = 0; /* build's tag */
	uint64_t bsp = 0; /* build's key sp */
	unsigned j = 0, tried = 0, pieces = 0;
	unsigned n = 0;
	while (n < cap) {
		buf[n++] = ip;
		if (!tried && (ip < self_lo || ip >= self_hi)) {
			/* The first frame that is not ours, or where the chain
			 * before this one was cut. */
			tried = 1;
			int set = chain_set(ip, sp);
			if (set >= 0) {
				unsigned room = cap - (n - 1);
				chain_tags_t *tg = &chain_tags()[set];
				uint8_t *mru = &chain_scratch()->mru[set];
				for (unsigned o = 0; o < CHAIN_WAYS; o++) {
					unsigned i = (*mru + o) % CHAIN_WAYS;
					if (tg->ip[i] != ip || tg->sp[i] != sp)
						continue;
					chain_t *c = chain_at(tg->off[i]);
					if (!chain_match(c, sp, bp, room, epoch))
						continue;
					*mru = (uint8_t)i;
					/* The whole stack is this chain: the caller
					 * may need no frames. */
					if (enough && !pieces && !c->cont && c->lead == n - 1 &&
					    enough(&c->note, arg)) {
						*idp = &c->note;
						return -2;
					}
					const uint64_t *fr = chain_fr(c);
					memcpy(buf + n, fr + 1, (c->n - 1) * sizeof(uint64_t));
					n += c->n - 1;
					if (c->cont) {
						ip = fr[c->n];
						sp = c->next_sp;
						bp = c->next_bp;
						tried = 0;
						pieces++;
						goto next;
					}
					/* Same frames; the trimmed stack is the same
					 * if ours were as many (and it is one piece). */
					if (idp && !pieces && c->lead == n - c->n)
						*idp = &c->note;
					return (int)n;
				}
				w = chain_scratch();
				unsigned v = w->victim[set]++ % CHAIN_WAYS;
				build = &w->b;
				tg->ip[v] = 0; /* until finished */
				bset = (unsigned)set;
				bway = v;
				j = n - 1;
				bsp = sp;
				build->h.epoch = 0;
				build->h.bp = bp;
				build->h.room = (uint16_t)room;
				build->h.lead = (uint8_t)j;
				build->h.cont = 0;
				memset(build->h.note.data, 0, 8);
				build->h.note.serial = ++chain_serial;
			}
		}
		uint32_t r = rule_find(t, ip);
		unsigned kind = RULE_KIND(r);
		unsigned k = n - 1 - j;
		if (build) {
			build->fr[k] = ip;
			w->rule[k] = r;
		}
		if (kind == RK_END) {
			if (build && chain_finish(build, w, bsp, k + 1, epoch) == 0) {
				chain_t *c = chain_publish(w, build, bset, bway, bsp);
				if (idp && !pieces)
					*idp = &c->note;
			}
			return (int)n;
		}
		if (kind == RK_BAD)
			return -3; /* known: only libunwind can do this frame */
		if (kind != RK_RSP && kind != RK_RBP)
			return -1;
		uintptr_t cfa = (kind == RK_RSP ? sp : bp) + (uintptr_t)RULE_CFA_OFF(r);
		if (cfa <= sp || cfa > top)
			return -1;
		uintptr_t nip = *(const uintptr_t *)(cfa - 8);
		if (RULE_RBP_SAVED(r)) {
			uintptr_t slot = cfa + (uintptr_t)RULE_RBP_OFF(r);
			if (slot < lo || slot + 8 > top)
				return -1;
			bp = *(const uintptr_t *)slot;
		}
		if (nip == 0)
			return -1;
		if (build) {
			w->cfa[k] = cfa;
			w->nbp[k] = bp;
			if (k + 1 == CHAIN_MAX && n < cap) {
				/* Full: cut here; the next frame starts a chain of
				 * its own, looked up (or built) in turn. */
				build->h.cont = 1;
				build->fr[CHAIN_MAX] = nip;
				build->h.next_sp = cfa;
				build->h.next_bp = bp;
				if (chain_finish(build, w, bsp, CHAIN_MAX, epoch) == 0)
					chain_publish(w, build, bset, bway, bsp);
				build = NULL;
				tried = 0;
				pieces++;
			}
		}
		ip = nip;
		sp = cfa;
	next:;
	}
	if (build && chain_finish(build, w, bsp, n - j, epoch) == 0) {
		chain_t *c = chain_publish(w, build, bset, bway, bsp);
		if (idp && !pieces)
			*idp = &c->note;
	}
	return (int)n;
}

/* unwind_cached in any mode but libunwind's: fast_walk's first lookup
 * alone, for the hot path.  The whole stack from the hook's frame record
 * is one chain: the conditions of fast_walk's early return. */
unwind_note_t *unwind_cached_any(const uintptr_t *entry, unsigned max)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	if (mode == UNWIND_LIBUNWIND || !chains || (uintptr_t)entry <= (uintptr_t)fp ||
	    (uintptr_t)(entry + 2) > stack_top)
		return NULL;
	uint64_t ip = entry[1], sp = (uint64_t)(uintptr_t)(entry + 2), bp = entry[0];
	if (ip >= self_lo && ip < self_hi)
		return NULL;
	if (max > STACKS_MAX_FRAMES)
		max = STACKS_MAX_FRAMES;
	unsigned room = max + UNWIND_EXTRA;
	uint32_t epoch = __atomic_load_n(&tab_epoch, __ATOMIC_RELAXED);
	int set = chain_set(ip, sp);
	chain_tags_t *tg = &chain_tags()[set];
	uint8_t *mru = &chain_scratch()->mru[set];
	for (unsigned o = 0; o < CHAIN_WAYS; o++) {
		unsigned i = (*mru + o) % CHAIN_WAYS;
		if (tg->ip[i] != ip || tg->sp[i] != sp)
			continue;
		chain_t *c = chain_at(tg->off[i]);
		if (c->cont || c->lead || !chain_match(c, sp, bp, room, epoch))
			continue;
		*mru = (uint8_t)i;
		return &c->note;
	}
	return NULL;
}

unwind_note_t *unwind_cached(const uintptr_t *entry, unsigned max)
{
	return mode == UNWIND_FAST ? unwind_cached_any(entry, max) : NULL;
}

/* A hook called by a signal handler that interrupted a hook unwinds with
 * libunwind (unwind_capture_nested), whose per-thread caches are not
 * reentrant: while this thread is in libunwind for a hook, signals wait
 * (all but the faults an instruction raises, which cannot wait). */
static sigset_t hold_set;

static void hold_init(void)
{
	sigfillset(&hold_set);
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	for (unsigned i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&hold_set, faults[i]);
}

/* Set once the program installs a signal handler (sigproxy.c): until then
 * no handler can allocate, and the two system calls are saved. */
static int hold_wanted;

__thread int unwind_in_lib __attribute__((tls_model("initial-exec")));

void unwind_signals_may_allocate(void)
{
	__atomic_store_n(&hold_wanted, 1, __ATOMIC_RELAXED);
}

static inline int hold_signals(sigset_t *old)
{
	if (!__atomic_load_n(&hold_wanted, __ATOMIC_RELAXED))
		return 0;
	pthread_sigmask(SIG_BLOCK, &hold_set, old);
	return 1;
}

static inline void release_signals(int held, const sigset_t *old)
{
	if (held)
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- setup --------------------------------------------------------------- */

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
			int fd = util_fcntl(base, F_DUPFD_CLOEXEC, 0);
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

int unwind_init(uintptr_t lo, uintptr_t hi, int high_fd, int m)
{
	self_lo = lo;
	self_hi = hi;
	mode = m;
	hold_init();
	first_use_high(high_fd);
	if (!tab) {
		unsigned long long subs = 0;
		dl_iterate_phdr(subs_cb, &subs);
		seen_subs = subs;
		tab = tab_new(TAB_MIN_BITS);
		if (!tab) {
			mode = UNWIND_LIBUNWIND;
			return -ENOMEM;
		}
	}
	return 0;
}

void unwind_set_mode(int m)
{
	mode = tab ? m : UNWIND_LIBUNWIND;
}

int unwind_mode(void)
{
	return mode;
}

void unwind_get_stats(unwind_stats_t *out)
{
	out->checked = __atomic_load_n(&stat_checked, __ATOMIC_RELAXED);
	out->mismatches = __atomic_load_n(&stat_mismatches, __ATOMIC_RELAXED);
	out->fallback = __atomic_load_n(&stat_fallback, __ATOMIC_RELAXED);
}

/* ---- capture ----------------------------------------------------------------- */

/* The sigreturn trampoline (glibc's __restore_rt: a handler returns
 * into it), 0 until known; read off the kernel's record of a handler
 * glibc installed (every one gets the same restorer). */
static uintptr_t sig_tramp;

void unwind_find_sigreturn(void)
{
	struct {
		uintptr_t handler;
		unsigned long flags;
		uintptr_t restorer;
		uint64_t mask;
	} k;
	for (long sig = 1; sig < 65 && !__atomic_load_n(&sig_tramp, __ATOMIC_RELAXED); sig++)
		if (syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(k.mask)) == 0 && k.handler > 1 &&
		    (k.flags & 0x04000000 /* SA_RESTORER */) && k.restorer)
			__atomic_store_n(&sig_tramp, k.restorer, __ATOMIC_RELAXED);
}

static inline int ours(uint64_t ip)
{
	return ip >= self_lo && ip < self_hi;
}

/* From a raw list (innermost first): drops everything up to and including
 * the frame of unwind_capture itself (the entry before `anchor`, the
 * return address into our caller), then the recorder's own frames among
 * the next few, and cuts to max.  Moves the kept frames to out (out <=
 * raw + the first kept frame).
 *
 * A stack taken in a signal handler goes on, past the handler, at the
 * signal frame (the trampoline the handler returns to) and then the code
 * the signal interrupted.  The trampoline is dropped: it is no code of
 * the program's (it showed as an unsymbolized libc frame).  When the
 * signal interrupted the recorder (a hook, or the allocator a hook
 * called), the interrupted frames up to and including the last of ours
 * within the next few are dropped too, so the handler's block names the
 * handler, called from the code that called the interrupted hook.  Only
 * the leading run of our own frames is skipped at the start: skipping to
 * the last of ours attributed a handler's block to the code the signal
 * interrupted (issue 14, defect 3). */
static unsigned trim(const uint64_t *raw, int got, uint64_t anchor, uint64_t *out, unsigned max,
		     unsigned *flags)
{
	int a = 0;
	for (int i = 0; i < got && i < SKIP_SCAN; i++)
		if (raw[i] == anchor) {
			a = i;
			break;
		}
	int start = a;
	int scan = got - a < SKIP_SCAN ? got : a + SKIP_SCAN;
	for (int i = a; i < scan; i++) {
		if (ours(raw[i]))
			start = i + 1;
		else if (i > a)
			break;
	}
	uint64_t tramp = __atomic_load_n(&sig_tramp, __ATOMIC_RELAXED);
	unsigned n = 0;
	*flags = 0;
	/* No signal frame (the common case, also in a program that installed
	 * a handler): one block move, as before handler stacks were cut. */
	int t = start;
	if (tramp)
		while (t < got && raw[t] != tramp)
			t++;
	if (t >= got) {
		n = got > start ? (unsigned)(got - start) : 0;
		if (n > max) {
			n = max;
			*flags |= HT_STACK_TRUNCATED;
		}
		if (n && out != raw + start)
			memmove(out, raw + start, n * sizeof(uint64_t));
		return n;
	}
	for (int i = start; i < got; i++) {
		if (tramp && raw[i] == tramp) {
			int end = got - i - 1 < SKIP_SCAN ? got : i + 1 + SKIP_SCAN;
			int last = i;
			for (int k = i + 1; k < end; k++)
				if (ours(raw[k]))
					last = k;
			i = last;
			continue;
		}
		if (n == max) {
			*flags |= HT_STACK_TRUNCATED;
			break;
		}
		out[n++] = raw[i];
	}
	return n;
}

/* One capture's fixed inputs, taken in unwind_capture's own frame: the
 * mode functions below are inlined into it, so that libunwind, started
 * there, sees the same frames whichever mode runs. */
typedef struct capture {
	uint64_t *ips; /* out: room for cap */
	unsigned max; /* frames kept */
	unsigned cap; /* max + UNWIND_EXTRA: raw frames walked */
	unsigned *flags; /* out */
	const uintptr_t *start; /* frame record the fast walk starts at */
	uint64_t anchor; /* return address into unwind_capture's caller */
} capture_t;

/* libunwind mode: unw_backtrace, in place (a return address and a
 * uint64_t have the same representation here) to keep the hook's stack
 * frame small. */
static inline __attribute__((always_inline)) unsigned capture_libunwind(const capture_t *c)
{
	sigset_t old;
	int held = hold_signals(&old);
	unwind_in_lib = 1;
	int got = unw_backtrace((void **)c->ips, (int)c->cap);
	unwind_in_lib = 0;
	release_signals(held, &old);
	if (got < 0)
		got = 0;
	return trim(c->ips, got, c->anchor, c->ips, c->max, c->flags);
}

/* learn_stack, with signals held (see hold_signals). */
static void learn_stack_held(void)
{
	sigset_t old;
	int held = hold_signals(&old);
	learn_stack();
	release_signals(held, &old);
}

/* Fast mode: the fast walk (which may end early: then UNWIND_ENOUGH and
 * *id_slot), else libunwind, learning the rules it lacked for next time. */
static inline __attribute__((always_inline)) unsigned
capture_fast(const capture_t *c, unwind_note_t **id_slot, unwind_enough_fn *enough,
	     const void *arg)
{
	int got = fast_walk(c->ips, c->cap, c->start, id_slot, id_slot ? enough : NULL, arg);
	if (got > 0)
		return trim(c->ips, got, c->anchor, c->ips, c->max, c->flags);
	if (got == -2)
		return UNWIND_ENOUGH;
	unsigned n = capture_libunwind(c);
	__atomic_fetch_add(&stat_fallback, 1, __ATOMIC_RELAXED);
	if (got != -3)
		learn_stack_held();
	return n;
}

/* Verify mode wraps the other two: libunwind's stack is the one recorded,
 * the fast walk's (learning first if it cannot) is compared with it.  The
 * note is handed out only with a matching stack, so that the caller can
 * check what it noted too.  Never UNWIND_ENOUGH. */
static inline __attribute__((always_inline)) unsigned
capture_verify(const capture_t *c, unwind_note_t **id_slot)
{
	unsigned n = capture_libunwind(c);
	uint64_t fast[c->cap];
	int fgot = fast_walk(fast, c->cap, c->start, id_slot, NULL, NULL);
	if (fgot <= 0 && fgot != -3) {
		learn_stack_held();
		fgot = fast_walk(fast, c->cap, c->start, id_slot, NULL, NULL);
	}
	if (fgot <= 0) {
		__atomic_fetch_add(&stat_fallback, 1, __ATOMIC_RELAXED);
		return n;
	}
	unsigned fflags;
	unsigned fn = trim(fast, fgot, c->anchor, fast, c->max, &fflags);
	__atomic_fetch_add(&stat_checked, 1, __ATOMIC_RELAXED);
	if (fn != n || fflags != *c->flags || memcmp(fast, c->ips, n * sizeof(uint64_t))) {
		__atomic_fetch_add(&stat_mismatches, 1, __ATOMIC_RELAXED);
		if (id_slot)
			*id_slot = NULL;
	}
	return n;
}

/* Built with a frame pointer: its frame record starts the fast walk. */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) unsigned
unwind_capture(uint64_t *ips, unsigned max, unsigned *flags, unwind_note_t **id_slot,
	       unwind_enough_fn *enough, const void *arg, const uintptr_t *entry)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	/* The hook's frame record lies above ours (it is a caller); anything
	 * else is ignored rather than trusted. */
	const uintptr_t *start = fp;
	if (entry && (uintptr_t)entry > (uintptr_t)fp && (uintptr_t)(entry + 2) <= stack_top)
		start = entry;
	if (max > STACKS_MAX_FRAMES)
		max = STACKS_MAX_FRAMES;
	_Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit only");
	if (id_slot)
		*id_slot = NULL;
	capture_t c = { ips, max, max + UNWIND_EXTRA, flags, start,
			(uint64_t)(uintptr_t)__builtin_return_address(0) };
	switch (mode) {
	case UNWIND_FAST:
		return capture_fast(&c, id_slot, enough, arg);
	case UNWIND_VERIFY:
		return capture_verify(&c, id_slot);
	default:
		return capture_libunwind(&c);
	}
}

/* Frames walked by unwind_nested_from_handler: a handler's frames, the
 * signal frame and the allocator's, up to the hook it interrupted. */
#define NESTED_WALK 128

__attribute__((noinline)) int unwind_nested_from_handler(void)
{
	if (!self_hi)
		return -1; /* not set up: no native stacks */
	if (!__atomic_load_n(&hold_wanted, __ATOMIC_RELAXED))
		return 0; /* the program installed no handler through libc */
	if (HT_UNLIKELY(!__atomic_load_n(&sig_tramp, __ATOMIC_RELAXED)))
		unwind_find_sigreturn();
	uint64_t tramp = __atomic_load_n(&sig_tramp, __ATOMIC_RELAXED);
	if (!tramp)
		return -1;
	void *ips[NESTED_WALK];
	sigset_t old;
	/* A callback from the allocator is no handler: a signal may come
	 * while it walks, and libunwind must not be entered twice. */
	int held = hold_signals(&old);
	int was = unwind_in_lib;
	unwind_in_lib = 1;
	int got = unw_backtrace(ips, NESTED_WALK);
	unwind_in_lib = was;
	release_signals(held, &old);
	int i = 0;
	while (i < got && ours((uint64_t)(uintptr_t)ips[i]))
		i++; /* this walk and the hook that asks */
	for (; i < got; i++) {
		uint64_t ip = (uint64_t)(uintptr_t)ips[i];
		if (ip == tramp)
			return 1;
		if (ours(ip))
			return 0;
	}
	return -1;
}

/* The libunwind mode's walk alone: no chain cache, no learning (both
 * belong to the hook the signal interrupted).  Signals are not held:
 * a third level is counted lost by the hooks, never unwound. */
__attribute__((noinline)) unsigned unwind_capture_nested(uint64_t *ips, unsigned max,
							unsigned *flags)
{
	if (max > STACKS_MAX_FRAMES)
		max = STACKS_MAX_FRAMES;
	/* A handler is installed: its restorer is known to the kernel. */
	if (HT_UNLIKELY(!__atomic_load_n(&sig_tramp, __ATOMIC_RELAXED)))
		unwind_find_sigreturn();
	uint64_t anchor = (uint64_t)(uintptr_t)__builtin_return_address(0);
	int was = unwind_in_lib;
	unwind_in_lib = 1;
	int got = unw_backtrace((void **)ips, (int)(max + UNWIND_EXTRA));
	unwind_in_lib = was;
	if (got < 0)
		got = 0;
	return trim(ips, got, anchor, ips, max, flags);
}
