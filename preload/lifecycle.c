/* lifecycle: see lifecycle.h. */
#include "lifecycle.h"

#include "tick.h"

#include "crash.h"
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
#include <string.h>
#include <unistd.h>

static int fork_locked; /* the writer lock is held across fork() */
static int no_native_stacks; /* seam.h */

void seam_no_native_stacks(void)
{
	no_native_stacks = 1;
}

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

int lifecycle_start(const config_t *cfg, int fd, int fresh)
{
	int unwind = !no_native_stacks;
	session_begin(cfg, fd, fresh, unwind);
	int err = stacks_init(20);
	if (err)
		return err;
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
		return err;
	session_go();
	err = writer_start_thread();
	if (err) {
		session_stop("cannot start the writer thread");
		return err;
	}
	if (cfg->snap_signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_snapshot_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(cfg->snap_signal, &sa, NULL);
	}
	if (cfg->crash_flush)
		crash_install(on_crash, cfg->snap_signal);
	return 0;
}

void lifecycle_finish(void)
{
	if (!session_active())
		return;
	rec_tls_t *t = &ht_tls;
	int nested = t->in_hook;
	t->in_hook = 1;
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
	writer_finish();
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
	writer_warn("exec failed; the image continues after its EXEC record");
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
	ht_tls.in_hook = 1;
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
	ht_tls.in_hook = 1;
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
