/* config: the only reader of the environment in the library (the
 * variables are named in common/env.h) and the opener of the trace file.
 * Called from the library constructor and the fork child handler
 * (single-threaded moments), under the hooks' re-entrancy guard (setenv of
 * HEAPTRAIL_ROOT_PID is the only allocation); config_python from Python's
 * install, with the GIL. */
#ifndef HT_CONFIG_H
#define HT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_DEPTH 64u
#define CONFIG_HIGH_FD 700 /* our trace fd is moved to at least this number */

typedef struct config {
	unsigned depth; /* native frames kept (1..STACKS_MAX_FRAMES) */
	uint64_t snap_every_ns; /* 0 = no timer snapshots */
	int snap_signal; /* 0 = no snapshot signal */
	int follow_fork; /* HEAPTRAIL_FOLLOW_FORK=1 */
	int follow_exec; /* HEAPTRAIL_FOLLOW_EXEC=1 */
	int quiet; /* HEAPTRAIL_QUIET=1 */
	int crash_flush; /* 1 unless HEAPTRAIL_CRASH_FLUSH=0 (crash.h) */
	int root_pid; /* HEAPTRAIL_ROOT_PID (set by config_load if absent) */
	unsigned proc_flags; /* HT_PROC_* for the PROCESS record */
	int unwind_mode; /* UNWIND_* (unwind.h) from HEAPTRAIL_UNWIND */
	int null_sink; /* HEAPTRAIL_OUTPUT=/dev/null: record, write nothing */
	int compress; /* HEAPTRAIL_COMPRESS=1: zstd frames (compress.h) */
	int aggregate; /* HEAPTRAIL_AGGREGATE=1: per-stack totals, no events */
} config_t;

/* The Python frame settings, read when Python support installs (a test
 * may set them after the library started). */
typedef struct config_python {
	int profile; /* HEAPTRAIL_PYTHON_FRAMES=profile: no frame walk */
	int row; /* HEAPTRAIL_PYTHON_ROW: layout row to try (minor), 0 = own */
} config_python_t;

/* Parses the environment into c (bad values: one warning, default kept).
 * Also sets util_quiet. */
void config_load(config_t *c);
/* Reads the settings from get (name -> value or NULL) instead of the
 * environment from now on; NULL: the environment again.  An attach
 * (attach.c) passes its configuration string this way, since the
 * program's environment cannot change. */
void config_use_source(char *(*get)(const char *));
/* Reads the Python frame settings now. */
void config_python(config_python_t *out);

/* Whether the process with this pid records at all (root pid, or any pid
 * with follow_exec).  Fork children are decided by the fork handler. */
int config_should_record(const config_t *c, int pid);

/* Opens the trace for process pid: HEAPTRAIL_FD (root only, validated with
 * fstat against HEAPTRAIL_FD_ID) or a new file from HEAPTRAIL_OUTPUT / the
 * default name.  Sets *fresh when the file is empty (header needed).
 * Returns the fd or a negative errno after printing one line on stderr. */
int config_open_output(const config_t *c, int pid, int use_env_fd, int *fresh);

/* Builds "HEAPTRAIL_FD=<fd>" and "HEAPTRAIL_FD_ID=<dev>:<ino>" for an exec
 * in the recording process.  0 or negative errno. */
int config_fd_env(int fd, char *fd_var, size_t fd_cap, char *id_var, size_t id_cap);


#endif /* HT_CONFIG_H */
