/* Text renderer: see text.h. */
#include "render/text.h"

#include <inttypes.h>

void text_notes(FILE *out, const analysis_summary_t *s)
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
