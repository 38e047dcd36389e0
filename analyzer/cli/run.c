/* Running a command's analysis: see run.h. */
#include "cli/run.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "read/index.h"
#include "read/notices.h"

analysis_t *run_file(const char *path, agg_t **aggs, size_t naggs)
{
	analysis_t *an;
	char err[1024];
	struct stat before;
	/* --startup changes the per-stack totals the index keeps. */
	bool idx = index_enabled() && analysis_grouping_startup() &&
		   analysis_selected_image() < 0 &&
		   strcmp(path, "-") != 0 &&
		   stat(path, &before) == 0 && S_ISREG(before.st_mode);
	if (idx)
		notices_load(path); /* before the replay's index replaces them */
	if (analysis_open(&an, path, err, sizeof(err)) < 0)
		goto fail;
	analysis_keep_states(an, idx);
	for (size_t i = 0; i < naggs; i++)
		if (aggs[i] && analysis_add_agg(an, aggs[i]) < 0) {
			snprintf(err, sizeof(err), "too many aggregators");
			goto fail;
		}
	analysis_set_progress(an, true);
	if (analysis_run(an, err, sizeof(err)) < 0)
		goto fail;
	if (idx)
		index_save_analysis(an, path, &before);
	return an;
fail:
	fprintf(stderr, "heaptrail: %s\n", err);
	analysis_free(an);
	return NULL;
}

analysis_t *run_file_indexed(const char *path, agg_t **aggs, size_t naggs,
			     bool need_states)
{
	if (strcmp(path, "-") != 0)
		notices_load(path);
	/* The index keeps the final image only. */
	analysis_t *an = analysis_grouping_startup() && analysis_selected_image() < 0 ?
				 index_open(path, need_states) : NULL;
	return an ? an : run_file(path, aggs, naggs);
}

analysis_t *run_file_points(const char *path, point_t *const *pts, size_t n)
{
	agg_t *aggs[RUN_MAX_POINTS];
	int need = POINT_INDEX_PLAIN;
	if (n > RUN_MAX_POINTS)
		n = RUN_MAX_POINTS;
	for (size_t i = 0; i < n; i++) {
		int k = point_index_need(pts[i]);
		aggs[i] = point_agg(pts[i]);
		/* The strongest need wins: NO over STATES over PLAIN. */
		if (k == POINT_INDEX_NO || (k == POINT_INDEX_STATES && need != POINT_INDEX_NO))
			need = k;
	}
	if (need == POINT_INDEX_NO)
		return run_file(path, aggs, n);
	if (need == POINT_INDEX_STATES)
		return run_file_indexed(path, aggs, n, true);
	return run_file_indexed(path, NULL, 0, false);
}

int run_point_result(point_t *p, const analysis_t *an, const uint64_t **bytes,
		     const uint64_t **count, size_t *n, char *err,
		     size_t errlen)
{
	point_from_t f = {
		.heap = analysis_heap(an),
		.sum = analysis_summary(an),
		.from_index = analysis_from_index(an),
	};
	f.has_states = analysis_states(an, &f.states);
	return point_result(p, &f, bytes, count, n, err, errlen);
}

int run_finish(const analysis_t *an)
{
	fflush(stdout);
	analysis_print_warnings(an);
	return 0;
}

int run_nomem(void)
{
	fprintf(stderr, "heaptrail: out of memory\n");
	return 1;
}
