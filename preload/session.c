/* session: see session.h. */
#include "session.h"

#include "heaptrail_format.h"
#include "util.h"

#include <unistd.h>

session_t ht_session = { .fd = -1 };
__thread rec_tls_t ht_tls __attribute__((tls_model("initial-exec")));

int session_recording_here(void)
{
	return session_active() && getpid() == ht_session.pid;
}

void session_begin(const config_t *cfg, int fd, int fresh, int unwind)
{
	ht_session.cfg = *cfg;
	ht_session.depth = cfg->depth ? cfg->depth : CONFIG_DEFAULT_DEPTH;
	ht_session.unwind = unwind;
	ht_session.fd = fd;
	ht_session.fresh = fresh;
	ht_session.pid = getpid();
}

void session_go(void)
{
	__atomic_store_n(&ht_session.state, REC_ON, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ht_session.on, !ht_session.family_off, __ATOMIC_SEQ_CST);
}

int session_end(void)
{
	if (__atomic_exchange_n(&ht_session.state, REC_ENDED, __ATOMIC_SEQ_CST) != REC_ON)
		return 0;
	__atomic_store_n(&ht_session.on, 0, __ATOMIC_SEQ_CST);
	return 1;
}

void session_stop(const char *why)
{
	if (!session_end())
		return;
	char msg[256];
	util_line_t l = { msg, sizeof(msg), 0 };
	util_line_str(&l, why);
	util_line_str(&l, "; recording stopped");
	util_say(1, msg);
	session_kick();
}

void session_fork_child(void)
{
	/* The parent's trace is not ours. */
	int fd = ht_session.fd;
	ht_session.fd = -1; /* first: fdguard refuses to close the trace fd */
	if (fd >= 0)
		close(fd);
	__atomic_store_n(&ht_session.on, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ht_session.state, REC_OFF, __ATOMIC_SEQ_CST);
}

void session_restart_child(int pid, int fd, int fresh)
{
	/* Other threads' events in flight died with them. */
	ht_session.epoch++;
	ht_session.seq = 0;
	ht_session.lost_nomem = ht_session.lost_stopped = ht_session.lost_signal = 0;
	ht_session.lost_own_alloc = 0;
	ht_session.cfg.proc_flags |= HT_PROC_FOLLOWED_FORK;
	ht_session.fd = fd;
	ht_session.pid = pid;
	ht_session.fresh = fresh;
}

void session_kick(void)
{
	__atomic_fetch_add(&ht_session.kick, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ht_session.writer_sleeping, __ATOMIC_SEQ_CST))
		util_futex_wake(&ht_session.kick);
}
