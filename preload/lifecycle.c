/* lifecycle: see lifecycle.h. */
#include "lifecycle.h"

#include "tick.h"

#include "crash.h"
#include "mapmem.h"
#include "modules.h"
#include "pyframes.h"
#include "registry.h"
#include "seam.h"
#include "session.h"
#include "stackid.h"
#include "stacks.h"
#include "tick.h"
#include "unwind.h"
#include "util.h"
#include "writer.h"

#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fork_locked; /* the writer lock is held across fork() */
/* The snapshot signal's action before ours (put back at a detach). */
static struct sigaction snap_old;
static int snap_saved;
static int no_native_stacks; /* seam.h */

void seam_no_native_stacks(void)
{
	no_native_stacks = 1;
}

static int start(const config_t *cfg, int fd, int fresh, util_line_t *why);

static void on_snapshot_signal(int sig)
{
	(void)sig;
	writer_signal_snapshot();
}

/* From the crash handler of a thread dying of signal sig (crash.h): the
 * trace gets every event so far, SIGNAL and END.  Not in a vfork child,
 * which shares our memory. */
static void on_crash(int sig)
{
	if (session_recording_here())
		writer_finish_fatal(sig);
}

/* Under an address-space limit (ulimit -v) the recorder starts only when
 * the limit leaves this much beside what is mapped at start: about three
 * times what it maps for a one-thread program (measured: 7 MiB), so that
 * it does not take the memory the program then needs.  Below that it does
 * not start, and says so (README, "Limits"). */
#define LIMIT_HEADROOM ((uint64_t)24 << 20)

/* 0, or -ENOMEM with why filled when RLIMIT_AS leaves too little room. */
static int check_headroom(util_line_t *why)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	char buf[128];
	uint64_t pages = 0;
	if (util_read_file("/proc/self/statm", buf, sizeof(buf)) > 0) {
		char *sp = strchr(buf, ' ');
		if (sp)
			*sp = 0;
		util_parse_u64(buf, &pages);
	}
	uint64_t used = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t left = rl.rlim_cur > used ? rl.rlim_cur - used : 0;
	if (left >= LIMIT_HEADROOM)
		return 0;
	util_line_str(why, "the address-space limit (ulimit -v ");
	util_line_u64(why, (uint64_t)rl.rlim_cur >> 10);
	util_line_str(why, " KiB) leaves ");
	util_line_u64(why, left >> 20);
	util_line_str(why, " MiB free and the recorder needs ");
	util_line_u64(why, LIMIT_HEADROOM >> 20);
	util_line_str(why, " MiB beside the program (raise the limit to record)");
	return -ENOMEM;
}

/* The failure of step `what` (err < 0) in words. */
static int failed(util_line_t *why, const char *what, int err)
{
	if (!why->len) {
		util_line_str(why, what);
		util_line_str(why, ": ");
		util_line_str(why, err == -ENOMEM ? "out of memory" : "error ");
		if (err != -ENOMEM)
			util_line_u64(why, (uint64_t)-err);
		struct rlimit rl;
		if (err == -ENOMEM && getrlimit(RLIMIT_AS, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY) {
			util_line_str(why, " (address-space limit, ulimit -v ");
			util_line_u64(why, (uint64_t)rl.rlim_cur >> 10);
			util_line_str(why, " KiB)");
		}
	}
	return err;
}

int lifecycle_start(const config_t *cfg, int fd, int fresh, char *why_buf, size_t cap)
{
	util_line_t why = { why_buf, cap, 0 };
	why_buf[0] = 0;
	mapmem_track_begin();
	int err = start(cfg, fd, fresh, &why);
	if (err) {
		/* Nothing of ours stays in the program's address space. */
		session_end();
		mapmem_track_end(1);
		return err;
	}
	mapmem_track_end(0);
	return 0;
}

static int start(const config_t *cfg, int fd, int fresh, util_line_t *why)
{
	int unwind = !no_native_stacks;
	session_begin(cfg, fd, fresh, unwind);
	int err = check_headroom(why);
	if (err)
		return err;
	err = stacks_init(20);
	if (err)
		return failed(why, "cannot map the stack table", err);
	registry_init(stackid_thread_exit);
	if (unwind) {
		uintptr_t lo = 0, hi = 0;
		modules_text_range((uintptr_t)&lifecycle_start, &lo, &hi);
		unwind_init(lo, hi, CONFIG_HIGH_FD - 20, cfg->unwind_mode);
		modules_refresh(1);
	}
	pyframes_init();
	pyframes_set_warn(writer_warn);
	tick_init();
	err = writer_begin(fresh);
	if (err)
		return failed(why, "cannot map the writer's buffers", err);
	session_go();
	err = writer_start_thread();
	if (err)
		return failed(why, "cannot start the writer thread", err);
	if (cfg->snap_signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_snapshot_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		snap_saved = sigaction(cfg->snap_signal, &sa, &snap_old) == 0;
	}
	if (cfg->crash_flush)
		crash_install(on_crash, cfg->snap_signal);
	if (unwind)
		unwind_find_sigreturn();
	return 0;
}

/* HEAPTRAIL_MEMSTATS=1: the recorder's own mappings per use (peak KiB),
 * for measuring it (README, "The recorder's memory"). */
static void say_memstats(void)
{
	char msg[300];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, "recorder memory: peak ");
	util_line_u64(&l, mapmem_peak() >> 10);
	util_line_str(&l, " KiB mapped;");
	for (int u = 0; u < MAPMEM_NUSES; u++) {
		uint64_t now, peak;
		mapmem_use_stats(u, &now, &peak);
		util_line_str(&l, " ");
		util_line_str(&l, mapmem_use_name(u));
		util_line_str(&l, " ");
		util_line_u64(&l, peak >> 10);
	}
	writer_warn(msg);
}

void lifecycle_finish(void)
{
	if (!session_active())
		return;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = HOOK_QUIET;
	if (ht_session.unwind && unwind_mode() == UNWIND_VERIFY) {
		/* bench/bench.py and the integration tests parse this line. */
		unwind_stats_t st;
		unwind_get_stats(&st);
		char msg[160];
		util_line_t l = { msg, sizeof(msg), 0 };
		util_line_str(&l, "unwind verify: ");
		util_line_u64(&l, st.checked);
		util_line_str(&l, " stacks checked, ");
		util_line_u64(&l, st.mismatches + stackid_mismatches());
		util_line_str(&l, " mismatches (");
		util_line_u64(&l, st.fallback);
		util_line_str(&l, " stacks only libunwind could unwind)");
		writer_warn(msg);
	}
	if (getenv("HEAPTRAIL_MEMSTATS"))
		say_memstats();
	writer_finish();
	t->in_hook = nested;
}

void lifecycle_detach(void)
{
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = HOOK_QUIET;
	if (session_active())
		writer_finish_detach();
	session_end(); /* also when the END could not be written in time */
	session_kick();
	writer_join_thread();
	/* The program's own action again, unless it installed another since
	 * (then that one stays: it is the program's). */
	int sig = ht_session.cfg.snap_signal;
	struct sigaction cur;
	if (sig && snap_saved && sigaction(sig, NULL, &cur) == 0 &&
	    cur.sa_handler == on_snapshot_signal)
		sigaction(sig, &snap_old, NULL);
	snap_saved = 0;
	int fd = ht_session.fd;
	__atomic_store_n(&ht_session.fd, -1, __ATOMIC_RELEASE);
	if (fd >= 0)
		close(fd);
	t->in_hook = nested;
}

int lifecycle_before_exec(const char *path, int untraced_next)
{
	if (!session_recording_here())
		return -1;
	return writer_pause_for_exec(path, untraced_next);
}

void lifecycle_exec_failed(void)
{
	writer_unpause();
	/* In the trace only: a PATH search fails exec after exec, and the
	 * program handles the error itself (issue 20.1). */
	writer_note("exec failed; the image continues after its EXEC record");
}

/* Only the writer lock is held across fork(): it makes the encoder
 * consistent in the child, and its holder never waits for the loader lock.
 * Tables other threads may have been updating (modules, stacks, registry)
 * are rebuilt from scratch in a child that keeps recording, because taking
 * their locks here could deadlock against a thread that holds the loader
 * lock inside dlopen and allocates. */
void lifecycle_fork_prepare(void)
{
	if (!session_active())
		return;
	int nested = ht_tls.in_hook;
	ht_tls.in_hook = HOOK_QUIET;
	writer_lock();
	fork_locked = 1;
	ht_tls.in_hook = nested;
}

void lifecycle_fork_parent(void)
{
	if (!fork_locked)
		return;
	fork_locked = 0;
	writer_unlock();
}

void lifecycle_fork_child(void)
{
	if (!fork_locked)
		return;
	fork_locked = 0;
	writer_unlock();
	int nested = ht_tls.in_hook;
	ht_tls.in_hook = HOOK_QUIET;
	session_fork_child();
	writer_reset_child();
	const config_t *cfg = &ht_session.cfg;
	if (!cfg->follow_fork) {
		/* A child that does not record gets the signal's default
		 * action back (unless the program installed its own since). */
		struct sigaction cur;
		if (cfg->snap_signal && sigaction(cfg->snap_signal, NULL, &cur) == 0 &&
		    cur.sa_handler == on_snapshot_signal)
			util_signal_default(cfg->snap_signal);
		crash_uninstall();
		goto out;
	}
	/* Fresh state: other threads' events in flight died with them. */
	registry_reset_child();
	modules_reset_child();
	stackid_reset_child();
	int fresh;
	int pid = getpid();
	int fd = config_open_output(cfg, pid, 0, &fresh);
	if (fd < 0)
		goto out;
	session_restart_child(pid, fd, fresh);
	if (ht_session.unwind)
		modules_refresh(1);
	if (writer_begin(fresh))
		goto out;
	session_go();
	if (writer_start_thread())
		session_stop("cannot start the writer thread in the fork child");
out:
	ht_tls.in_hook = nested;
}
