/* ztail: see ztail.h. */
#include "launcher/ztail.h"

#include <zstd.h>

#include <string.h>
#include <unistd.h>

#define TAIL 1024 /* compressed bytes looked at: END's frame is ~60 */
#define CONTENT 4096 /* its content at most */

int ztail_is_zstd(int fd)
{
	uint8_t m[4];
	return pread(fd, m, 4, 0) == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f &&
	       m[3] == 0xfd;
}

int ztail_read(int fd, off_t size, uint8_t *out, size_t n)
{
	uint8_t buf[TAIL], content[CONTENT];
	size_t len = size < TAIL ? (size_t)size : TAIL;
	if (n > CONTENT || pread(fd, buf, len, size - (off_t)len) != (ssize_t)len)
		return -1;
	/* The last frame starts at a magic from which exactly one whole
	 * frame runs to the end; its checksum rules out a magic that only
	 * happens to occur in compressed data. */
	for (size_t i = len >= 4 ? len - 4 : 0; i + 4 <= len; i--) {
		if (buf[i] == 0x28 && buf[i + 1] == 0xb5 && buf[i + 2] == 0x2f && buf[i + 3] == 0xfd &&
		    ZSTD_findFrameCompressedSize(buf + i, len - i) == len - i) {
			size_t got = ZSTD_decompress(content, sizeof(content), buf + i, len - i);
			if (ZSTD_isError(got) || got < n)
				return -1;
			memcpy(out, content + got - n, n);
			return 0;
		}
		if (i == 0)
			break;
	}
	return -1;
}
