/* pyframes/profile.c: the profile-function fallback (debug and
 * free-threaded builds, versions without a layout row,
 * HEAPTRAIL_PYTHON_FRAMES=profile): per-thread shadow stacks kept by a C
 * profile function, and captures copied from them.  The profile function
 * runs with the GIL; captures run on any thread (see pyframes.c). */
#include "pyframes/internal.h"

#include "util.h"

#include <errno.h>
#include <string.h>

__thread pystack_t *tls_stack __attribute__((tls_model("initial-exec")));

void pyf_stack_release(void *p)
{
	pystack_t *s = p;
	if (tls_stack == s)
		tls_stack = NULL;
	/* Frames still on it (a thread that ended without RETURN events)
	 * keep their references: we may not touch Python here. */
	s->depth = 0;
	s->overflow = 0;
	pthread_mutex_lock(&pyf.lock);
	s->next_free = pyf.free_stacks;
	pyf.free_stacks = s;
	pthread_mutex_unlock(&pyf.lock);
}

pystack_t *pyf_stack_get(void)
{
	pystack_t *s = tls_stack;
	if (s)
		return s;
	pthread_mutex_lock(&pyf.lock);
	s = pyf.free_stacks;
	if (s)
		pyf.free_stacks = s->next_free;
	pthread_mutex_unlock(&pyf.lock);
	if (!s) {
		s = pyf_map(STACK_BYTES);
		if (!s)
			return NULL;
	}
	s->depth = 0;
	s->overflow = 0;
	s->next_free = NULL;
	if (pyf.key_ok)
		pthread_setspecific(pyf.key, s);
	tls_stack = s;
	return s;
}

static void push(pystack_t *s, void *frame, uint32_t code, uintptr_t sp)
{
	if (s->depth >= STACK_CAP || s->overflow) {
		s->overflow++;
		return;
	}
	pyapi.IncRef(frame);
	pyent_t *e = &s->ent[s->depth];
	e->frame = frame;
	e->code = code;
	e->sp = sp;
	e->line = 0;
	if (s->depth)
		s->ent[s->depth - 1].line &= ~LINE_FRESH; /* caller moved */
	/* A capture from a signal handler must not see a half entry. */
	atomic_signal_fence(memory_order_release);
	s->depth++;
}

static void pop(pystack_t *s, void *frame)
{
	if (s->overflow) {
		s->overflow--;
		return;
	}
	uint32_t d = s->depth;
	uint32_t k = d;
	while (k > 0 && s->ent[k - 1].frame != frame)
		k--;
	if (k == 0)
		return; /* entered before we were installed */
	/* Entries above it missed their RETURN: drop them too. */
	s->depth = k - 1;
	atomic_signal_fence(memory_order_release);
	for (uint32_t i = d; i-- > k - 1;)
		pyapi.DecRef(s->ent[i].frame);
}

int pyf_profile_fn(PyObject *obj, void *frame, int what, PyObject *arg)
{
	(void)obj;
	(void)arg;
	if (what == PYTRACE_CALL) {
		pystack_t *s = pyf_stack_get();
		if (!s)
			return 0;
		PyObject *code = pyapi.Frame_GetCode(frame);
		uint32_t id = code ? pyf_code_intern(code) : 0;
		if (code)
			pyapi.DecRef(code);
		if (!id)
			id = pyf.boundary_id; /* keeps push/pop paired */
		push(s, frame, id, (uintptr_t)__builtin_frame_address(0));
	} else if (what == PYTRACE_RETURN) {
		pystack_t *s = tls_stack;
		if (s)
			pop(s, frame);
	}
	return 0;
}

/* Pushes frame and its callers (outermost first) as the stack's base. */
void pyf_seed(pystack_t *s, void *frame)
{
	void *chain[512];
	int n = 0;
	if (!frame)
		return;
	pyapi.IncRef(frame);
	for (void *f = frame; f && n < 512;) {
		chain[n++] = f; /* reference owned by chain[] */
		f = pyapi.Frame_GetBack(f);
	}
	/* Frames already on the stack (an install repeated) are skipped. */
	int skip = 0;
	for (uint32_t i = 0; i < s->depth && skip < n; i++)
		if (s->ent[i].frame == chain[n - 1 - skip])
			skip++;
	for (int i = n - 1 - skip; i >= 0; i--) {
		PyObject *code = pyapi.Frame_GetCode(chain[i]);
		uint32_t id = code ? pyf_code_intern(code) : 0;
		if (code)
			pyapi.DecRef(code);
		/* sp 0: one native invocation for all seeded frames on 3.11+
		 * (they are the thread's bootstrap, run inline). */
		push(s, chain[i], id ? id : pyf.boundary_id, 0);
	}
	for (int i = 0; i < n; i++)
		pyapi.DecRef(chain[i]);
}

/* Whether the entry at index i (not the bottom one) was entered by a new
 * native evaluation-loop invocation rather than inline by its caller.
 * Inline entries share the caller's sp exactly; a new invocation is deeper
 * by at least the evaluation loop's own frame. */
static inline int is_entry(const pystack_t *s, uint32_t i)
{
	if (pyf.every_frame_entry)
		return 1;
	uintptr_t sp = s->ent[i].sp, below = s->ent[i - 1].sp;
	return sp != below;
}

int pyf_profile_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	pystack_t *s = tls_stack;
	if (!s)
		return 0;
	uint32_t d = s->depth;
	atomic_signal_fence(memory_order_acquire);
	if (!d)
		return 0;
	int gil = pyapi.GILState_Check() == 1;
	int n = 0;
	for (uint32_t i = d; i-- > 0 && n < max;) {
		pyent_t *e = &s->ent[i];
		uint32_t line = e->line;
		if (gil && (i == d - 1 || !(line & LINE_FRESH))) {
			int l = pyapi.Frame_GetLineNumber(e->frame);
			if (l > 0) {
				line = (uint32_t)l | LINE_FRESH;
				e->line = line;
			}
		}
		line &= ~LINE_FRESH;
		if (!line) {
			const codeinfo_t *ci = pyf_info_at(e->code);
			line = ci ? ci->firstline : 0;
		}
		code_ids[n] = e->code;
		lines[n] = line;
		n++;
		if (i > 0 && n < max && is_entry(s, i)) {
			code_ids[n] = pyf.boundary_id;
			lines[n] = 0;
			n++;
		}
	}
	if (n > 1 && code_ids[n - 1] == pyf.boundary_id && lines[n - 1] == 0)
		n--; /* truncated right after a boundary */
	return n;
}
