/* massif.out writer: see massif.h.  Each snapshot's tree is built as a
 * trie of display frames from the innermost (the allocation site, just
 * under the root) to the outermost (main), as massif draws it. */
#include "render/massif.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/fmt.h"
#include "render/report.h"

/* Below this share of the snapshot's heap a node is merged (massif's
 * default --threshold=1.0). */
#define MASSIF_THRESHOLD_PCT 1.0

typedef struct node {
	const frame_t *fr; /* NULL for the root */
	uint64_t bytes;
	uint32_t child, next; /* first child, next sibling: indexes, 0 = none */
} node_t;

typedef struct tree {
	node_t *n;
	size_t len, cap;
} tree_t;

static int64_t t_new(tree_t *t, const frame_t *fr)
{
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		node_t *p = realloc(t->n, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		t->n = p;
		t->cap = cap;
	}
	t->n[t->len] = (node_t){ .fr = fr };
	return (int64_t)t->len++;
}

static bool same_frame(const frame_t *a, const frame_t *b)
{
	return a->address == b->address && a->line == b->line &&
	       (a->function == b->function ||
		(a->function && b->function && strcmp(a->function, b->function) == 0)) &&
	       (a->file == b->file ||
		(a->file && b->file && strcmp(a->file, b->file) == 0));
}

static int t_add(tree_t *t, const frame_t *fr, int k, uint64_t bytes)
{
	uint32_t at = 0;
	t->n[0].bytes += bytes;
	for (int j = 0; j < k; j++) {
		uint32_t c = t->n[at].child;
		while (c && !same_frame(t->n[c].fr, &fr[j]))
			c = t->n[c].next;
		if (!c) {
			int64_t id = t_new(t, &fr[j]);
			if (id < 0)
				return (int)id;
			c = (uint32_t)id;
			t->n[c].next = t->n[at].child;
			t->n[at].child = c;
		}
		t->n[c].bytes += bytes;
		at = c;
	}
	return 0;
}

static int by_bytes_desc(const void *a, const void *b, void *arg)
{
	const node_t *n = arg;
	uint64_t x = n[*(const uint32_t *)a].bytes, y = n[*(const uint32_t *)b].bytes;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int t_print(FILE *out, tree_t *t, frames_t *f, uint32_t at, int depth,
		   uint64_t total)
{
	size_t nk = 0, nsmall = 0, nall = 0;
	uint64_t small = 0;
	for (uint32_t c = t->n[at].child; c; c = t->n[c].next)
		nall++;
	/* On the heap: the recursion is as deep as the deepest stack. */
	uint32_t *kids = malloc((nall ? nall : 1) * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	for (uint32_t c = t->n[at].child; c; c = t->n[c].next) {
		if ((double)t->n[c].bytes * 100.0 < MASSIF_THRESHOLD_PCT * (double)total) {
			nsmall++;
			small += t->n[c].bytes;
		} else {
			kids[nk++] = c;
		}
	}
	qsort_r(kids, nk, sizeof(kids[0]), by_bytes_desc, t->n);
	char buf[512];
	fprintf(out, "%*sn%zu: %" PRIu64 " ", depth, "", nk + (nsmall ? 1 : 0),
		t->n[at].bytes);
	if (at == 0)
		fputs("(heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n", out);
	else
		fprintf(out, "0x%" PRIx64 ": %s\n", t->n[at].fr->address,
			report_frame_line(buf, sizeof(buf), f, t->n[at].fr));
	for (size_t i = 0; i < nk; i++) {
		int rc = t_print(out, t, f, kids[i], depth + 1, total);
		if (rc < 0) {
			free(kids);
			return rc;
		}
	}
	free(kids);
	if (nsmall)
		fprintf(out, "%*sn0: %" PRIu64 " in %zu place%s, below massif's threshold (%.2f%%)\n",
			depth + 1, "", small, nsmall, nsmall == 1 ? "" : "s",
			MASSIF_THRESHOLD_PCT);
	return 0;
}

int massif_write(FILE *out, frames_t *f, const char *cmd,
		 const massif_snap_t *snaps, size_t nsnaps)
{
	tree_t t = { 0 };
	int rc = 0;
	fprintf(out, "desc: heaptrail export --format massif\ncmd: %s\ntime_unit: ms\n",
		cmd && *cmd ? cmd : "(unknown)");
	for (size_t s = 0; s < nsnaps; s++) {
		const massif_snap_t *sn = &snaps[s];
		fprintf(out, "#-----------\nsnapshot=%zu\n#-----------\n"
			"time=%" PRIu64 "\nmem_heap_B=%" PRIu64 "\n"
			"mem_heap_extra_B=0\nmem_stacks_B=0\n",
			s, fmt_round_us(sn->time_us, 1000) / 1000, sn->heap_bytes);
		t.len = 0;
		if ((rc = (int)t_new(&t, NULL)) < 0)
			goto fail;
		for (size_t i = 0; i < sn->n; i++) {
			if (!sn->bytes[i])
				continue;
			const frame_t *fr;
			int k = frames_get(f, (sidx_t)i, &fr);
			if (k < 0) {
				rc = k;
				goto fail;
			}
			if ((rc = t_add(&t, fr, k, sn->bytes[i])) < 0)
				goto fail;
		}
		fprintf(out, "heap_tree=%s\n", sn->peak ? "peak" : "detailed");
		/* The root is the heap's total, as massif's is. */
		t.n[0].bytes = sn->heap_bytes > t.n[0].bytes ? sn->heap_bytes : t.n[0].bytes;
		if ((rc = t_print(out, &t, f, 0, 0, t.n[0].bytes)) < 0)
			goto fail;
	}
	rc = ferror(out) ? -EIO : 0;
fail:
	free(t.n);
	return rc;
}
