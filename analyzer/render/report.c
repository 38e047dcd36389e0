/* Report keys: see report.h. */
#include "render/report.h"

#include <inttypes.h>
#include <string.h>

/* Indexed by report_by_t. */
static const char *const by_names[] = { "lineno", "filename", "function",
					"traceback", "module", "site", "type" };

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

const char *report_frame_module(const frames_t *f, const frame_t *fr)
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
	const char *m = report_frame_module(f, fr);
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
	if (fr->marker && (by != BY_MODULE || fr->marker == SYM_MARK_STARTUP))
		return frames_marker_text(buf, len, f, fr);
	switch (by) {
	case BY_SITE: /* the site frame's line */
	case BY_LINENO:
		if (fr->file)
			snprintf(buf, len, "%s:%u", fr->file, fr->line);
		else if (fr->function)
			snprintf(buf, len, "%s (%s)", fr->function,
				 report_frame_module(f, fr) ? report_frame_module(f, fr) : "?");
		else
			addr_text(buf, len, f, fr);
		break;
	case BY_FILENAME:
		if (fr->file)
			snprintf(buf, len, "%s", fr->file);
		else if (report_frame_module(f, fr) && *report_frame_module(f, fr))
			snprintf(buf, len, "%s", report_frame_module(f, fr));
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
		if (report_frame_module(f, fr) && *report_frame_module(f, fr))
			snprintf(buf, len, "%s", report_frame_module(f, fr));
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
	const char *m = report_frame_module(f, fr);
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
