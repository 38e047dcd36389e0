/* Byte source of the reader: a zstd-compressed trace (`record
 * --compress`: one zstd frame per writer flush) inflated into memory the
 * reader decodes as it decodes a plain file, so every command and the
 * trace index read compressed traces transparently.  Called by reader.c
 * when a file starts with the zstd magic.  Not thread-safe (one reader). */
#ifndef HEAPTRAIL_SOURCE_H
#define HEAPTRAIL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inflated traces at least this large go to an unlinked file in $TMPDIR
 * (else /tmp), mapped, so the reader's memory does not grow with them;
 * smaller ones (and when no such file can be made) to anonymous memory. */
#define SOURCE_FILE_MIN ((uint64_t)64 << 20)

typedef struct source {
	uint8_t *data; /* the records: the concatenated frames' content */
	uint64_t len; /* bytes at data */
	uint64_t frames; /* complete frames inflated */
	uint64_t zbytes; /* compressed bytes they took (the rest: a torn frame) */
	bool cut; /* the input ended inside a frame (recording killed) */
	bool file_backed; /* data maps a temporary file (pages may be dropped) */
} source_t;

/* True when p[0..n) starts with the zstd frame magic. */
bool source_is_zstd(const uint8_t *p, size_t n);

/* Inflates the frames of p[0..n) into *s.  A last frame torn by the end
 * of the input is left out (s->cut).  Returns 0, or a negative errno with
 * one line naming `name` and what to do in err: -EBADMSG for a corrupt
 * frame (bad header, data or checksum), -ENOMEM, -ENOSPC. */
int source_inflate(const uint8_t *p, size_t n, const char *name, source_t *s,
		   char *err, size_t errlen);

/* Releases what source_inflate made; a zeroed source is a no-op. */
void source_free(source_t *s);

#endif /* HEAPTRAIL_SOURCE_H */
