/* `heaptrail check`: see cmd_check.h.  The leaks aggregator over the whole
 * trace (for the leak candidates) and the heap model's counters (leaked =
 * analysis_leaked, as `info` counts it: a Python program's at its teardown
 * mark, as `leaks` takes it; peak = the heap's high-water mark); the
 * baseline's counters come from its index when it has one.  Candidates are judged per stack (no symbolization), so the
 * gate stays cheap. */
#include "cli/cmd_check.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/leaks.h"
#include "cli/args.h"
#include "cli/opts.h"
#include "cli/run.h"
#include "model/analysis.h"
#include "render/fmt.h"
#include "render/json.h"

typedef struct check_opts {
	long long max_leaked; /* bytes, -1 = no limit */
	long long max_peak; /* bytes, -1 = no limit */
	const char *baseline; /* OLD.htr, NULL = none */
	double max_growth; /* percent of the baseline's peak, < 0 = none */
	bool no_cands; /* --no-leak-candidates */
	bool options_only; /* --options-only: validate the options, read nothing
			    * (record --check, before it runs the program) */
	int at_exit; /* --at end: a Python program's leaked after its
		      * finalization (default 0: at its teardown mark) */
} check_opts_t;

/* One judged limit. */
typedef struct check_row {
	const char *name; /* "leaked", "peak", "growth", "leak_candidates" */
	double value; /* bytes, percent or a count */
	double limit;
	bool broken;
} check_row_t;

static int check_extra(const char *cmd, int argc, char **argv, int *i, void *ctx)
{
	check_opts_t *c = ctx;
	const char *v;
	int m;
	if ((m = args_opt(cmd, argc, argv, i, "--max-leaked", &v)) != 0) {
		if (m < 0)
			return -1;
		if ((c->max_leaked = args_parse_size(v)) < 0)
			goto bad_size;
		return 1;
	}
	if ((m = args_opt(cmd, argc, argv, i, "--max-peak", &v)) != 0) {
		if (m < 0)
			return -1;
		if ((c->max_peak = args_parse_size(v)) < 0)
			goto bad_size;
		return 1;
	}
	if ((m = args_opt(cmd, argc, argv, i, "--baseline", &v)) != 0) {
		if (m < 0)
			return -1;
		c->baseline = v;
		return 1;
	}
	if ((m = args_opt(cmd, argc, argv, i, "--max-growth", &v)) != 0) {
		if (m < 0)
			return -1;
		char *end;
		double pct = strtod(v, &end);
		if (end != v && *end == '%')
			end++;
		if (end == v || *end || !isfinite(pct) || pct < 0 || v[0] == '-') {
			args_usage_error(cmd, "--max-growth wants a percentage like 10 or 2.5%%, not '%s'", v);
			return -1;
		}
		c->max_growth = pct;
		return 1;
	}
	if ((m = args_at_end(cmd, argc, argv, i, &c->at_exit)) != 0)
		return m;
	if (strcmp(argv[*i], "--no-leak-candidates") == 0) {
		c->no_cands = true;
		return 1;
	}
	if (strcmp(argv[*i], "--options-only") == 0) {
		c->options_only = true;
		return 1;
	}
	return 0;
bad_size:
	args_usage_error(cmd, "'%s' is not a size (bytes, or with a unit: 24MB, 512KiB, 1.5GiB)", v);
	return -1;
}

/* "4.4 KiB (4480 B)" */
static const char *bytes_text(char *buf, size_t len, double v)
{
	char h[32];
	fmt_size(h, sizeof(h), v, false);
	size_t hl = strlen(h);
	if (hl >= 2 && strcmp(h + hl - 2, " B") == 0)
		snprintf(buf, len, "%s", h); /* already exact */
	else
		snprintf(buf, len, "%s (%.0f B)", h, v);
	return buf;
}

static void print_text(const char *path, const analysis_summary_t *s,
		       const check_row_t *rows, size_t n, size_t nbroken,
		       const char *baseline, const analysis_leaked_t *lk)
{
	char a[64], b[64];
	if (nbroken)
		printf("heaptrail check: FAIL: %zu of %zu limit%s broken in %s\n",
		       nbroken, n, n == 1 ? "" : "s", path);
	else
		printf("heaptrail check: ok: %zu limit%s held in %s\n", n,
		       n == 1 ? "" : "s", path);
	if (s->truncated)
		printf("  note: the trace is truncated (no END record): the program did not finish cleanly\n");
	for (size_t i = 0; i < n; i++) {
		const check_row_t *r = &rows[i];
		const char *mark = r->broken ? "BROKEN" : "ok";
		if (strcmp(r->name, "growth") == 0)
			printf("  %-6s peak growth %+.1f%% over %s, limit %.1f%%\n",
			       mark, r->value, baseline, r->limit);
		else if (strcmp(r->name, "leak_candidates") == 0)
			printf("  %-6s %.0f leak candidate%s, limit 0%s\n", mark,
			       r->value, r->value == 1 ? "" : "s",
			       r->broken ? " (see `heaptrail leaks`)" : "");
		else if (strcmp(r->name, "peak") == 0)
			printf("  %-6s peak heap %s, limit %s\n", mark,
			       bytes_text(a, sizeof(a), r->value),
			       bytes_text(b, sizeof(b), r->limit));
		else {
			char t[32];
			printf("  %-6s leaked %s, limit %s%s%s\n", mark,
			       bytes_text(a, sizeof(a), r->value),
			       bytes_text(b, sizeof(b), r->limit),
			       lk->teardown ? ", at teardown " : "",
			       lk->teardown ? fmt_seconds(t, sizeof t, lk->teardown->time_us) : "");
			if (lk->teardown)
				printf("         (Python: the program's own code done, before the "
				       "interpreter's finalization; --at end for after it)\n");
			if (lk->startup_blocks)
				printf("         (not counting <interpreter startup>: %s still live there)\n",
				       bytes_text(a, sizeof(a), (double)lk->startup_bytes));
		}
	}
}

static void print_json(const analysis_summary_t *s, const check_row_t *rows,
		       size_t n, size_t nbroken, const char *baseline,
		       const analysis_leaked_t *lk)
{
	json_t j;
	json_report_begin(&j, stdout, s);
	json_key(&j, "ok");
	json_bool(&j, nbroken == 0);
	json_key(&j, "broken");
	json_u64(&j, nbroken);
	json_key(&j, "baseline");
	json_str(&j, baseline);
	json_key(&j, "checks");
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_key(&j, "name");
		json_str(&j, rows[i].name);
		json_key(&j, "value");
		if (strcmp(rows[i].name, "growth") == 0)
			json_double(&j, rows[i].value);
		else
			json_u64(&j, (uint64_t)rows[i].value);
		json_key(&j, "limit");
		if (strcmp(rows[i].name, "growth") == 0)
			json_double(&j, rows[i].limit);
		else
			json_u64(&j, (uint64_t)rows[i].limit);
		json_key(&j, "broken");
		json_bool(&j, rows[i].broken);
		if (strcmp(rows[i].name, "leaked") == 0) {
			/* where it was measured: "teardown" (a Python
			 * program's own end) or "end" */
			json_key(&j, "at");
			json_str(&j, lk->teardown ? "teardown" : "end");
			json_key(&j, "startup_bytes"); /* left out */
			json_u64(&j, lk->startup_bytes);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_report_end(&j);
}

int cmd_check(int argc, char **argv)
{
	const char *path = NULL;
	check_opts_t c = { .max_leaked = -1, .max_peak = -1, .max_growth = -1 };
	opts_t o;
	opts_init(&o);
	if (opts_args("check", OPT_JSON, check_extra, &c, argc, argv, &o, &path))
		return CHECK_ERROR;
	if ((c.baseline != NULL) != (c.max_growth >= 0))
		return args_usage_error("check", "--baseline and --max-growth go together");
	if (c.max_leaked < 0 && c.max_peak < 0 && !c.baseline && !c.no_cands)
		return args_usage_error("check", "no limit given (--max-leaked, --max-peak, "
						 "--baseline with --max-growth, --no-leak-candidates)");
	if (c.options_only)
		return CHECK_OK;

	int rc = CHECK_ERROR;
	analysis_t *an = NULL, *base = NULL;
	leaks_t *l = NULL;
	leaks_result_t res = { 0 };
	check_row_t rows[4];
	size_t n = 0, nbroken = 0;

	if (c.no_cands) {
		if (!(l = leaks_new()))
			goto nomem;
		leaks_set_at_exit(l, c.at_exit);
		agg_t *agg = leaks_agg(l);
		an = run_file(path, &agg, 1);
	} else {
		an = run_file_indexed(path, NULL, 0, false);
	}
	if (!an)
		goto done;
	if (c.baseline && !(base = run_file_indexed(c.baseline, NULL, 0, false)))
		goto done;
	const heap_counters_t *hc = heap_counters(analysis_heap(an));
	analysis_leaked_t lk;
	analysis_leaked(an, c.at_exit, &lk);
	if (c.max_leaked >= 0)
		rows[n++] = (check_row_t){ "leaked", (double)lk.bytes,
					   (double)c.max_leaked,
					   lk.bytes > (uint64_t)c.max_leaked };
	if (c.max_peak >= 0)
		rows[n++] = (check_row_t){ "peak", (double)hc->peak_bytes,
					   (double)c.max_peak,
					   hc->peak_bytes > (uint64_t)c.max_peak };
	if (base) {
		/* Growth of the peak over the baseline's; from an empty
		 * baseline any heap at all is unbounded growth. */
		double old = (double)heap_counters(analysis_heap(base))->peak_bytes;
		double now = (double)hc->peak_bytes;
		double pct = old > 0 ? (now - old) * 100.0 / old : (now > 0 ? INFINITY : 0);
		rows[n++] = (check_row_t){ "growth", pct, c.max_growth, pct > c.max_growth };
	}
	if (c.no_cands) {
		if (leaks_compute(l, NULL, 0, 0, &res) < 0)
			goto nomem;
		rows[n++] = (check_row_t){ "leak_candidates", (double)res.ncands_total, 0,
					   res.ncands_total > 0 };
	}
	for (size_t i = 0; i < n; i++)
		nbroken += rows[i].broken;
	if (o.json)
		print_json(analysis_summary(an), rows, n, nbroken, c.baseline, &lk);
	else
		print_text(path, analysis_summary(an), rows, n, nbroken, c.baseline, &lk);
	run_finish(an);
	rc = nbroken ? CHECK_BROKEN : CHECK_OK;
	goto done;
nomem:
	run_nomem();
	rc = CHECK_ERROR;
done:
	leaks_result_free(&res);
	analysis_free(base);
	analysis_free(an);
	leaks_free(l);
	return rc;
}
