/* Stack grouping and filters: see group.h.  Keys are interned in a string
 * hash table; each stack's group is computed once. */
#include "agg/group.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "render/pytype.h"

#define MAX_FILTERS 32
#define KEY_MAX 4096

typedef struct gent {
	char *key;
	/* Representative frames: the frames_t cache for a traceback key,
	 * else `one` (a copy, so single-frame keys need no cached stacks). */
	const frame_t *frames;
	frame_t *one;
	int nframes;
} gent_t;

struct group {
	frames_t *frames;
	report_by_t by;
	gent_t *v;
	size_t n, cap;
	uint32_t *slots; /* hash table of ids + 1 (0 = empty) */
	size_t nslots;
	uint32_t *of; /* by sidx: group id + 1, 0 = not computed */
	size_t nof;
	uint32_t *scratch; /* cumulative ids */
	size_t nscratch;
	frame_t *fbuf; /* frames_copy target */
	int nfbuf;
	uint8_t *pass; /* by sidx: 0 = not computed, 1 = passes, 2 = not */
	size_t npass;
	const char *inc[MAX_FILTERS], *exc[MAX_FILTERS];
	int ninc, nexc;
	char buf[KEY_MAX];
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

group_t *group_new(frames_t *frames, report_by_t by)
{
	group_t *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->frames = frames;
	g->by = by;
	return g;
}

void group_free(group_t *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].key);
		free(g->v[i].one);
	}
	free(g->v);
	free(g->fbuf);
	free(g->pass);
	free(g->slots);
	free(g->of);
	free(g->scratch);
	free(g);
}

static int rehash(group_t *g)
{
	size_t ns = g->nslots ? g->nslots * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		size_t j = hash_str(g->v[i].key) & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(g->slots);
	g->slots = s;
	g->nslots = ns;
	return 0;
}

/* Interns key; frames are recorded for a new key only. */
static uint32_t intern(group_t *g, const char *key, const frame_t *frames,
		       int nframes)
{
	if ((g->n + 1) * 2 > g->nslots && rehash(g) < 0)
		return GROUP_NONE;
	size_t j = hash_str(key) & (g->nslots - 1);
	while (g->slots[j]) {
		uint32_t id = g->slots[j] - 1;
		if (strcmp(g->v[id].key, key) == 0)
			return id;
		j = (j + 1) & (g->nslots - 1);
	}
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 256;
		gent_t *nv = realloc(g->v, nc * sizeof(*nv));
		if (!nv)
			return GROUP_NONE;
		g->v = nv;
		g->cap = nc;
	}
	char *k = strdup(key);
	if (!k)
		return GROUP_NONE;
	g->v[g->n].one = NULL;
	if (g->by != BY_TRACEBACK && nframes == 1) {
		/* frames points into g->fbuf: keep a copy. */
		frame_t *one = malloc(sizeof(*one));
		if (!one) {
			free(k);
			return GROUP_NONE;
		}
		*one = frames[0];
		g->v[g->n].one = one;
		frames = one;
	}
	g->v[g->n].key = k;
	g->v[g->n].frames = frames;
	g->v[g->n].nframes = nframes;
	g->slots[j] = (uint32_t)g->n + 1;
	return (uint32_t)g->n++;
}

/* Uncached frames of stack i into g->fbuf.  Returns their count or
 * -errno. */
static int copy_frames(group_t *g, sidx_t i)
{
	if (!g->fbuf) {
		g->fbuf = malloc(64 * sizeof(*g->fbuf));
		if (!g->fbuf)
			return -ENOMEM;
		g->nfbuf = 64;
	}
	int n = frames_copy(g->frames, i, g->fbuf, g->nfbuf);
	if (n < 0)
		return n;
	if (n > g->nfbuf) {
		frame_t *nb = realloc(g->fbuf, (size_t)n * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		g->fbuf = nb;
		g->nfbuf = n;
		n = frames_copy(g->frames, i, g->fbuf, g->nfbuf);
	}
	return n;
}

/* The frame that keys stack i, as tracemalloc's innermost frame: the
 * innermost Python frame when the display frames hold one (so an
 * allocation made by the interpreter or a C extension on behalf of a
 * Python line is that line's, as in tracemalloc), else the innermost frame
 * (frames_key).  Returns a pointer into g->fbuf, NULL for an empty stack;
 * *err < 0 on failure. */
static const frame_t *key_frame(group_t *g, sidx_t i, int *err)
{
	if (!g->fbuf) {
		g->fbuf = malloc(64 * sizeof(*g->fbuf));
		if (!g->fbuf) {
			*err = -ENOMEM;
			return NULL;
		}
		g->nfbuf = 64;
	}
	/* --by site: the first frame that is not a system frame. */
	int n = g->by == BY_SITE ? frames_site(g->frames, i, g->fbuf) :
				   frames_key(g->frames, i, g->fbuf);
	*err = n < 0 ? n : 0;
	return n > 0 ? g->fbuf : NULL;
}

/* --by type: what the allocation is, from its native frames (all of them,
 * cached: the rules look past the innermost). */
static uint32_t compute_type(group_t *g, sidx_t i)
{
	const frame_t *fr;
	int n = frames_get(g->frames, i, &fr);
	if (n < 0)
		return GROUP_NONE;
	int minor = 0;
	for (int k = 0; k < n && !minor; k++)
		minor = pytype_minor(fr[k].module);
	return intern(g, pytype_of(fr, n, minor), fr, 0);
}

static uint32_t compute(group_t *g, sidx_t i)
{
	const frame_t *fr;
	if (g->by == BY_TYPE)
		return compute_type(g, i);
	if (g->by != BY_TRACEBACK) {
		int err;
		const frame_t *kf = key_frame(g, i, &err);
		if (err < 0)
			return GROUP_NONE;
		if (!kf)
			return intern(g, "<no stack>", g->fbuf, 0);
		report_frame_key(g->buf, sizeof(g->buf), g->frames, kf, g->by);
		return intern(g, g->buf, kf, 1);
	}
	int n = frames_get(g->frames, i, &fr);
	if (n < 0)
		return GROUP_NONE;
	if (n == 0)
		return intern(g, "<no stack>", fr, 0);
	/* Whole traceback: frame lines joined by newlines. */
	size_t at = 0;
	char line[1024];
	for (int k = 0; k < n && at + 1 < sizeof(g->buf); k++) {
		report_frame_line(line, sizeof(line), g->frames, &fr[k]);
		int w = snprintf(g->buf + at, sizeof(g->buf) - at, "%s%s",
				 k ? "\n" : "", line);
		if (w < 0)
			break;
		at += (size_t)w;
	}
	return intern(g, g->buf, fr, n);
}

uint32_t group_of_stack(group_t *g, sidx_t i)
{
	if (i >= g->nof) {
		size_t n = g->nof ? g->nof : 1024;
		while (n <= i)
			n *= 2;
		uint32_t *no = realloc(g->of, n * sizeof(*no));
		if (!no)
			return GROUP_NONE;
		memset(no + g->nof, 0, (n - g->nof) * sizeof(*no));
		g->of = no;
		g->nof = n;
	}
	if (!g->of[i]) {
		uint32_t id = compute(g, i);
		if (id == GROUP_NONE)
			return GROUP_NONE;
		g->of[i] = id + 1;
	}
	return g->of[i] - 1;
}

int group_keys_of_stack(group_t *g, sidx_t i, const uint32_t **ids)
{
	const frame_t *fr;
	bool whole = g->by == BY_TRACEBACK || g->by == BY_TYPE;
	int n = whole ? 0 : copy_frames(g, i), m = 0;
	if (n < 0)
		return n;
	fr = g->fbuf;
	if ((size_t)n + 1 > g->nscratch) {
		uint32_t *ns = realloc(g->scratch, ((size_t)n + 1) * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		g->scratch = ns;
		g->nscratch = (size_t)n + 1;
	}
	if (n == 0 || whole) {
		uint32_t id = group_of_stack(g, i);
		if (id == GROUP_NONE)
			return -ENOMEM;
		g->scratch[0] = id;
		*ids = g->scratch;
		return 1;
	}
	/* Cumulative sites: every frame of the user's (all of them when
	 * every frame is a system frame); never the cut markers. */
	bool user = false;
	for (int k = 0; g->by == BY_SITE && k < n && !user; k++)
		user = !fr[k].marker && !frames_is_system(g->frames, &fr[k]);
	for (int k = 0; k < n; k++) {
		if (fr[k].marker == SYM_MARK_CUT_DEPTH ||
		    fr[k].marker == SYM_MARK_CUT_RECORDER ||
		    (user && frames_is_system(g->frames, &fr[k])))
			continue;
		report_frame_key(g->buf, sizeof(g->buf), g->frames, &fr[k], g->by);
		uint32_t id = intern(g, g->buf, &fr[k], 1);
		if (id == GROUP_NONE)
			return -ENOMEM;
		int dup = 0;
		for (int q = 0; q < m && !dup; q++)
			dup = g->scratch[q] == id;
		if (!dup)
			g->scratch[m++] = id;
	}
	*ids = g->scratch;
	return m;
}

const char *group_key(const group_t *g, uint32_t id)
{
	return id < g->n ? g->v[id].key : "";
}

int group_frames(const group_t *g, uint32_t id, const frame_t **frames)
{
	if (id >= g->n) {
		*frames = NULL;
		return 0;
	}
	*frames = g->v[id].frames;
	return g->v[id].nframes;
}

int group_add_filter(group_t *g, const char *pattern, bool include)
{
	if (include) {
		if (g->ninc >= MAX_FILTERS)
			return -ENOSPC;
		g->inc[g->ninc++] = pattern;
	} else {
		if (g->nexc >= MAX_FILTERS)
			return -ENOSPC;
		g->exc[g->nexc++] = pattern;
	}
	return 0;
}

bool group_has_filters(const group_t *g)
{
	return g->ninc || g->nexc;
}

static bool match_any(const char *const *pats, int n, const char *file,
		      const char *module)
{
	for (int i = 0; i < n; i++) {
		if (file && fnmatch(pats[i], file, 0) == 0)
			return true;
		if (!file && module && fnmatch(pats[i], module, 0) == 0)
			return true;
	}
	return false;
}

static bool passes(group_t *g, sidx_t i)
{
	int err;
	const frame_t *kf = key_frame(g, i, &err);
	const char *file = kf ? kf->file : NULL;
	const char *module = kf ? frames_module_name(g->frames, kf) : NULL;
	const char *full = kf ? kf->module : NULL;
	/* Match the module both as basename and as full path. */
	bool inc = !g->ninc || match_any(g->inc, g->ninc, file, module) ||
		   (!file && match_any(g->inc, g->ninc, NULL, full));
	if (!inc)
		return false;
	if (g->nexc && (match_any(g->exc, g->nexc, file, module) ||
			(!file && match_any(g->exc, g->nexc, NULL, full))))
		return false;
	return true;
}

bool group_stack_passes(group_t *g, sidx_t i)
{
	if (!g->ninc && !g->nexc)
		return true;
	if (i >= g->npass) {
		size_t n = g->npass ? g->npass : 1024;
		while (n <= i)
			n *= 2;
		uint8_t *np = realloc(g->pass, n);
		if (!np)
			return passes(g, i);
		memset(np + g->npass, 0, n - g->npass);
		g->pass = np;
		g->npass = n;
	}
	if (!g->pass[i])
		g->pass[i] = passes(g, i) ? 1 : 2;
	return g->pass[i] == 1;
}
