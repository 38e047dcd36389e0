/* heaptrail trace format (.htr): constants, record layouts and the varint
 * codec shared by the recorder (writer side) and the analyzer (reader side).
 * Header-only and dependency-free; every function is pure and thread-safe.
 * Any change to a layout below bumps HT_FORMAT_VERSION. */
#ifndef HEAPTRAIL_FORMAT_H
#define HEAPTRAIL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * File layout
 *
 *   offset 0   8 bytes  magic   89 48 54 52 0d 0a 1a 0a   ("\x89HTR\r\n\x1a\n")
 *   offset 8   u32 LE   format version (HT_FORMAT_VERSION)
 *   offset 12  u32 LE   flags (0; reserved)
 *   offset 16  records, until end of file
 *
 * The magic catches text-mode mangling (CR/LF, ^Z) the way PNG's does.
 *
 * Compressed traces (`heaptrail record --compress`, HEAPTRAIL_COMPRESS=1):
 * the file is a sequence of zstd frames (RFC 8878, magic 28 b5 2f fd)
 * whose concatenated content is exactly the layout above, header
 * included; no record or version changes.  The recorder writes one frame
 * per flush of its buffer, and a flush holds whole records only, so every
 * frame boundary is a record boundary: a file cut at a frame boundary is a
 * valid (truncated) trace.  Each frame is independent (no history across
 * frames), carries its content size and a checksum, and END is written in
 * a small frame of its own (a reader of the file's last bytes finds it).
 * An image after an exec appends its frames to the same file.  Readers
 * tell the two forms apart by the first four bytes.
 *
 * Every record starts with one unsigned LEB128 varint, the *head*:
 *
 *   head = payload << 3 | op          (op = head & 7, payload = head >> 3)
 *
 * The five hot operations (free, malloc, realloc, other allocations, thread
 * switch, time) pack their first field into the head so a free costs one
 * varint.  op 7 introduces an *extended record*: payload is the record type
 * (HT_REC_*), followed by a varint body length and the body, so a reader
 * can skip types it does not know and can tell a torn record from a whole
 * one.
 *
 * Records are in one global order: the order in which the events happened
 * in the traced process (the recorder's writer merges the per-thread rings
 * by a global sequence number).  A free of address A by one thread and a
 * later allocation returning A in another thread therefore appear as FREE
 * then ALLOC.
 *
 * Definitions precede uses: a STACK record appears before the first event
 * naming its id, a MODULES record before any STACK whose frames lie in its
 * modules, a PYCODE before any STACK naming it, a THREAD record before the
 * THREAD op naming its index.
 *
 * State a reader keeps while decoding (all reset to 0 at the start of the
 * file and at every PROCESS record):
 *   prev_addr   last address of any FREE, MALLOC, ALLOC or REALLOC op
 *   thread      current thread index (0 = the first thread seen)
 *   free_site   the site of the frees that follow (HT_REC_FREESITE)
 *   time_us     microseconds since the image's start_unix_ns
 *   ord, lifo   version 2's address model (below)
 *
 * Version 2: the address model.  Most of a trace is addresses, and two
 * facts about allocators make most of them predictable:
 *   - a block is usually freed a bounded number of allocations after its
 *     own: a FREE may name its block by that distance (its *age*), which
 *     is smaller than a distance between addresses in a large heap;
 *   - an allocation usually returns a block of the same size class that
 *     the same thread freed recently (glibc's tcache and fastbins, and
 *     most allocators, are last-in first-out per size class): MALLOC and
 *     ALLOC may name the address by its position in a short list of such
 *     frees.
 * Both sides keep, besides prev_addr:
 *   ord    allocations so far: every MALLOC, ALLOC and REALLOC op gives
 *          its (new) block the ordinal ord, then increments it
 *   lifo   for each thread slot (thread index % HT_LIFO_THREADS) and size
 *          class (ht_size_class of the requested size, HT_LIFO_CLASSES of
 *          them), the last HT_LIFO_DEPTH addresses freed by age, newest
 *          first (0 = empty)
 * A reader also keeps the address and size class of the last
 * HT_AGE_WINDOW allocations by ordinal, to resolve ages.
 *   FREE payload    = age << 1 | 1  (1 <= age <= min(ord, HT_AGE_WINDOW):
 *                     the block of ordinal ord - age; its address is then
 *                     pushed onto lifo[thread slot][its class] unless its
 *                     size is above the classes)
 *                   | addr code << 1
 *   MALLOC / ALLOC payload = j << 1 | 1  (j < HT_LIFO_DEPTH: the address is
 *                     entry j of lifo[thread slot][class of the size that
 *                     follows], which is removed from the list)
 *                   | addr code << 1
 *   REALLOC         as in version 1 (no model bits); its new block gets
 *                   an ordinal.
 * The writer decides which form to use (an age only for blocks it still
 * knows); the reader only follows the bits.  In version 1 every payload
 * is the bare addr code and there is no ord or lifo.
 * ---------------------------------------------------------------------- */

#define HT_MAGIC "\x89HTR\r\n\x1a\n"
#define HT_MAGIC_LEN 8
#define HT_HEADER_LEN 16
#define HT_FORMAT_VERSION 2u
/* Oldest version readers still accept: version 1 is version 2 without the
 * address model (see "Version 2" below): every address is an addr code. */
#define HT_FORMAT_VERSION_MIN 1u

/* Hot operations (head & 7). */
enum ht_op {
	/* FREE: payload = the freed address, as an age or an addr code
	 *   (version 2 model above).
	 *   example: free(0x5555_5555_a2c0) of an address the writer does not
	 *   know, right after malloc returned 0x5555_5555_a2a0: delta +0x20 =
	 *   2 granules -> zz 4 -> code 8 -> payload 16 -> head 16<<3|0 = 0x80
	 *   -> 80 01; the same free of the block allocated 3 allocations ago:
	 *   payload 3<<1|1 = 7 -> head 0x38 -> 1 byte: 38 */
	HT_OP_FREE = 0,
	/* MALLOC: payload = the returned address (lifo position or addr
	 *   code, version 2 model above), then varint size (bytes requested),
	 *   varint stack id.
	 *   example: malloc(100) at stack 3 returning prev_addr+0x70, not in
	 *   the lifo: delta 0x70 = 7 granules -> zz 14 -> code 28 -> payload
	 *   56 -> head 56<<3|1 = 449 -> c1 03, 64, 03; the same malloc
	 *   returning the newest free of its class: payload 0<<1|1 -> head
	 *   0x09 -> 09, 64, 03 */
	HT_OP_MALLOC = 1,
	/* REALLOC of a non-NULL block that returned non-NULL:
	 *   payload = addr code of the OLD address (relative to prev_addr;
	 *   prev_addr becomes old), then varint addr code of the NEW address
	 *   (relative to old; prev_addr becomes new), varint new size,
	 *   varint stack id.  Moved-or-in-place is new != old. */
	HT_OP_REALLOC = 2,
	/* ALLOC of any other kind: payload = the returned address (as for
	 *   MALLOC), then one byte kind (HT_KIND_*), varint size, varint stack id, and
	 *   for HT_KIND_MEMALIGN/POSIX_MEMALIGN/ALIGNED_ALLOC a varint alignment.
	 *   calloc's size is nmemb * size; realloc(NULL, n) is kind REALLOC;
	 *   reallocarray(NULL, n, m) is kind REALLOCARRAY. A reallocarray of a
	 *   non-NULL block is coded as HT_OP_REALLOC. */
	HT_OP_ALLOC = 3,
	/* THREAD switch: payload = thread index; following events belong to it.*/
	HT_OP_THREAD = 4,
	/* TIME: payload = microseconds elapsed since the previous TIME (or the
	 *   image start).  The recorder writes one when an event's clock stamp
	 *   (HT_REC_CLOCK) or a writer cycle moves the clock on, so an event's
	 *   time is the last TIME before it, a lower bound accurate to the
	 *   resolution that the CLOCK record gives. */
	HT_OP_TIME = 5,
	/* 6 is reserved. */
	HT_OP_RECORD = 7,
};

/* Allocation kinds (HT_OP_ALLOC's kind byte; MALLOC and REALLOC ops imply
 * their kind). */
enum ht_kind {
	HT_KIND_MALLOC = 0,
	HT_KIND_CALLOC = 1,
	HT_KIND_REALLOC = 2,
	HT_KIND_REALLOCARRAY = 3,
	HT_KIND_POSIX_MEMALIGN = 4,
	HT_KIND_ALIGNED_ALLOC = 5,
	HT_KIND_MEMALIGN = 6,
	HT_KIND_VALLOC = 7,
	HT_KIND_PVALLOC = 8,
	HT_KIND_COUNT
};

/* Extended record types (op 7).  Body layouts; "str" is a varint byte
 * length followed by that many bytes (no NUL). */
enum ht_rec {
	/* PROCESS: a traced image starts (once per exec'd image; the analyzer
	 * discards the heap of the previous image when a second one arrives).
	 *   varint pid, varint ppid, varint start_unix_ns, varint page_size,
	 *   str recorder version, str executable path, varint argc, argc x str,
	 *   varint flags (HT_PROC_*).
	 * ppid links the traces of a followed run (one per process) into the
	 * process tree that `heaptrail report run.*.htr` shows; image counts
	 * the PROCESS records of the file (exec chains: `--image N`). */
	HT_REC_PROCESS = 1,
	/* MODULES: the complete module map, replacing the previous one.
	 *   varint generation, varint count, count x {
	 *     str path ("" = main executable, as dl_iterate_phdr reports it),
	 *     varint load bias (dlpi_addr), varint build-id length, bytes,
	 *     varint segment count, segments x { varint p_vaddr, varint p_memsz,
	 *     varint p_flags } }  (PT_LOAD segments only) */
	HT_REC_MODULES = 2,
	/* STACK: an interned stack.
	 *   varint id (>= 1), varint flags (HT_STACK_*), varint n native frames,
	 *   frame 0 as varint, frames 1..n-1 as varint zigzag(ip[i] - ip[i-1]),
	 *   varint m python frames, m x { varint pycode id, varint line }.
	 * Native frames run innermost first, starting at the caller of the
	 * allocation function (the recorder's own frames are dropped).  Every
	 * native frame is a return address: symbolize ip - 1.
	 * Python frames run innermost first; the analyzer merges them into the
	 * native frames in place of the interpreter's evaluation frames. */
	HT_REC_STACK = 3,
	/* PYCODE: a Python code object.
	 *   varint id (>= 1), str filename, str qualified function name,
	 *   varint first line. */
	HT_REC_PYCODE = 4,
	/* THREAD: defines (or renames) a thread index.
	 *   varint index, varint tid, str name ("" = unknown). */
	HT_REC_THREAD = 5,
	/* SNAPSHOT: a named snapshot mark at this point of the event order.
	 *   varint index (0, 1, ... within the image), varint origin
	 *   (HT_SNAP_*), str label. */
	HT_REC_SNAPSHOT = 6,
	/* RSS: resident set size sampled now.  varint bytes. */
	HT_REC_RSS = 7,
	/* LOST: events the recorder could not record since the last LOST.
	 *   varint count, varint reason (HT_LOST_*). */
	HT_REC_LOST = 8,
	/* EXEC: the image is about to execve(); all its events are above.
	 *   str path.  If a PROCESS record follows, the new image is traced. */
	HT_REC_EXEC = 9,
	/* WARNING: the recorder's own one-line diagnostic.  str text. */
	HT_REC_WARNING = 10,
	/* END: the image finished: cleanly, or by the fatal signal that a
	 * SIGNAL record just before it names.  Always the last record of a
	 * complete trace: every event of the image is above it.  Fixed body
	 * of HT_END_BODY_LEN bytes so a tool can read it from the last
	 * HT_END_RECORD_LEN bytes of the file:
	 *   u64 LE events recorded by this image, u64 LE events lost,
	 *   u64 LE end time (us since start), 8 bytes HT_END_MAGIC. */
	HT_REC_END = 11,
	/* SIGNAL: the image is dying of a fatal signal (a crash: SIGSEGV,
	 * SIGBUS, SIGILL, SIGFPE or SIGABRT, whose action was the default
	 * one).  The recorder's crash handler writes it, then END, before the
	 * default action ends the process.  A reader that does not know the
	 * type skips it (the layouts above are unchanged, so no version bump).
	 *   varint signal number, varint time (us since start). */
	HT_REC_SIGNAL = 12,
	/* FREESITE: where the FREE ops that follow were made, until the next
	 * FREESITE: the reader's state free_site, a stack id (0 = unknown;
	 * reset to 0 at every PROCESS record).
	 *   varint zigzag(new free_site - free_site).
	 * The stack is a one-frame *site* (HT_STACK_FREESITE): the return
	 * address into free()'s caller, plus the innermost Python frame when
	 * Python frames are captured; not a full unwind.  The writer writes
	 * one only when the site changes, so a loop that frees at one line
	 * pays for it once.  Readers that do not know the type skip it: the
	 * frees are then simply without a site (no version bump).
	 *   example: frees at site stack 9 after site 0: head 13<<3|7 = 0x6f,
	 *   length 1, zigzag(+9) = 18 -> 6f 01 12; then site 7: zz(-2) = 3
	 *   -> 6f 01 03 */
	HT_REC_FREESITE = 13,
	/* MEMORY: the recorder's own memory (the anonymous mappings it made
	 * for its rings, tables and buffers), written just before END.  New
	 * in 0.1 traces after format v2 was frozen; a reader that does not
	 * know it skips it, and older traces simply lack it (no version bump).
	 *   varint peak bytes mapped at once, varint bytes mapped now. */
	HT_REC_MEMORY = 14,
	/* CLOCK: the resolution of event times, right after PROCESS.  Each
	 * thread stamps its events with its own clock reading whenever that
	 * clock has moved on by one tick since its last stamp, so an event's
	 * time (the last TIME before it) is within one tick before the moment
	 * it happened (in a burst a thread reads its clock on one event in 16:
	 * up to 15 events right after a pause keep the time before it).
	 * Without this record (traces of recorders before it)
	 * times are the writer's cycles: up to 10 ms early.  Skipped by
	 * readers that do not know it (no version bump).
	 *   varint resolution in ns. */
	HT_REC_CLOCK = 15,
	/* ---- aggregated traces (`heaptrail record --aggregate`) ----------
	 * The recorder keeps the heap model itself and writes no FREE,
	 * MALLOC, REALLOC or ALLOC op: instead, per-stack totals at every
	 * snapshot, the peak's breakdown and the end.  STACK, MODULES,
	 * PYCODE, THREAD, SNAPSHOT, RSS, LOST, WARNING, MEMORY and END are
	 * as in a full trace (END counts the events the model took in).  A
	 * reader that does not know these types sees a trace without
	 * allocations (no version bump: full traces are unchanged).
	 *
	 * AGGREGATE: this image is aggregated; right after PROCESS and CLOCK.
	 *   varint flags (0). */
	HT_REC_AGGREGATE = 16,
	/* AGG_STATE: the per-stack live and allocation totals of the stacks
	 * that changed since the previous AGG_STATE of the image (absolute
	 * values, not deltas), written right before each SNAPSHOT, before
	 * EXEC and before END, so a SNAPSHOT sees the heap as it was there;
	 * also every 5 s without a snapshot (a trace cut short by SIGKILL
	 * then ends at most 5 s back).
	 *   varint heap bytes, varint heap blocks (live, every stack),
	 *   varint allocations, varint frees, varint reallocs (events so
	 *   far), varint frees of unknown addresses, varint bytes allocated,
	 *   varint k, k x varint allocations of kind HT_KIND_0.. (k =
	 *   HT_KIND_COUNT when written; a reader takes the kinds it knows),
	 *   varint n, n x { varint stack id, varint live bytes, varint live
	 *   blocks, varint allocations, varint bytes allocated }.
	 *   example: stack 3 holds 2 blocks of 100 bytes, allocated 5 times
	 *   (500 bytes), nothing else changed: ... 01 03 c8 01 02 05 f4 03
	 * Stack id HT_AGG_STARTUP_ID (0, never a STACK's) in AGG_STATE and
	 * AGG_PEAK is Python's start-up: at the HT_SNAP_PY_MAIN mark the
	 * recorder gives it every live block and every allocation so far
	 * (what the analyzer does itself for a full trace). */
	HT_REC_AGG_STATE = 17,
	/* AGG_PEAK: the heap at its highest so far (the first moment it was
	 * reached) and every stack's share then: exactly what a full trace's
	 * replay finds at that peak.  Written before END (and before EXEC)
	 * and at a snapshot when the peak rose since the last AGG_PEAK (so a
	 * trace cut short keeps a recent one); the last one holds.
	 *   varint peak bytes, varint peak blocks, varint time (us since
	 *   start), varint n, n x { varint stack id, varint live bytes,
	 *   varint live blocks, varint bytes allocated by then } (stacks with
	 *   no live block then are left out). */
	HT_REC_AGG_PEAK = 18,
	/* AGG_HEAP: the live heap now (the timeline), at most every 10 ms of
	 * the writer's cycle, when it changed; dated by the TIME before it.
	 *   varint heap bytes, varint heap blocks. */
	HT_REC_AGG_HEAP = 19,
	/* ATTACH: the image was already running when recording began
	 * (`heaptrail attach`): right after PROCESS and CLOCK, whose
	 * start_unix_ns is then the moment of the attach.  Blocks allocated
	 * before it are unknown, so their frees and reallocs are frees of
	 * blocks from before the attach, not anomalies.  Readers that do not
	 * know the type skip it (no version bump).
	 *   varint process start (unix ns, from /proc/self/stat; 0 = unknown),
	 *   varint attacher pid (0 = unknown).
	 *   example: a process started at unix 1.7e18 ns, attached by pid 4242:
	 *   head 20<<3|7 = 0xa7 0x01, length, 2 varints */
	HT_REC_ATTACH = 20,
	/* DETACH: recording stopped at `heaptrail detach` (or the end of
	 * `heaptrail attach`) while the process runs on: just before the
	 * last snapshot (origin HT_SNAP_EXIT, label "detach") and END.  What is live at the end is what
	 * was live at the detach.
	 *   varint time (us since start). */
	HT_REC_DETACH = 21,
};

/* A file that starts with this line is not a trace: the recorder was
 * loaded but could not start, and the rest of the line says why (for
 * example an address-space limit).  Written instead of a header. */
#define HT_NOT_STARTED_MAGIC "heaptrail: recording did not start: "

/* AGG_STATE / AGG_PEAK: the stack of Python's start-up (see there). */
#define HT_AGG_STARTUP_ID 0u

/* A trace being written (what `heaptrail live` reads while it grows):
 * the writer appends whole records, in buffers flushed every 100 ms or
 * 256 KiB, but a buffer may reach the file in pieces (short writes), so a
 * reader of the growing file can meet a record cut by the end of the
 * file: it waits at the record's start and reads on when the file grows.
 * The file shrinks in two cases only: an exec that fails takes back the
 * END written before it (the image goes on writing at its offset), and
 * after a failed write the file is cut back to the end of a whole
 * earlier flush before WARNING and END are written. */
#define HT_END_MAGIC "HTR-END\0"
#define HT_END_BODY_LEN 32
/* head (0x5f = 11<<3|7) + length byte (32) + body */
#define HT_END_RECORD_LEN (2 + HT_END_BODY_LEN)

enum ht_proc_flags {
	HT_PROC_PYTHONMALLOC = 1 << 0, /* PYTHONMALLOC=malloc was set */
	HT_PROC_FOLLOWED_FORK = 1 << 1, /* image is a --follow-fork child */
};

enum ht_stack_flags {
	HT_STACK_TRUNCATED = 1 << 0, /* more frames than --depth */
	HT_STACK_UNWIND_ERROR = 1 << 1, /* unwinder stopped on an error */
	HT_STACK_FREESITE = 1 << 2, /* a free site (HT_REC_FREESITE): one
				     * frame and at most one Python frame */
};

enum ht_snap_origin {
	HT_SNAP_API = 0, /* heaptrail_snapshot() */
	HT_SNAP_TIMER = 1, /* --snapshot-every */
	HT_SNAP_SIGNAL = 2, /* --snapshot-signal */
	HT_SNAP_EXIT = 3, /* recorded at exit (labelled "detach" at a detach) */
	/* Python (heaptrail.py, through the _heaptrail built-in module):
	 * start-up is over, the main module is about to start; what is live
	 * here is the interpreter's start-up. */
	HT_SNAP_PY_MAIN = 4,
	/* Python: the program's own code is done (the atexit handler that
	 * runs last), finalization has not started. */
	HT_SNAP_PY_TEARDOWN = 5,
};

enum ht_lost_reason {
	HT_LOST_NO_MEMORY = 1, /* ring or table could not be allocated */
	HT_LOST_STOPPED = 2, /* recording stopped after an internal failure */
	HT_LOST_AFTER_END = 3, /* events after the end record was due */
	HT_LOST_SIGNAL = 4, /* in a signal handler that interrupted the recorder,
			     * when its pending list was full or no stack
			     * could be taken there, or (over an allocator
			     * other than glibc's) at all */
	/* The executable defines part of the malloc family (malloc, free,
	 * calloc or realloc: an allocator of its own): none of the family is
	 * recorded, so that the trace never mixes two allocators' blocks;
	 * each call that reached the recorder anyway (a member the program
	 * does not define, called by it or by libc) is counted here.  Older
	 * readers add it to the total like any reason. */
	HT_LOST_OWN_ALLOCATOR = 5,
};

/* ------------------------------------------------------------------------
 * Codec.  Writers need at most HT_VARINT_MAX bytes per varint.
 * ---------------------------------------------------------------------- */

#define HT_VARINT_MAX 10

static inline size_t ht_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Decodes one varint from [*pp, end).  Returns 0 and advances *pp, or -1
 * when the input ends inside the varint or it is longer than 10 bytes. */
static inline int ht_get_varint(const uint8_t **pp, const uint8_t *end,
				uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*out = v;
			return 0;
		}
	}
	return -1;
}

static inline uint64_t ht_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t ht_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Address code: the signed distance from the previous address, in 16-byte
 * granules when it is a multiple of 16 (glibc's malloc alignment), else in
 * bytes; bit 0 says which.
 *   code = zigzag(delta / 16) << 1        if delta % 16 == 0
 *   code = zigzag(delta) << 1 | 1         otherwise */
static inline uint64_t ht_addr_code(uint64_t addr, uint64_t prev)
{
	int64_t delta = (int64_t)(addr - prev);
	if ((delta & 15) == 0)
		return ht_zigzag(delta / 16) << 1;
	return ht_zigzag(delta) << 1 | 1;
}

static inline uint64_t ht_addr_decode(uint64_t code, uint64_t prev)
{
	/* Unsigned arithmetic: a hostile code must wrap, not overflow (UB). */
	uint64_t delta = (uint64_t)ht_unzigzag(code >> 1);
	if (!(code & 1))
		delta *= 16;
	return prev + delta;
}

/* ---- version 2 address model (see the top of this file) --------------- */

#define HT_AGE_WINDOW_BITS 20
#define HT_AGE_WINDOW (1u << HT_AGE_WINDOW_BITS) /* allocations a reader keeps */
#define HT_LIFO_THREADS 64 /* thread slots: thread index % 64 */
#define HT_LIFO_CLASSES 64 /* size classes 0..63: requests of 0..1032 bytes */
#define HT_LIFO_DEPTH 8 /* addresses kept per (thread slot, class) */
#define HT_NO_CLASS 0xffu /* requests above 1032 bytes have no class */

/* The size class of a requested size: the requests that share one 16-byte
 * chunk size of a 64-bit glibc malloc (0-24, 25-40, 41-56, ... 1017-1032
 * bytes: the sizes its per-thread cache serves); classes that straddle an
 * allocator's own would predict worse, never wrongly. */
static inline unsigned ht_size_class(uint64_t size)
{
	if (size > 1032)
		return HT_NO_CLASS;
	return size <= 24 ? 0 : (unsigned)((size + 23) >> 4) - 2;
}

typedef struct ht_lifo {
	uint64_t a[HT_LIFO_THREADS][HT_LIFO_CLASSES][HT_LIFO_DEPTH]; /* 0 = empty */
} ht_lifo_t;

/* The list of (thread, cls); cls < HT_LIFO_CLASSES. */
static inline uint64_t *ht_lifo_row(ht_lifo_t *l, uint32_t thread, unsigned cls)
{
	return l->a[thread % HT_LIFO_THREADS][cls];
}

/* Position of addr (!= 0) in row, or -1. */
static inline int ht_lifo_find(const uint64_t *row, uint64_t addr)
{
	for (int j = 0; j < HT_LIFO_DEPTH; j++)
		if (row[j] == addr)
			return j;
	return -1;
}

/* Removes and returns entry j (0 when empty). */
static inline uint64_t ht_lifo_take(uint64_t *row, unsigned j)
{
	uint64_t a = row[j];
	for (unsigned k = j; k + 1 < HT_LIFO_DEPTH; k++)
		row[k] = row[k + 1];
	row[HT_LIFO_DEPTH - 1] = 0;
	return a;
}

/* Puts addr first; the oldest entry falls off. */
static inline void ht_lifo_push(uint64_t *row, uint64_t addr)
{
	for (unsigned k = HT_LIFO_DEPTH - 1; k > 0; k--)
		row[k] = row[k - 1];
	row[0] = addr;
}

static inline void ht_put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t ht_get_u64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void ht_put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t ht_get_u32le(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

#endif /* HEAPTRAIL_FORMAT_H */
