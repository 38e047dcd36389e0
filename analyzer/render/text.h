/* Text renderer: the human-readable reports, printed from the
 * aggregators' results.  Called by the commands (cli/cmd_*.c).  Not
 * thread-safe (writes to the caller's FILE). */
#ifndef HEAPTRAIL_TEXT_H
#define HEAPTRAIL_TEXT_H

#include <stdio.h>

#include "model/analysis.h"

/* Notes printed at the top of a text report: lost events, truncated
 * trace, exec'd images.  Nothing when the trace is complete. */
void text_notes(FILE *out, const analysis_summary_t *s);

#endif /* HEAPTRAIL_TEXT_H */
