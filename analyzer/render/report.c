/* Report helpers: see report.h. */
#include "render/report.h"

#include "render/cxxname.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char *report_size(char *buf, size_t len, double size, bool sign)
{
	/* Same thresholds as tracemalloc's _format_size. */
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	for (int u = 0; u < 5; u++) {
		if (fabs(size) < 100 && u != 0) {
			snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s", size,
				 units[u]);
			return buf;
		}
		if (fabs(size) < 10 * 1024 || u == 4) {
			snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s", size,
				 units[u]);
			return buf;
		}
		size /= 1024;
	}
	return buf;
}

/* Indexed by report_by_t. */
static const char *const by_names[] = { "lineno", "filename", "function",
					"traceback", "module", "site" };

int report_by_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof(by_names) / sizeof(*by_names)); i++)
		if (strcmp(s, by_names[i]) == 0)
			return i;
	return -1;
}

const char *report_by_name(report_by_t by)
{
	return by_names[by];
}

static const char *mod_name(const frames_t *f, const frame_t *fr)
{
	const char *m = f ? frames_module_name(f, fr) : NULL;
	if (!m && fr->module) {
		const char *s = strrchr(fr->module, '/');
		m = s ? s + 1 : fr->module;
	}
	return m;
}

/* "module+0x1234", or "0x7f..." outside any module. */
static char *addr_text(char *buf, size_t len, const frames_t *f,
		       const frame_t *fr)
{
	const char *m = mod_name(f, fr);
	if (m && *m)
		snprintf(buf, len, "%s+0x%" PRIx64, m, fr->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, fr->address);
	return buf;
}

char *report_frame_key(char *buf, size_t len, const frames_t *f,
		       const frame_t *fr, report_by_t by)
{
	if (!fr) {
		snprintf(buf, len, "<no stack>");
		return buf;
	}
	if (fr->marker && by != BY_MODULE)
		return frames_marker_text(buf, len, f, fr);
	switch (by) {
	case BY_SITE: /* the site frame's line */
	case BY_LINENO:
		if (fr->file)
			snprintf(buf, len, "%s:%u", fr->file, fr->line);
		else if (fr->function)
			snprintf(buf, len, "%s (%s)", fr->function,
				 mod_name(f, fr) ? mod_name(f, fr) : "?");
		else
			addr_text(buf, len, f, fr);
		break;
	case BY_FILENAME:
		if (fr->file)
			snprintf(buf, len, "%s", fr->file);
		else if (mod_name(f, fr) && *mod_name(f, fr))
			snprintf(buf, len, "%s", mod_name(f, fr));
		else
			addr_text(buf, len, f, fr);
		break;
	case BY_FUNCTION:
		if (fr->function)
			snprintf(buf, len, "%s", fr->function);
		else
			addr_text(buf, len, f, fr);
		break;
	case BY_MODULE:
		if (mod_name(f, fr) && *mod_name(f, fr))
			snprintf(buf, len, "%s", mod_name(f, fr));
		else if (!fr->address && fr->file)
			snprintf(buf, len, "[python]");
		else
			snprintf(buf, len, "[unknown]");
		break;
	case BY_TRACEBACK:
	default:
		report_frame_line(buf, len, f, fr);
		break;
	}
	return buf;
}

char *report_frame_line(char *buf, size_t len, const frames_t *f,
			const frame_t *fr)
{
	const char *m = mod_name(f, fr);
	char a[256];
	if (fr->marker)
		return frames_marker_text(buf, len, f, fr);
	if (fr->function && fr->file)
		snprintf(buf, len, "%s at %s:%u%s%s%s", fr->function, fr->file,
			 fr->line, m ? " (" : "", m ? m : "", m ? ")" : "");
	else if (fr->file)
		snprintf(buf, len, "%s:%u%s%s%s", fr->file, fr->line,
			 m ? " (" : "", m ? m : "", m ? ")" : "");
	else if (fr->function)
		snprintf(buf, len, "%s (%s)", fr->function,
			 addr_text(a, sizeof(a), f, fr));
	else
		addr_text(buf, len, f, fr);
	return buf;
}

void report_notes(FILE *out, const analysis_summary_t *s)
{
	if (s->truncated)
		fprintf(out,
			"warning: %s is truncated (no END record): the recording was cut short; figures cover the events that were written\n",
			s->path);
	if (s->lost_events)
		fprintf(out,
			"warning: %" PRIu64 " events were lost by the recorder; figures undercount\n",
			s->lost_events);
	if (s->images > 1)
		fprintf(out,
			"note: the program exec'd (%u images); this report covers the final image (%s)\n",
			s->images, s->exe);
}

/* --- JSON ------------------------------------------------------------ */
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
	/* A C++ name with template arguments: also the form text prints. */
	if (fr->function && (fr->module || fr->address) &&
	    strchr(fr->function, '<')) {
		size_t n = strlen(fr->function) + 1;
		char *sh = malloc(n);
		if (sh && cxxname_short(fr->function, sh, n) + 1 < n) {
			json_key(j, "function_short");
			json_str(j, sh);
		}
		free(sh);
	}
	json_key(j, "file");
	json_str(j, fr->file);
	json_key(j, "line");
	json_u64(j, fr->line);
	json_key(j, "module");
	json_str(j, mod_name(f, fr));
	json_key(j, "address");
	if (fr->address) {
		snprintf(a, sizeof(a), "0x%" PRIx64, fr->address);
		json_str(j, a);
	} else {
		json_null(j);
	}
	if (fr->marker == SYM_MARK_NATIVE_ONLY) {
		json_key(j, "native_only");
		json_bool(j, true);
	}
	json_obj_end(j);
}

void json_frames(json_t *j, const frames_t *f, const frame_t *fr, int n)
{
	const char *cut = NULL;
	json_key(j, "frames");
	json_arr_begin(j);
	for (int k = 0; k < n; k++) {
		if (fr[k].marker == SYM_MARK_CUT_DEPTH)
			cut = "depth";
		else if (fr[k].marker == SYM_MARK_CUT_RECORDER)
			cut = cut ? cut : "recorder";
		else
			json_frame(j, f, &fr[k]);
	}
	json_arr_end(j);
	/* Only on a cut stack: every other document stays as it was. */
	if (cut) {
		json_key(j, "cut");
		json_str(j, cut);
	}
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

/* --- command line ------------------------------------------------------ */
int report_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "heaptrail %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'heaptrail help %s'.\n", cmd);
	return 2;
}

int report_opt(const char *cmd, int argc, char **argv, int *i,
	       const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc) {
		report_usage_error(cmd, "option '%s' needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

long long report_parse_count(const char *s)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	long long v = strtoll(s, &end, 10);
	if (*end || v < 0)
		return -1;
	return v;
}

long long report_parse_time(const char *s)
{
	char *end;
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	double v = strtod(s, &end);
	double mul;
	if (end == s || v < 0 || !isfinite(v))
		return -1;
	if (!*end || strcmp(end, "s") == 0)
		mul = 1e6;
	else if (strcmp(end, "ms") == 0)
		mul = 1e3;
	else if (strcmp(end, "us") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60e6;
	else
		return -1;
	v *= mul;
	if (v > 9e18)
		return -1;
	return (long long)v;
}
