/* Folded stacks: see collapsed.h. */
#include "render/collapsed.h"

#include <errno.h>
#include <inttypes.h>

#include "render/report.h"

/* A frame name as the folded format allows it: no ';' (the separator) and
 * no newline. */
static void put_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' ? ' ' : *s, out);
}

int collapsed_write(FILE *out, frames_t *f, const uint64_t *bytes, size_t n)
{
	char buf[512];
	for (size_t i = 0; i < n; i++) {
		if (!bytes[i])
			continue;
		const frame_t *fr;
		int k = frames_get(f, (sidx_t)i, &fr);
		if (k < 0)
			return k;
		if (k == 0)
			fputs("<unknown>", out);
		for (int j = k - 1; j >= 0; j--) {
			put_name(out, report_frame_key(buf, sizeof(buf), f, &fr[j],
						       BY_FUNCTION));
			if (j)
				fputc(';', out);
		}
		fprintf(out, " %" PRIu64 "\n", bytes[i]);
	}
	return ferror(out) ? -EIO : 0;
}
