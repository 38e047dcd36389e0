/* stackid: see stackid.h. */
#include "stackid.h"

#include "modules.h"
#include "pymemo.h"
#include "stacks.h"

/* The id of the stack whose native part memo's chain gives, with the
 * Python frames py, when the memo or this thread's table of other Python
 * frames (pymemo) knows it; 0 otherwise. */
static inline uint32_t known_id(const unwind_memo_t *memo, const unwind_py_t *py)
{
	if (unwind_memo_same(memo, py))
		return memo->id;
	return py->m ? pymemo_find(memo->serial, py->code, py->line, py->m) : 0;
}

uint32_t stackid_capture(const uintptr_t *entry)
{
	/* Sized by the configured depth: hooks may run on small stacks. */
	uint64_t ips[ht_session.depth + UNWIND_EXTRA];
	uint32_t pc[PYFRAMES_MAX], pl[PYFRAMES_MAX];
	unsigned flags = 0, n = 0, m = 0;
	int pm = pyframes_capture(pc, pl, PYFRAMES_MAX);
	m = pm > 0 ? (unsigned)pm : 0;
	unwind_memo_t *memo = NULL;
	unwind_py_t py = { pc, pl, m };
	/* Verify mode: what the hot path would have said is checked below. */
	uint32_t foreseen = 0;
	if (entry && ht_session.unwind) {
		uint32_t id;
		if ((memo = unwind_known(entry, ht_session.depth)) != NULL &&
		    (id = known_id(memo, &py)) != 0)
			return id;
		if (HT_UNLIKELY(unwind_mode() == UNWIND_VERIFY) &&
		    (memo = unwind_lookup(entry, ht_session.depth)) != NULL)
			foreseen = known_id(memo, &py);
	}
	if (ht_session.unwind) {
		n = unwind_capture(ips, ht_session.depth, &flags, &memo, &py, entry);
		/* Recognised, Python frames included: the id is known. */
		if (n == UNWIND_KNOWN)
			return memo->id;
	}
	/* Verify mode: a memo that would have been used is checked against
	 * interning instead. */
	uint32_t noted = memo && unwind_memo_same(memo, &py) ? memo->id : 0;
	int is_new;
	uint32_t gen = modules_gen();
	uint32_t id = stacks_intern(ips, n, pc, pl, m, flags, gen, &is_new);
	if ((HT_UNLIKELY(noted) && noted != id) || (HT_UNLIKELY(foreseen) && foreseen != id))
		unwind_memo_mismatch();
	if (memo && m <= UNWIND_MEMO_PY) {
		memo->id = id;
		memo->m = m;
		for (unsigned i = 0; i < m; i++) {
			memo->py[i] = pc[i];
			memo->py[UNWIND_MEMO_PY + i] = pl[i];
		}
	}
	/* The memo holds the latest Python frames; the others stay found. */
	if (memo && m)
		pymemo_put(memo->serial, pc, pl, m, id);
	/* A new stack may name a module loaded since the last map: refresh
	 * here, in producer context, before the event is committed (the
	 * writer writes the newest map before any new STACK).  Code may have
	 * moved: the unwinder's learned rules go too. */
	if (is_new && ht_session.unwind && modules_refresh(0) != gen)
		unwind_flush();
	return id;
}

void stackid_thread_exit(void)
{
	unwind_thread_exit();
	pymemo_thread_exit();
}

void stackid_reset_child(void)
{
	stacks_reset_child();
	unwind_forget_ids();
}
