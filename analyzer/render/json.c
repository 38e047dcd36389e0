/* JSON writer and renderers: see json.h. */
#include "render/json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "render/report.h"

void json_init(json_t *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void json_pre(json_t *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->depth < 64) {
		if (j->need_comma[j->depth])
			fputc(',', j->out);
		j->need_comma[j->depth] = true;
	}
}

static void json_open(json_t *j, char c)
{
	json_pre(j);
	fputc(c, j->out);
	j->depth++;
	if (j->depth < 64)
		j->need_comma[j->depth] = false;
}

static void json_close(json_t *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->out);
}

void json_obj_begin(json_t *j)
{
	json_open(j, '{');
}

void json_obj_end(json_t *j)
{
	json_close(j, '}');
}

void json_arr_begin(json_t *j)
{
	json_open(j, '[');
}

void json_arr_end(json_t *j)
{
	json_close(j, ']');
}

static void json_raw_str(FILE *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', o);
	while (*p) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', o);
			fputc(c, o);
			p++;
		} else if (c < 0x20) {
			fprintf(o, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			fputc(c, o);
			p++;
		} else {
			/* Pass valid UTF-8 through; escape stray bytes as
			 * Latin-1 so the document stays valid. */
			int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
				(c & 0xf8) == 0xf0 ? 4 : 0;
			int ok = n > 0;
			for (int i = 1; ok && i < n; i++)
				ok = (p[i] & 0xc0) == 0x80;
			if (ok) {
				fwrite(p, 1, (size_t)n, o);
				p += n;
			} else {
				fprintf(o, "\\u%04x", c);
				p++;
			}
		}
	}
	fputc('"', o);
}

void json_key(json_t *j, const char *key)
{
	json_pre(j);
	json_raw_str(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

void json_str(json_t *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_pre(j);
	json_raw_str(j->out, s);
}

void json_u64(json_t *j, uint64_t v)
{
	json_pre(j);
	fprintf(j->out, "%" PRIu64, v);
}

void json_i64(json_t *j, int64_t v)
{
	json_pre(j);
	fprintf(j->out, "%" PRId64, v);
}

void json_double(json_t *j, double v)
{
	json_pre(j);
	if (isfinite(v))
		fprintf(j->out, "%.6g", v);
	else
		fputs("null", j->out);
}

void json_bool(json_t *j, bool v)
{
	json_pre(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(json_t *j)
{
	json_pre(j);
	fputs("null", j->out);
}

void json_finish(json_t *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}

void json_frame(json_t *j, const frames_t *f, const frame_t *fr)
{
	char a[64];
	json_obj_begin(j);
	json_key(j, "function");
	json_str(j, fr->function);
	json_key(j, "file");
	json_str(j, fr->file);
	json_key(j, "line");
	json_u64(j, fr->line);
	json_key(j, "module");
	json_str(j, report_frame_module(f, fr));
	json_key(j, "address");
	if (fr->address) {
		snprintf(a, sizeof(a), "0x%" PRIx64, fr->address);
		json_str(j, a);
	} else {
		json_null(j);
	}
	json_obj_end(j);
}

void json_frames(json_t *j, const frames_t *f, const frame_t *fr, int n)
{
	json_key(j, "frames");
	json_arr_begin(j);
	for (int k = 0; k < n; k++)
		json_frame(j, f, &fr[k]);
	json_arr_end(j);
}

void json_summary_fields(json_t *j, const analysis_summary_t *s)
{
	json_key(j, "trace");
	json_str(j, s->path);
	json_key(j, "truncated");
	json_bool(j, s->truncated);
	json_key(j, "lost_events");
	json_u64(j, s->lost_events);
}
