/* The page of `heaptrail html`: see html.h. */
#include "render/html.h"

#include <errno.h>

/* build/gen/html_assets.c (scripts/embed_html.py). */
extern const char html_d3[], html_flamegraph[], html_flamegraph_css[],
	html_uplot[], html_uplot_css[], html_app[], html_page[],
	html_page_css[], html_body[];

int html_write_page(FILE *out, const char *data, size_t len)
{
	fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
	      "<title>heaptrail</title>\n<style>\n", out);
	fputs(html_flamegraph_css, out);
	fputs(html_uplot_css, out);
	fputs(html_page_css, out);
	fputs("</style></head><body>\n", out);
	fputs(html_body, out);
	fputs("<script id=\"heaptrail-data\" type=\"application/json\">", out);
	/* "</" would end the script element; "<\/" is the same JSON. */
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '/' && i && data[i - 1] == '<')
			fputc('\\', out);
		fputc(data[i], out);
	}
	fputs("</script>\n", out);
	const char *libs[] = { html_d3, html_flamegraph, html_uplot, html_app, html_page };
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		fputs("<script>", out);
		fputs(libs[i], out);
		fputs("\n</script>\n", out);
	}
	fputs("</body></html>\n", out);
	return ferror(out) ? -EIO : 0;
}
