/* Python frame capture: see pyframes.h.  First increment: the API compiles
 * and reports no Python frames; the shadow stack follows. */
#include "pyframes.h"

void pyframes_init(void)
{
}

int pyframes_capture(uint32_t *code_ids, uint32_t *lines, int max)
{
	(void)code_ids;
	(void)lines;
	(void)max;
	return 0;
}

void pyframes_emit_new(pyframes_code_fn fn, void *ctx)
{
	(void)fn;
	(void)ctx;
}

void pyframes_rewind_emitted(void)
{
}

size_t pyframes_take_warning(char *buf, size_t size, int at_exit)
{
	(void)buf;
	(void)size;
	(void)at_exit;
	return 0;
}
