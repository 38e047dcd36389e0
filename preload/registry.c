/* registry: see registry.h. */
#include "registry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>

registry_t ht_reg;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t thread_key;
static int key_ok;
static void (*exit_cb)(void); /* producer caches of an exiting thread */

static void read_name(char out[16])
{
	memset(out, 0, 16);
	prctl(PR_GET_NAME, out, 0, 0, 0);
	out[15] = 0;
}

/* The registry lock is taken with trylock (a few tries) on paths that may
 * run at exit from a signal handler that interrupted this very thread
 * inside register_thread; names are then updated or read a bit later or
 * without the lock (a rename racing the read is harmless). */
static int reg_trylock(void)
{
	for (int i = 0; i < 100; i++) {
		if (pthread_mutex_trylock(&reg_lock) == 0)
			return 0;
		sched_yield();
	}
	return -1;
}

static void set_name(rec_thread_t *th, const char name[16])
{
	if (reg_trylock())
		return;
	if (strncmp(th->name, name, 16)) {
		memcpy(th->name, name, 16);
		th->name_gen++;
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Key destructor: the thread is exiting.  Other keys' destructors may
 * still allocate, so the slot stays live (the key re-armed) until glibc's
 * last destructor round; anything allocated even later registers a fresh
 * slot (and re-arms the key again). */
static void thread_gone(void *arg)
{
	rec_tls_t *t = &ht_tls;
	rec_thread_t *th = arg;
	int saved = errno;
	if (t->th == th && t->epoch == ht_session.epoch &&
	    ++t->dtor_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
		pthread_setspecific(thread_key, th);
	} else if (t->th == th && t->epoch == ht_session.epoch) {
		char name[16];
		read_name(name);
		set_name(th, name);
		__atomic_store_n(&th->state, SLOT_DEAD, __ATOMIC_SEQ_CST);
		t->th = NULL;
		t->gave_up = ht_session.epoch + 1;
		if (exit_cb)
			exit_cb();
		session_kick();
	}
	errno = saved;
}

rec_thread_t *registry_add(rec_tls_t *t)
{
	rec_thread_t *th = NULL;
	pthread_mutex_lock(&reg_lock);
	for (uint32_t i = 0; i < REC_MAX_THREADS; i++) {
		if (__atomic_load_n(&ht_reg.threads[i].state, __ATOMIC_ACQUIRE) == SLOT_FREE) {
			th = &ht_reg.threads[i];
			if (i >= ht_reg.nthreads)
				__atomic_store_n(&ht_reg.nthreads, i + 1, __ATOMIC_SEQ_CST);
			break;
		}
	}
	if (th && !th->ring)
		__atomic_store_n(&th->ring, ring_create(REC_RING_FIRST), __ATOMIC_RELEASE);
	if (!th || !th->ring) {
		pthread_mutex_unlock(&reg_lock);
		return NULL;
	}
	ring_reset(th->ring);
	th->tid = util_gettid();
	th->index = REC_NO_INDEX;
	th->again = t->gave_up == ht_session.epoch + 1;
	read_name(th->name);
	th->name_gen++;
	__atomic_store_n(&th->state, SLOT_LIVE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&reg_lock);
	t->th = th;
	t->epoch = ht_session.epoch;
	t->dtor_rounds = 0;
	if (key_ok)
		pthread_setspecific(thread_key, th);
	return th;
}

void registry_thread_name(rec_thread_t *th, char out[16], uint32_t *gen)
{
	int locked = reg_trylock() == 0;
	memcpy(out, th->name, 16);
	out[15] = 0;
	*gen = th->name_gen;
	if (locked)
		pthread_mutex_unlock(&reg_lock);
}

void registry_slot_free(rec_thread_t *th)
{
	/* Not now if the registry is busy: the next drain frees it. */
	if (reg_trylock())
		return;
	__atomic_store_n(&th->state, SLOT_FREE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&reg_lock);
}

void registry_refresh_names(void)
{
	uint32_t n = __atomic_load_n(&ht_reg.nthreads, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		if (__atomic_load_n(&th->state, __ATOMIC_ACQUIRE) != SLOT_LIVE)
			continue;
		char path[64], buf[64];
		util_line_t l = { path, sizeof(path), 0 };
		util_line_str(&l, "/proc/self/task/");
		util_line_u64(&l, (uint64_t)th->tid);
		util_line_str(&l, "/comm");
		long r = util_read_file(path, buf, sizeof(buf));
		if (r == -ENOENT) {
			/* Thread gone without running our key destructor. */
			__atomic_store_n(&th->state, SLOT_DEAD, __ATOMIC_SEQ_CST);
			continue;
		}
		if (r <= 0)
			continue;
		if (buf[r - 1] == '\n')
			buf[r - 1] = 0;
		char name[16];
		memset(name, 0, sizeof(name));
		memcpy(name, buf, r < 15 ? (size_t)r : 15);
		name[15] = 0;
		set_name(th, name);
	}
}

void registry_init(void (*on_thread_exit)(void))
{
	exit_cb = on_thread_exit;
	if (!key_ok)
		key_ok = pthread_key_create(&thread_key, thread_gone) == 0;
}

void registry_reset_child(void)
{
	pthread_mutex_init(&reg_lock, NULL);
	for (uint32_t i = 0; i < REC_MAX_THREADS; i++) {
		rec_thread_t *th = &ht_reg.threads[i];
		if (th->ring)
			ring_reset(th->ring);
		th->state = SLOT_FREE;
		th->index = REC_NO_INDEX;
	}
	ht_reg.nthreads = 0;
	ht_tls.th = NULL;
}
