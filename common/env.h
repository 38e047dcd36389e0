/* env: every environment variable of the contract between `heaptrail
 * record` (analyzer/launcher/record.c), libheaptrail.so (read only by
 * preload/config.c) and the analyzer, with its meaning.  Names only: no
 * code.  The README's Environment table is the user's view of the same list. */
#ifndef HT_COMMON_ENV_H
#define HT_COMMON_ENV_H

/* ---- set by the user or by `heaptrail record`, read by the library ---- */

/* Trace path pattern (names_expand: %p = pid, %% = %); unset or empty: the
 * default name (names_default_trace).  "/dev/null" records without
 * writing (the null sink, for measuring the recorder). */
#define HT_ENV_OUTPUT "HEAPTRAIL_OUTPUT"
/* Native frames kept per stack, 1..256 (default 64). */
#define HT_ENV_DEPTH "HEAPTRAIL_DEPTH"
/* Seconds between timer snapshots, decimals allowed (at least 1 ms). */
#define HT_ENV_SNAPSHOT_EVERY "HEAPTRAIL_SNAPSHOT_EVERY"
/* Signal that marks a snapshot (names_snapshot_signal: name or number). */
#define HT_ENV_SNAPSHOT_SIGNAL "HEAPTRAIL_SNAPSHOT_SIGNAL"
/* "1" (any value but "" and "0"): record forked children, each in its file. */
#define HT_ENV_FOLLOW_FORK "HEAPTRAIL_FOLLOW_FORK"
/* "1": also record fork+exec children (not only HT_ENV_ROOT_PID). */
#define HT_ENV_FOLLOW_EXEC "HEAPTRAIL_FOLLOW_EXEC"
/* "1": the trace is written as zstd frames, one per writer flush
 * (preload/compress.h); every command reads it as it reads a plain one. */
#define HT_ENV_COMPRESS "HEAPTRAIL_COMPRESS"
/* "1" (any value but "" and "0"): aggregated trace (`record --aggregate`):
 * the recorder keeps the heap model and writes per-stack totals at the
 * snapshots, the peak and the end instead of single events. */
#define HT_ENV_AGGREGATE "HEAPTRAIL_AGGREGATE"
/* "1": no informational lines on stderr (errors still print). */
#define HT_ENV_QUIET "HEAPTRAIL_QUIET"
/* "0": no crash handler (preload/crash.h). */
#define HT_ENV_CRASH_FLUSH "HEAPTRAIL_CRASH_FLUSH"
/* "fast" (default), "libunwind" or "verify" (preload/unwind.h). */
#define HT_ENV_UNWIND "HEAPTRAIL_UNWIND"
/* "0": native frames only in Python (read by heaptrail.py); "profile":
 * Python frames from the profile function, not the frame walk. */
#define HT_ENV_PYTHON_FRAMES "HEAPTRAIL_PYTHON_FRAMES"
/* Tests only: the CPython minor version whose frame layout row the frame
 * walk tries, whatever the running version. */
#define HT_ENV_PYTHON_ROW "HEAPTRAIL_PYTHON_ROW"

/* ---- handed from one process to the next ------------------------------ */

/* Pid of the process that records; set by the wrapper, else by the first
 * process that loads the library.  Others record only with FOLLOW_EXEC. */
#define HT_ENV_ROOT_PID "HEAPTRAIL_ROOT_PID"
/* The trace fd opened by the wrapper (or by the recorder before an exec)
 * and its identity "<dev>:<ino>", checked with fstat before use. */
#define HT_ENV_FD "HEAPTRAIL_FD"
#define HT_ENV_FD_ID "HEAPTRAIL_FD_ID"
/* The wrapper's message file (a memfd it reads after the program) and its
 * identity "<dev>:<ino>": the recorder's messages go there instead of the
 * program's fd 2.  Set by hand without an _ID (e.g. HEAPTRAIL_MSG_FD=2),
 * the recorder takes a dup of that descriptor at start. */
#define HT_ENV_MSG_FD "HEAPTRAIL_MSG_FD"
#define HT_ENV_MSG_FD_ID "HEAPTRAIL_MSG_FD_ID"
/* Start of the message the recorder sends when writing the trace failed
 * (the wrapper's summary then names the write failure, not an unclean
 * exit). */
#define HT_MSG_WRITE_FAILED "cannot write the trace"
/* The line a traced process that created its own trace file (a followed
 * child) writes to the wrapper's message file: this prefix, its pid, a
 * space and the trace's absolute path.  The wrapper lists these in its
 * summary and prints none of them (preload/msgfd.c, launcher/record.c). */
#define HT_MSG_TRACE_PREFIX "heaptrail-trace: "
/* Not ours, but set by the wrapper: Python allocations go through malloc
 * (then recorded as such: HT_PROC_PYTHONMALLOC). */
#define HT_ENV_PYTHONMALLOC "PYTHONMALLOC"

/* ---- `heaptrail attach` to the library (attach.c), in the configuration
 * string of heaptrail_attach_start, never in an environment ---------- */

/* The trace: an empty regular file the attacher created for the process. */
#define HT_ENV_ATTACH_TRACE "HEAPTRAIL_ATTACH_TRACE"
/* The attacher's message file: the recorder's lines go there. */
#define HT_ENV_ATTACH_MSG "HEAPTRAIL_ATTACH_MSG"
/* The attacher's pid (the ATTACH record). */
#define HT_ENV_ATTACH_BY "HEAPTRAIL_ATTACH_BY"

/* ---- the wrapper and the analyzer only -------------------------------- */

/* `heaptrail record`: the library to preload (default: beside the binary,
 * or ../lib/). */
#define HT_ENV_LIB "HEAPTRAIL_LIB"
/* Analyzer: "1" reports raw module+offset frames (like --no-symbols). */
#define HT_ENV_NO_SYMBOLS "HEAPTRAIL_NO_SYMBOLS"
/* Analyzer: set (to anything but "" or "0"): no trace index read or written. */
#define HT_ENV_NO_INDEX "HEAPTRAIL_NO_INDEX"
/* Analyzer: "1" replays on one thread, "2" decodes on a second thread. */
#define HT_ENV_REPLAY_THREADS "HEAPTRAIL_REPLAY_THREADS"
/* Extra system-frame patterns for `--by site`, comma-separated globs
 * (analyzer/render/sysframes.h). */
#define HT_ENV_SYSTEM_FRAMES "HEAPTRAIL_SYSTEM_FRAMES"

#endif /* HT_COMMON_ENV_H */
