/* `heaptrail live` and the view of `record --live`: see cmd_live.h.
 *
 * One analysis in follow mode (analysis_open_follow) is read on every
 * second: the heap model, the stack tables and the series aggregator
 * (agg/series.h, the sparkline and the RSS) keep their state, and only
 * the bytes the recorder added are decoded.  The rows are top's: the
 * heap's per-stack totals now or at the peak, grouped (agg/group.h) and
 * ranked (agg/stats.h), printed by render/live.c into a buffer that is
 * drawn with ncurses, and printed once more on the normal screen when the
 * view ends, so that the last state stays in the terminal. */
#include "cli/cmd_live.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agg/series.h"
#include "agg/stats.h"
#include "cli/args.h"
#include "cli/opts.h"
#include "common/env.h"
#include "heaptrail_format.h"
#include "model/analysis.h"
#include "render/live.h"
#include "render/symbols.h"

#define LIVE_REFRESH_NS 1000000000ull /* a frame a second */
#define LIVE_POLL_MS 100 /* keys and the program's end, this often */
#define LIVE_READ_NS 500000000ull /* at most this long reading per frame */
#define LIVE_SPARK_MAX 180 /* seconds in the sparkline: three minutes */
#define LIVE_HEADER_WAIT_NS 3000000000ull /* `live` on a file not yet written */

/* The groupings the keys cycle through, the reports' default first. */
static const report_by_t cycle[] = { BY_SITE, BY_LINENO, BY_FUNCTION, BY_TRACEBACK };

typedef struct live {
	const char *path;
	analysis_t *an;
	series_t *ser;
	opts_t o;
	sym_t *sym; /* NULL when raw */
	frames_t *fr;
	group_t *g;
	size_t gens; /* module generations fr was made with */
	uint32_t images; /* images then (an exec resets the tables) */
	bool at_peak; /* the point: the peak, else now */
	bool paused;
	bool ascii; /* no UTF-8 on this terminal */
	/* record --live: the program. */
	pid_t pid; /* 0 for `heaptrail live` */
	const char *output;
	bool reaped;
	int status; /* its wait status once reaped */
	/* The event rate: heap events and the clock at the last frame. */
	uint64_t last_events;
	uint64_t last_ns;
	double rate;
	bool have_rate;
	unsigned quiet; /* frames without new bytes since the END */
	bool behind; /* the last read stopped with bytes still to read */
	char error[600]; /* the follow stopped: why ("" = it did not) */
	char state[96];
	uint64_t spark[LIVE_SPARK_MAX];
	size_t nspark;
} live_t;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t heap_events(const live_t *lv)
{
	const heap_counters_t *hc = heap_counters(analysis_heap(lv->an));
	return hc->allocs + hc->frees + hc->reallocs;
}

/* Frames and group over the current tables; remade when a library was
 * loaded (a new module generation: the symbolizer needs its map) or the
 * program exec'd.  Returns 0 or -ENOMEM. */
static int live_frames(live_t *lv)
{
	const stacks_t *st = analysis_stacks(lv->an);
	uint32_t images = analysis_summary(lv->an)->images;
	if (lv->fr && lv->g && lv->gens == stacks_generations(st) && lv->images == images)
		return 0;
	group_free(lv->g);
	frames_free(lv->fr);
	lv->g = NULL;
	lv->fr = NULL;
	/* The symbolizer is kept across new generations (it takes each
	 * module once, and loading libpython's DWARF again every second of
	 * a start-up that dlopens modules held the view for seconds); an
	 * exec'd image gets a new one. */
	if (lv->images != images) {
		sym_free(lv->sym);
		lv->sym = NULL;
	}
	const char *env = getenv(HT_ENV_NO_SYMBOLS);
	bool raw = lv->o.raw || (env && *env && strcmp(env, "0") != 0);
	if (!raw && !lv->sym && !(lv->sym = sym_new()))
		return -ENOMEM;
	lv->fr = frames_new(st, lv->sym, lv->o.fmode);
	lv->g = lv->fr ? opts_group(&lv->o, lv->fr) : NULL;
	lv->gens = stacks_generations(st);
	lv->images = images;
	return lv->g ? 0 : -ENOMEM;
}

/* Heap bytes a second over the last seconds of the trace (its own clock,
 * so that a trace caught up at once still has its shape): each second's
 * highest value; a second without events keeps the value before it. */
static void live_spark(live_t *lv, size_t want)
{
	size_t n;
	const series_point_t *p = series_heap(lv->ser, &n);
	uint64_t end_s = analysis_summary(lv->an)->end_time_us / 1000000;
	if (want > LIVE_SPARK_MAX)
		want = LIVE_SPARK_MAX;
	if (want > end_s + 1)
		want = (size_t)end_s + 1;
	uint64_t first = end_s + 1 - want;
	uint64_t last_in[LIVE_SPARK_MAX];
	bool has[LIVE_SPARK_MAX] = { false };
	uint64_t carry = 0;
	memset(lv->spark, 0, sizeof(lv->spark));
	for (size_t j = n; j > 0; j--) {
		uint64_t s = p[j - 1].time_us / 1000000;
		if (s < first) {
			carry = p[j - 1].last;
			break;
		}
		size_t i = (size_t)(s - first);
		if (i >= want)
			continue;
		if (!has[i])
			last_in[i] = p[j - 1].last; /* newest first */
		has[i] = true;
		if (p[j - 1].max > lv->spark[i])
			lv->spark[i] = p[j - 1].max;
	}
	for (size_t i = 0; i < want; i++) {
		if (has[i]) {
			carry = last_in[i];
		} else {
			lv->spark[i] = carry;
		}
	}
	lv->nspark = want;
}

/* Reads what the recorder wrote since the last frame (for at most
 * LIVE_READ_NS, so that a long trace is caught up over a few frames with
 * the keys still answered; lv->behind then says more is waiting).
 * Returns the bytes read. */
static int64_t live_read(live_t *lv, bool all)
{
	lv->behind = false;
	char err[600];
	int64_t total = 0;
	uint64_t t0 = now_ns();
	if (lv->error[0])
		return 0;
	for (;;) {
		int64_t n = analysis_refresh(lv->an, err, sizeof(err));
		if (n < 0) {
			snprintf(lv->error, sizeof(lv->error), "%s", err);
			break;
		}
		if (analysis_run(lv->an, err, sizeof(err)) < 0) {
			snprintf(lv->error, sizeof(lv->error), "%s", err);
			break;
		}
		total += n;
		if (n == 0)
			break;
		if (!all && now_ns() - t0 >= LIVE_READ_NS) {
			lv->behind = true;
			break;
		}
	}
	uint64_t t = now_ns(), ev = heap_events(lv);
	if (lv->last_ns && t > lv->last_ns) {
		lv->rate = (double)(ev - lv->last_events) * 1e9 / (double)(t - lv->last_ns);
		lv->have_rate = true;
	}
	lv->last_ns = t;
	lv->last_events = ev;
	return total;
}

/* The frame as text (malloc'ed, NUL-terminated), or NULL. */
static char *live_text(live_t *lv, size_t spark_width)
{
	char *buf = NULL;
	size_t len = 0;
	uint64_t *bytes = NULL, *count = NULL;
	stat_set_t set = { 0 };
	FILE *out = NULL;
	if (live_frames(lv) < 0)
		goto done;
	const heap_t *h = analysis_heap(lv->an);
	size_t n;
	const heap_stack_stat_t *st = heap_stack_stats(h, &n);
	bytes = calloc(n + 1, sizeof(*bytes));
	count = calloc(n + 1, sizeof(*count));
	if (!bytes || !count)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (lv->at_peak) {
			heap_stack_at_peak(h, (sidx_t)i, &bytes[i], &count[i]);
		} else {
			bytes[i] = st[i].live_bytes;
			count[i] = st[i].live_count;
		}
	}
	if (stats_compute(lv->g, bytes, count, n, false, &set) < 0)
		goto done;
	size_t k = stats_rank(&set, false, (size_t)lv->o.limit);
	live_spark(lv, spark_width);
	size_t nr;
	const series_point_t *rss = series_rss(lv->ser, &nr);
	live_frame_t f = {
		.sum = analysis_summary(lv->an),
		.hc = heap_counters(h),
		.rss_now = nr ? rss[nr - 1].last : 0,
		.state = lv->state,
		.events = heap_events(lv),
		.rate = lv->rate,
		.have_rate = lv->have_rate,
		.spark = lv->spark,
		.nspark = lv->nspark,
		.ascii = lv->ascii,
		.set = &set,
		.k = k,
		.by = (report_by_t)lv->o.by,
		.at_peak = lv->at_peak,
		.filtered = group_has_filters(lv->g),
		.output = lv->output,
		.error = lv->error[0] ? lv->error : NULL,
	};
	out = open_memstream(&buf, &len);
	if (!out)
		goto done;
	live_render(out, &f);
done:
	if (out)
		fclose(out);
	stats_free(&set);
	free(bytes);
	free(count);
	return buf;
}

/* Bytes of line (up to its end or newline) that fit in cols columns:
 * a UTF-8 character takes one. */
static size_t clip(const char *line, size_t cols)
{
	size_t i = 0, c = 0;
	while (line[i] && line[i] != '\n') {
		if (((unsigned char)line[i] & 0xc0) != 0x80) {
			if (c == cols)
				break;
			c++;
		}
		i++;
	}
	return i;
}

static const char *by_name(int by)
{
	return report_by_name((report_by_t)by);
}

static void live_draw(live_t *lv)
{
	int rows = LINES, cols = COLS;
	size_t width = cols > 2 ? (size_t)cols - 1 : 1;
	char *text = live_text(lv, width);
	erase();
	int y = 0;
	for (const char *p = text; p && *p && y < rows - 1; y++) {
		size_t n = clip(p, width);
		mvaddnstr(y, 0, p, (int)n);
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	char keys[256];
	snprintf(keys, sizeof(keys),
		 " keys: g grouping (%s)  s/l/f/t site/lineno/function/traceback  p point (%s)  space %s  q quit ",
		 by_name(lv->o.by), lv->at_peak ? "peak" : "now", lv->paused ? "resume" : "pause");
	attron(A_REVERSE);
	mvaddnstr(rows - 1, 0, keys, (int)clip(keys, width));
	attroff(A_REVERSE);
	refresh();
	free(text);
}

static void set_by(live_t *lv, report_by_t by)
{
	if (lv->o.by == (int)by)
		return;
	lv->o.by = (int)by;
	group_free(lv->g);
	lv->g = NULL; /* live_frames makes the new one */
}

/* One key.  Returns false for quit. */
static bool live_key(live_t *lv, int ch)
{
	size_t nc = sizeof(cycle) / sizeof(cycle[0]), i = 0;
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 'g':
		while (i < nc && cycle[i] != (report_by_t)lv->o.by)
			i++;
		set_by(lv, cycle[i < nc ? (i + 1) % nc : 0]);
		break;
	case 's':
		set_by(lv, BY_SITE);
		break;
	case 'l':
		set_by(lv, BY_LINENO);
		break;
	case 'f':
		set_by(lv, BY_FUNCTION);
		break;
	case 't':
		set_by(lv, BY_TRACEBACK);
		break;
	case 'p':
		lv->at_peak = !lv->at_peak;
		break;
	case ' ':
		lv->paused = !lv->paused;
		break;
	default:
		break;
	}
	return true;
}

/* `heaptrail live`: Ctrl-C and SIGTERM close the view as q does (the last
 * frame printed, the terminal restored).  Under `record --live` the
 * wrapper's own handlers stay: Ctrl-C reaches the program, and the view
 * ends with it. */
static volatile sig_atomic_t live_stop;

static void on_stop(int sig)
{
	(void)sig;
	live_stop = 1;
}

static void set_state(live_t *lv, const char *what)
{
	snprintf(lv->state, sizeof(lv->state), "%s", what);
}

/* The state once the program ended: how. */
static void set_ended(live_t *lv)
{
	if (!lv->reaped)
		set_state(lv, "ended");
	else if (WIFEXITED(lv->status))
		snprintf(lv->state, sizeof(lv->state), "ended: exit status %d", WEXITSTATUS(lv->status));
	else if (WIFSIGNALED(lv->status))
		snprintf(lv->state, sizeof(lv->state), "ended: killed by SIG%s",
			 sigabbrev_np(WTERMSIG(lv->status)) ? sigabbrev_np(WTERMSIG(lv->status)) : "?");
	else
		set_state(lv, "ended");
}

/* `heaptrail live` alone ends with the trace: its END, and then nothing
 * more for two frames (an exec writes the next image's PROCESS at once). */
static bool trace_done(live_t *lv, int64_t got)
{
	if (!analysis_summary(lv->an)->has_end || got > 0) {
		lv->quiet = 0;
		return false;
	}
	return ++lv->quiet >= 2;
}

/* Whether the process that writes the trace is gone (its PROCESS pid):
 * with no END and nothing new, it was killed (SIGKILL leaves no END).  Not
 * a reason to end the view by itself: the pid may belong to another pid
 * namespace or machine, where a live program looks gone. */
static bool writer_gone(const live_t *lv)
{
	uint64_t pid = analysis_summary(lv->an)->pid;
	return pid > 0 && pid <= INT_MAX && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* The view until the program or the trace ends, or q.  Returns 1 when it
 * ended by itself, 0 for q. */
static int live_loop(live_t *lv)
{
	int ended = 0;
	setlocale(LC_ALL, "");
	lv->ascii = strcmp(nl_langinfo(CODESET), "UTF-8") != 0;
	if (!initscr()) {
		snprintf(lv->error, sizeof(lv->error), "cannot start the terminal view (TERM=%s)",
			 getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(LIVE_POLL_MS);
	set_state(lv, "following");
	live_read(lv, false);
	live_draw(lv);
	uint64_t next = now_ns() + LIVE_REFRESH_NS;
	for (;;) {
		int ch = getch();
		if (live_stop)
			break;
		if (ch != ERR && ch != KEY_RESIZE) {
			bool was_paused = lv->paused;
			if (!live_key(lv, ch))
				break;
			if (was_paused && !lv->paused)
				lv->last_ns = 0; /* no rate over the pause */
			if (was_paused != lv->paused)
				set_state(lv, lv->paused ? "paused" : "following");
			live_draw(lv);
		} else if (ch == KEY_RESIZE) {
			live_draw(lv);
		}
		if (lv->pid > 0 && !lv->reaped) {
			int st;
			pid_t w = waitpid(lv->pid, &st, WNOHANG);
			if (w == lv->pid) {
				lv->reaped = true;
				lv->status = st;
				/* Its END is written: read the rest. */
				live_read(lv, true);
				ended = 1;
				break;
			}
		}
		/* Catching up: read on after each look at the keys. */
		timeout(lv->behind && !lv->paused ? 0 : LIVE_POLL_MS);
		if (now_ns() < next && !(lv->behind && !lv->paused))
			continue;
		next = now_ns() + LIVE_REFRESH_NS;
		if (!lv->paused) {
			int64_t got = live_read(lv, false);
			if (lv->pid <= 0 && trace_done(lv, got)) {
				ended = 1;
				break;
			}
			if (lv->pid <= 0 && got == 0 && !analysis_summary(lv->an)->has_end &&
			    writer_gone(lv))
				snprintf(lv->state, sizeof(lv->state),
					 "pid %" PRIu64 " is gone and the trace has no END (killed?); q quits",
					 analysis_summary(lv->an)->pid);
			else
				set_state(lv, "following");
		}
		live_draw(lv);
	}
	endwin();
	if (ended)
		set_ended(lv);
	else
		set_state(lv, "view closed");
	/* The last frame stays on the terminal's normal screen. */
	char *text = live_text(lv, LIVE_SPARK_MAX);
	if (text) {
		fputs(text, stdout);
		free(text);
	}
	fflush(stdout);
	return ended;
}

static int live_open(live_t *lv, const char *path, char *err, size_t errlen)
{
	/* An aggregated trace has no single events to follow: per-stack
	 * totals only at its snapshots, so the view would show an empty heap
	 * between them. */
	if (analysis_is_aggregated(path)) {
		snprintf(err, errlen,
			 "%s was recorded with --aggregate: it has per-stack totals at its snapshots, "
			 "not the single events the live view follows; record without --aggregate to "
			 "watch it live, or read it with heaptrail top / snapshots / timeline",
			 path);
		return -EINVAL;
	}
	int rc = analysis_open_follow(&lv->an, path, err, errlen);
	if (rc < 0)
		return rc;
	lv->path = path;
	lv->ser = series_new();
	if (!lv->ser || analysis_add_agg(lv->an, series_agg(lv->ser)) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	return 0;
}

static void live_close(live_t *lv)
{
	group_free(lv->g);
	frames_free(lv->fr);
	sym_free(lv->sym);
	analysis_free(lv->an);
	series_free(lv->ser);
}

/* 1 while path is a trace whose header is not all written yet (empty,
 * or a beginning of the magic), 0 when there is more (a header, or bytes
 * that are no trace: the open says so), -1 when there is no such file. */
static int header_pending(const char *path)
{
	char head[HT_HEADER_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -1 : 0;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? pread(fd, head, sizeof(head), 0) : -1;
	close(fd);
	if (n < 0 || n >= HT_HEADER_LEN)
		return 0;
	size_t m = (size_t)n < HT_MAGIC_LEN ? (size_t)n : HT_MAGIC_LEN;
	return memcmp(head, HT_MAGIC, m) == 0 ? 1 : 0;
}

/* Waits (while the program runs, or for `live` up to a few seconds) until
 * the recorder has written the trace's header.  Returns true when it did. */
static bool wait_header(const char *path, pid_t pid, live_t *lv)
{
	uint64_t until = now_ns() + LIVE_HEADER_WAIT_NS;
	for (;;) {
		if (header_pending(path) == 0)
			return true;
		if (pid > 0) {
			int s;
			if (waitpid(pid, &s, WNOHANG) == pid) {
				lv->reaped = true;
				lv->status = s;
				return false;
			}
		} else if (now_ns() >= until || header_pending(path) < 0) {
			return true; /* the open says what is wrong */
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int live_record_view(const char *trace, int pid, const char *output, int *status)
{
	live_t lv;
	char err[600];
	memset(&lv, 0, sizeof(lv));
	opts_init(&lv.o);
	lv.o.by = BY_SITE;
	lv.pid = pid;
	lv.output = output;
	int ret = 0;
	if (!wait_header(trace, pid, &lv)) {
		/* It ended before writing a trace: the wrapper says why. */
		*status = lv.status;
		return 1;
	}
	if (live_open(&lv, trace, err, sizeof(err)) < 0) {
		fprintf(stderr, "heaptrail: live view: %s; the program goes on (pid %d)\n", err, pid);
		live_close(&lv);
		return 0;
	}
	int r = live_loop(&lv);
	if (r < 0)
		fprintf(stderr, "heaptrail: live view: %s; the program goes on (pid %d)\n", lv.error, pid);
	if (lv.reaped) {
		*status = lv.status;
		ret = 1;
	} else {
		fprintf(stderr, "heaptrail: the live view is closed; waiting for the program (pid %d) to end, its output in %s\n",
			pid, output);
	}
	live_close(&lv);
	return ret;
}

int cmd_live(int argc, char **argv)
{
	const char *path = NULL;
	const unsigned accept = OPT_NO_SYMBOLS | OPT_BY | OPT_FRAMES | OPT_FILTERS | OPT_LIMIT;
	live_t lv;
	char err[600];
	memset(&lv, 0, sizeof(lv));
	opts_init(&lv.o);
	lv.o.by = BY_SITE;
	if (opts_args("live", accept, NULL, NULL, argc, argv, &lv.o, &path))
		return 2;
	if (lv.o.by == BY_TYPE)
		return args_usage_error("live", "--by type is not shown live; use heaptrail top --by type");
	wait_header(path, 0, &lv);
	if (live_open(&lv, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "heaptrail: %s\n", err);
		live_close(&lv);
		return 1;
	}
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		fprintf(stderr, "heaptrail live: the view needs a terminal (standard input and output); "
				"for a report on the trace so far use heaptrail top %s\n", path);
		live_close(&lv);
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int r = live_loop(&lv);
	int rc = 0;
	if (r < 0 || lv.error[0]) {
		fprintf(stderr, "heaptrail: %s\n", lv.error);
		rc = 1;
	}
	live_close(&lv);
	return rc;
}
