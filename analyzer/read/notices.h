/* notices: the one-time notices about a trace ("the program exec'd (7
 * images)", "no debug info" for a module).  Each prints once per trace:
 * which ones the user has seen is kept in the trace's index (index.h)
 * and read back by the next command.  Called by cli/ (run.c loads, the
 * renderers ask, main.c saves) and index.c; process-global, not
 * thread-safe. */
#ifndef HEAPTRAIL_NOTICES_H
#define HEAPTRAIL_NOTICES_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the notices already shown for `trace` from its index (once per
 * path; nothing when it has none or the index is disabled). */
void notices_load(const char *trace);

/* Whether to print `text` about `trace` now: true the first time (it is
 * then remembered), false once shown; always true under notices_always. */
bool notices_show(const char *trace, const char *text);

/* For `info`, which lists every notice each time. */
void notices_always(bool on);

/* Every notice known for `trace` (shown before or now), in the order
 * first shown.  The array lives until notices_save. */
size_t notices_list(const char *trace, const char *const **list);

/* Writes the notices shown for the first time into their traces'
 * indexes, and frees everything. */
void notices_save(void);

#endif /* HEAPTRAIL_NOTICES_H */
