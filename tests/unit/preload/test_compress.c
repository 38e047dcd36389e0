/* compress: a flush becomes one whole zstd frame that inflates to the
 * flushed bytes, with its content size in the header; libzstd's memory
 * comes from mapmem, not malloc (the writer must not take the program's
 * malloc); off, the bytes pass through unchanged. */
#include "compress.h"
#include "mapmem.h"

#include <criterion/criterion.h>
#include <malloc.h>
#include <string.h>
#include <zstd.h>

static uint8_t input[300000];

static void fill(void)
{
	/* Record-like bytes: compressible, not trivially. */
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(input); i++) {
		x = x * 1103515245u + 12345u;
		input[i] = (uint8_t)(i % 7 == 0 ? x >> 24 : (i / 7) & 0x3f);
	}
}

Test(compress, a_flush_is_one_frame_that_inflates_to_it)
{
	fill();
	cr_assert_eq(compress_begin(1), 0);
	const uint8_t *out;
	size_t n;

	cr_assert_eq(compress_frame(input, sizeof(input), &out, &n), 0);

	cr_assert(compress_on());
	cr_assert_lt(n, sizeof(input) / 2);
	cr_assert_eq(ZSTD_findFrameCompressedSize(out, n), n, "not exactly one frame");
	cr_assert_eq(ZSTD_getFrameContentSize(out, n), sizeof(input));
	static uint8_t back[sizeof(input)];
	cr_assert_eq(ZSTD_decompress(back, sizeof(back), out, n), sizeof(input));
	cr_assert_eq(memcmp(back, input, sizeof(input)), 0);
	uint64_t in, outb, ns;
	compress_stats(&in, &outb, &ns);
	cr_assert_eq(in, sizeof(input));
	cr_assert_eq(outb, n);
}

Test(compress, libzstd_memory_is_mapmem_not_malloc)
{
	fill();
	uint64_t w0, wp0;
	mapmem_use_stats(MAPMEM_WRITER, &w0, &wp0);
	size_t heap0 = mallinfo2().uordblks;
	const uint8_t *out;
	size_t n;

	cr_assert_eq(compress_begin(1), 0);
	cr_assert_eq(compress_frame(input, sizeof(input), &out, &n), 0);
	cr_assert_eq(compress_frame(input, 1000, &out, &n), 0);

	cr_assert_eq(mallinfo2().uordblks, heap0, "libzstd called malloc");
	uint64_t w1, wp1;
	mapmem_use_stats(MAPMEM_WRITER, &w1, &wp1);
	cr_assert_gt(w1, w0 + 64 * 1024, "the context and frame buffer are not in mapmem");
}

Test(compress, off_passes_the_bytes_through)
{
	cr_assert_eq(compress_begin(0), 0);
	const uint8_t *out;
	size_t n;
	static const uint8_t b[3] = { 1, 2, 3 };

	cr_assert_eq(compress_frame(b, sizeof(b), &out, &n), 0);

	cr_assert_not(compress_on());
	cr_assert_eq(out, b);
	cr_assert_eq(n, 3);
}
