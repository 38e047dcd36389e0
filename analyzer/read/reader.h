/* Trace reader: turns a .htr file (or buffer) into decoded events in file
 * order, one pass, memory independent of the file (mmap, pages dropped
 * behind).  Called by analysis.c and pipe.c, tests and the fuzzer.  Not
 * thread-safe (one thread at a time: pipe.c's decoder thread, then the
 * caller); never crashes on any input (bad bytes become an error with an
 * offset). */
#ifndef HEAPTRAIL_READER_H
#define HEAPTRAIL_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heaptrail_format.h"

typedef struct reader reader_t;

/* What reader_next() produced.  Hot ops and extended records map 1:1,
 * except THREAD-switch and TIME ops, which are folded into every event's
 * `thread` and `time_us` fields and never delivered on their own. */
typedef enum rd_kind {
	RD_ALLOC = 1, /* MALLOC op and ALLOC op (any kind) */
	RD_FREE,
	RD_REALLOC, /* realloc of a non-NULL block that returned non-NULL */
	RD_PROCESS,
	RD_MODULES,
	RD_STACK,
	RD_PYCODE,
	RD_THREAD,
	RD_SNAPSHOT,
	RD_RSS,
	RD_LOST,
	RD_EXEC,
	RD_WARNING,
	RD_END,
	RD_SIGNAL, /* the image is dying of a fatal signal (END follows) */
	RD_MEMORY, /* the recorder's own memory (before END) */
	RD_CLOCK, /* the resolution of the image's event times */
	RD_AGGREGATE, /* the image is aggregated (record --aggregate) */
	RD_AGG_STATE, /* per-stack totals that changed (aggregated image) */
	RD_AGG_PEAK, /* the peak's per-stack breakdown (aggregated image) */
	RD_AGG_HEAP, /* a heap sample (aggregated image) */
	RD_ATTACH, /* the image was attached to while running (after PROCESS) */
	RD_DETACH, /* recording stopped at a detach (before END) */
} rd_kind_t;

typedef struct rd_segment {
	uint64_t vaddr; /* p_vaddr */
	uint64_t memsz; /* p_memsz, bytes */
	uint64_t flags; /* p_flags (PF_X = 1, PF_W = 2, PF_R = 4) */
} rd_segment_t;

typedef struct rd_module {
	const char *path; /* "" = main executable */
	uint64_t bias; /* load bias (dlpi_addr) */
	const uint8_t *build_id; /* NULL when build_id_len == 0 */
	size_t build_id_len;
	const rd_segment_t *segs; /* PT_LOAD segments */
	size_t nsegs;
} rd_module_t;

/* One stack's totals in AGG_STATE / AGG_PEAK (heaptrail_format.h). */
typedef struct rd_agg_site {
	uint64_t stack; /* stack id */
	uint64_t live_bytes, live_count;
	uint64_t alloc_count; /* AGG_STATE only (0 in AGG_PEAK) */
	uint64_t alloc_bytes; /* since the start (AGG_PEAK: by the peak) */
} rd_agg_site_t;

typedef struct rd_pyref {
	uint64_t code; /* PYCODE id (>= 1 in valid traces) */
	uint64_t line; /* line number being executed */
} rd_pyref_t;

/* One decoded event.  Pointers (strings, arrays) point into the reader's
 * scratch space and stay valid only until the next reader_next() call.
 * Strings are NUL-terminated (a NUL inside the string ends it early). */
typedef struct rd_event {
	rd_kind_t kind;
	uint64_t offset; /* byte offset of the record in the file */
	uint64_t time_us; /* us since the image start (last TIME op) */
	uint32_t thread; /* current thread index (THREAD op) */
	union {
		struct {
			uint64_t addr;
			uint64_t size; /* bytes requested (calloc: nmemb*size) */
			uint64_t stack; /* stack id */
			uint64_t align; /* alignment, 0 unless memalign kinds */
			uint8_t kind; /* HT_KIND_* (MALLOC op = HT_KIND_MALLOC) */
		} alloc;
		struct {
			uint64_t addr;
			uint64_t site; /* free site's stack id (HT_REC_FREESITE),
					* 0 = unknown (and in older traces) */
		} free;
		struct {
			uint64_t old_addr;
			uint64_t new_addr; /* == old_addr when resized in place */
			uint64_t size; /* new size, bytes */
			uint64_t stack; /* stack id */
		} realloc;
		struct {
			uint64_t pid, ppid;
			uint64_t start_unix_ns;
			uint64_t page_size;
			const char *version; /* recorder version */
			const char *exe; /* executable path */
			const char *const *argv; /* argc strings */
			size_t argc;
			uint64_t flags; /* HT_PROC_* */
			uint32_t image; /* 0 for the first PROCESS, 1 after the first exec, ... */
		} process;
		struct {
			uint64_t generation;
			const rd_module_t *mods;
			size_t count;
		} modules;
		struct {
			uint64_t id;
			uint64_t flags; /* HT_STACK_* */
			const uint64_t *ips; /* return addresses, innermost first */
			size_t nips;
			const rd_pyref_t *py; /* innermost first */
			size_t npy;
		} stack;
		struct {
			uint64_t id;
			const char *file;
			const char *function; /* qualified name */
			uint64_t firstline;
		} pycode;
		struct {
			uint64_t index;
			uint64_t tid;
			const char *name; /* "" = unknown */
		} thread;
		struct {
			uint64_t index;
			uint64_t origin; /* HT_SNAP_* */
			const char *label;
		} snapshot;
		struct {
			uint64_t bytes;
		} rss;
		struct {
			uint64_t count;
			uint64_t reason; /* HT_LOST_* */
		} lost;
		struct {
			const char *path;
		} exec;
		struct {
			const char *text;
		} warning;
		struct {
			uint64_t events; /* recorded by this image */
			uint64_t lost; /* lost by this image */
			uint64_t end_time_us;
		} end;
		struct {
			uint64_t signo;
			uint64_t time_us;
		} signal;
		struct {
			uint64_t peak; /* bytes mapped at once, at most */
			uint64_t now; /* bytes mapped when it was written */
		} memory;
		struct {
			uint64_t resolution_ns;
		} clock;
		struct {
			uint64_t flags;
		} aggregate;
		struct {
			uint64_t heap_bytes, heap_blocks; /* live, every stack */
			uint64_t allocs, frees, reallocs; /* events so far */
			uint64_t unknown_frees, bytes_allocated;
			uint64_t by_kind[HT_KIND_COUNT]; /* allocations by HT_KIND_* */
			const rd_agg_site_t *sites; /* the stacks that changed */
			size_t n;
		} agg_state;
		struct {
			uint64_t bytes, blocks, time_us; /* the peak */
			const rd_agg_site_t *sites; /* stacks live then */
			size_t n;
		} agg_peak;
		struct {
			uint64_t bytes, blocks;
		} agg_heap;
		struct {
			uint64_t proc_start_ns; /* unix ns, 0 = unknown */
			uint64_t attacher; /* pid, 0 = unknown */
		} attach;
		struct {
			uint64_t time_us;
		} detach;
	} u;
} rd_event_t;

/* Opens `path` ("-" = standard input), validates magic and version.  On failure returns a negative
 * errno and writes a one-line message naming the file and what to do into
 * err (e.g. "x.htr: not a heaptrail trace (bad magic)").  -EPROTO = wrong
 * version, -EINVAL = bad magic / too short. */
int reader_open(const char *path, reader_t **out, char *err, size_t errlen);

/* Same over a caller-owned buffer (kept alive until reader_close).  `name`
 * is used in messages. */
int reader_open_mem(const void *data, size_t len, const char *name,
		    reader_t **out, char *err, size_t errlen);

/* Follow mode, for a trace still being written (`heaptrail live`): opens
 * a regular file as reader_open does, but reads it with pread into a
 * window instead of mapping it, and a record torn by the end of what was
 * read is not truncation: reader_next returns 0 before it, and
 * reader_refresh reads what the writer added since, so that decoding
 * resumes there with the decoder state kept.  Memory: the window (16 MiB,
 * more only for a longer record).  reader_seek is not for follow mode. */
int reader_open_follow(const char *path, reader_t **out, char *err,
		       size_t errlen);

/* Follow mode: reads the bytes the file gained since the last call.
 * Returns their number (0: nothing new; always 0 outside follow mode), or
 * a negative errno with reader_error() set: -ESTALE when the recorder
 * cut the file back behind the events already decoded.  An END record
 * that the recorder took back (a failed exec) is undone: decoding goes on
 * where it was. */
int64_t reader_refresh(reader_t *r);
bool reader_following(const reader_t *r);

/* Decodes the next event into *ev.  Returns 1 with an event, 0 at the end
 * of the trace (clean or truncated: see reader_truncated), or -EBADMSG for
 * a corrupt record (reader_error() then says where and what to do; the
 * reader stays at the error).  Records after an END are still decoded (a
 * PROCESS after it starts a new image). */
int reader_next(reader_t *r, rd_event_t *ev);

/* Moves to the record starting at byte `offset` (a position an earlier
 * reader_next reported as ev->offset), for decoding single extended
 * records out of order.  Hot ops decoded after a seek are meaningless
 * (their address and time deltas need the records before).  Returns 0,
 * or -EINVAL when offset is outside the records. */
int reader_seek(reader_t *r, uint64_t offset);

/* Decodes up to max events into ev[0..*n), as that many reader_next
 * calls would, faster (the hot operations' loop keeps the decoder state in
 * registers).  Returns reader_next's return after the last event: 1 when
 * more may follow, 0 at the end, or the error (the *n events before it
 * are valid).  Unless the scratch is held (below), a record ends the
 * batch, its strings valid until the next call; held, records past 8 MiB
 * of strings and arrays end it. */
int reader_next_batch(reader_t *r, rd_event_t *ev, size_t max, size_t *n);

/* Batch mode, for a reader decoding on its own thread ahead of the
 * consumer: with hold set, the strings and arrays of extended records are
 * no longer freed by the next reader_next call, but stay valid until the
 * arena holding them, taken with reader_take_scratch (which leaves the
 * reader an empty one), is given to reader_scratch_free.  Either call is
 * for the thread driving the reader; reader_scratch_free for any thread. */
void reader_hold_scratch(reader_t *r, bool hold);
void *reader_take_scratch(reader_t *r);
void reader_scratch_free(void *scratch);

/* True once reader_next returned 0 without having seen an END record of
 * the last image: the recorder was killed or the file was cut.  A record
 * torn by the end of the file counts as truncation, not corruption. */
bool reader_truncated(const reader_t *r);

/* True after an END record was read. */
bool reader_saw_end(const reader_t *r);

/* Last error message ("" if none). */
const char *reader_error(const reader_t *r);

/* Byte position reached, and the total size (for progress). */
uint64_t reader_offset(const reader_t *r);
uint64_t reader_size(const reader_t *r);

/* Bytes of the file as opened: the compressed size of a zstd trace
 * (reader_size is then the decompressed size, in which offsets count). */
uint64_t reader_file_bytes(const reader_t *r);
/* Complete zstd frames of a compressed trace; 0 for a plain one. */
uint64_t reader_zstd_frames(const reader_t *r);
/* True when the compressed file ended inside a frame (left out: the
 * recording was killed while writing it). */
bool reader_zstd_cut(const reader_t *r);

/* Format version found in the header. */
uint32_t reader_version(const reader_t *r);

void reader_close(reader_t *r);

#endif /* HEAPTRAIL_READER_H */
