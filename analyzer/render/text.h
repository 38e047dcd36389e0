/* Text renderer: the human-readable reports, printed from the
 * aggregators' results (stats.h, leaks.h, growth.h, highwater.h) with
 * display frames.  Called by the commands (cli/cmd_*.c).  Not thread-safe
 * (writes to the caller's FILE). */
#ifndef HEAPTRAIL_TEXT_H
#define HEAPTRAIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "agg/growth.h"
#include "agg/highwater.h"
#include "agg/leaks.h"
#include "agg/overview.h"
#include "agg/stats.h"
#include "model/analysis.h"
#include "render/frames.h"
#include "render/report.h"

/* Notes printed at the top of a text report: lost events, truncated
 * trace (every time), exec'd images (a one-time notice: once per trace,
 * read/notices.h).  Nothing when the trace is complete. */
void text_notes(FILE *out, const analysis_summary_t *s);

/* The exec'd-images notice (without "note: "). */
char *text_exec_note(char *buf, size_t len, const analysis_summary_t *s);
/* Why events were lost, for the reasons a user can act on: " (11 of
 * them: malloc-family calls not recorded, the program has an allocator
 * of its own)"; "" when none of those.  Returns buf. */
char *text_lost_why(char *buf, size_t len, const analysis_summary_t *s);

/* The first k rows of s, one line each ("file.c:42: size=97.7 KiB,
 * count=1000, average=100 B", with the change for a diff), plus the
 * frames, indented, under a traceback grouping. */
void text_stats(FILE *out, const stat_set_t *s, size_t k, bool diff,
		report_by_t by);
/* Same, with ", per N=B" after the average when per > 0: the bytes of a
 * row divided by N (top --per: bytes per element of N objects). */
void text_stats_per(FILE *out, const stat_set_t *s, size_t k, bool diff,
		    report_by_t by, uint64_t per);

/* Stack s as indented traceback lines (at most max, 0 = all). */
void text_frames(FILE *out, frames_t *fs, sidx_t s, int max);

/* `growth`: the realloc-chain section. */
void text_growth(FILE *out, const growth_result_t *res, frames_t *fs);

/* `growth`: the high-water section (the steps res holds, and how many
 * earlier ones it left out). */
void text_highwater(FILE *out, const highwater_result_t *res, frames_t *fs);

/* `leaks`: live blocks at the end by call site, then the candidates. */
void text_leaks(FILE *out, const leaks_result_t *res, frames_t *fs);

/* `leaks`, `report`: the leak candidates and their series. */
void text_leak_candidates(FILE *out, const leaks_result_t *res, frames_t *fs);

/* `report`: the run, then one section per question, each naming the
 * command that shows more; sites keyed by `by`. */
void text_report(FILE *out, const overview_result_t *r, frames_t *fs,
		 report_by_t by);

#endif /* HEAPTRAIL_TEXT_H */
