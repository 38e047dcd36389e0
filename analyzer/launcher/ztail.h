/* ztail: the last bytes of a zstd-compressed trace (`record --compress`)
 * for the wrapper's summary, which looks for the END record there.  The
 * recorder writes END in a small frame of its own, so only the file's
 * tail is read and inflated.  Called by record.c; thread-safe (no state). */
#ifndef HT_ZTAIL_H
#define HT_ZTAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* True when the file on fd starts with the zstd frame magic. */
int ztail_is_zstd(int fd);

/* Copies the last n bytes of the content of the frame that ends the file
 * (fd, size bytes) into out.  Returns 0, or -1 when the file does not end
 * with a whole, small frame holding at least n bytes (a torn frame: the
 * recording was cut short). */
int ztail_read(int fd, off_t size, uint8_t *out, size_t n);

#endif /* HT_ZTAIL_H */
