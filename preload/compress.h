/* compress: the trace's optional zstd framing (HEAPTRAIL_COMPRESS=1,
 * `record --compress`).  Each writer flush becomes one whole zstd frame,
 * so a trace cut short (SIGKILL, disk full) is readable up to its last
 * complete frame and can be cut back to any flush boundary.  Writer
 * thread only (under the writer's lock); never calls the program's
 * malloc: libzstd's memory comes from mapmem (MAPMEM_WRITER). */
#ifndef HT_COMPRESS_H
#define HT_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* zstd level used (fast: the writer must keep up with the program). */
#define COMPRESS_LEVEL 1

/* Turns compression on for the trace being started (on != 0) or off; the
 * first time on, loads libzstd (dlopen: only compressed traces map it).
 * Returns 0, or -ENOENT (no usable libzstd.so.1) or -ENOMEM (no context):
 * then compression stays off. */
int compress_begin(int on);

/* True while compression is on. */
int compress_on(void);

/* The bytes to write for the flush of buf[0..len): buf itself when off,
 * else one zstd frame in the compressor's own buffer (valid until the
 * next call).  Returns 0, or -EIO when zstd failed (the caller then
 * stops recording: a plain record in a compressed file would be
 * unreadable). */
int compress_frame(const uint8_t *buf, size_t len, const uint8_t **out, size_t *outlen);

/* Whether the file on fd (opened for an image that appends, after an
 * exec) already starts with a zstd frame: 1, 0, or -1 when unknown (fd
 * not readable). */
int compress_file_is_zstd(int fd);

/* Totals since the library started (HEAPTRAIL_WRITERSTATS=1): bytes
 * given to compress_frame, bytes it returned, and the CPU time spent in
 * libzstd (ns, of whichever thread flushed: the writer, or the thread
 * that ended the trace). */
void compress_stats(uint64_t *in, uint64_t *out, uint64_t *cpu_ns);

/* HEAPTRAIL_WRITERSTATS=FILE: appends one line to FILE, the writer
 * thread's CPU (writer_ns), libzstd's and the bytes in and out, for
 * bench/bench.py (which parses it).  Not in the trace, not on the message
 * path.  Never allocates. */
void compress_write_stats(const char *path, uint64_t writer_ns);

/* After fork in the child: drop any half-done frame state. */
void compress_reset_child(void);

#endif /* HT_COMPRESS_H */
