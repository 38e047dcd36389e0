/* notices: see notices.h. */
#include "read/notices.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "read/index.h"

/* One trace's notices.  A command reads at most two traces (diff). */
typedef struct trace_notes {
	char *trace;
	char **list; /* shown before (from the index), then now */
	size_t n, cap;
	bool fresh; /* some shown for the first time: save them */
} trace_notes_t;

#define MAX_TRACES 4

static trace_notes_t traces[MAX_TRACES];
static size_t ntraces;
static bool always;

static trace_notes_t *find(const char *trace, bool add)
{
	for (size_t i = 0; i < ntraces; i++)
		if (!strcmp(traces[i].trace, trace))
			return &traces[i];
	if (!add || ntraces == MAX_TRACES)
		return NULL;
	trace_notes_t *t = &traces[ntraces];
	memset(t, 0, sizeof(*t));
	if (!(t->trace = strdup(trace)))
		return NULL;
	ntraces++;
	return t;
}

void notices_load(const char *trace)
{
	struct stat st;
	if (find(trace, false) || !index_enabled() || stat(trace, &st) < 0)
		return;
	trace_notes_t *t = find(trace, true);
	if (t && index_notices_load(trace, &st, &t->list, &t->n) == 0)
		t->cap = t->n;
}

bool notices_show(const char *trace, const char *text)
{
	trace_notes_t *t = find(trace, true);
	if (!t)
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->list[i], text))
			return always;
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 8;
		char **nl = realloc(t->list, nc * sizeof(*nl));
		if (!nl)
			return true;
		t->list = nl;
		t->cap = nc;
	}
	char *s = strdup(text);
	if (s) {
		t->list[t->n++] = s;
		t->fresh = true;
	}
	return true;
}

void notices_always(bool on)
{
	always = on;
}

size_t notices_list(const char *trace, const char *const **list)
{
	trace_notes_t *t = find(trace, false);
	*list = t ? (const char *const *)t->list : NULL;
	return t ? t->n : 0;
}

void notices_save(void)
{
	for (size_t i = 0; i < ntraces; i++) {
		trace_notes_t *t = &traces[i];
		struct stat st;
		if (t->fresh && index_enabled() && stat(t->trace, &st) == 0)
			index_notices_set(t->trace, &st, (const char *const *)t->list, t->n);
		for (size_t k = 0; k < t->n; k++)
			free(t->list[k]);
		free(t->list);
		free(t->trace);
	}
	ntraces = 0;
}
