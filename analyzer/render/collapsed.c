/* Folded stacks: see collapsed.h.  Stacks whose display frames are the
 * same (two native stacks under one Python line, or differing only in
 * frames hidden from display) are merged into one line: each line's text
 * is built, the lines are sorted, equal neighbours summed. */
#include "render/collapsed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/report.h"

typedef struct row {
	char *stack; /* "outer;...;inner", malloc'd */
	uint64_t bytes;
} row_t;

/* A frame name as the folded format allows it: no ';' (the separator) and
 * no newline. */
static void put_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' ? ' ' : *s, out);
}

static int by_stack(const void *a, const void *b)
{
	return strcmp(((const row_t *)a)->stack, ((const row_t *)b)->stack);
}

int collapsed_write(FILE *out, frames_t *f, const uint64_t *bytes, size_t n)
{
	char buf[512];
	row_t *rows = NULL;
	size_t nrows = 0, cap = 0;
	int rc = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!bytes[i])
			continue;
		const frame_t *fr;
		int k = frames_get(f, (sidx_t)i, &fr);
		if (k < 0) {
			rc = k;
			goto fail;
		}
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		if (!m)
			goto fail;
		if (k == 0)
			fputs("<unknown>", m);
		for (int j = k - 1; j >= 0; j--) {
			put_name(m, report_frame_key(buf, sizeof(buf), f, &fr[j],
						     BY_FUNCTION));
			if (j)
				fputc(';', m);
		}
		if (fclose(m) != 0 || !text) {
			free(text);
			goto fail;
		}
		if (nrows == cap) {
			size_t c = cap ? cap * 2 : 256;
			row_t *r = realloc(rows, c * sizeof(*r));
			if (!r) {
				free(text);
				goto fail;
			}
			rows = r;
			cap = c;
		}
		rows[nrows++] = (row_t){ text, bytes[i] };
	}
	if (nrows)
		qsort(rows, nrows, sizeof(rows[0]), by_stack);
	for (size_t i = 0; i < nrows;) {
		uint64_t sum = 0;
		size_t j = i;
		for (; j < nrows && strcmp(rows[j].stack, rows[i].stack) == 0; j++)
			sum += rows[j].bytes;
		fprintf(out, "%s %" PRIu64 "\n", rows[i].stack, sum);
		i = j;
	}
	rc = ferror(out) ? -EIO : 0;
fail:
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].stack);
	free(rows);
	return rc;
}
