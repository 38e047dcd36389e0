/* mapmem: the recorder's own mappings are counted (now and at the peak,
 * per use), and a start-up that failed unmaps everything it mapped
 * (issue 20: a recorder that could not start kept 15.6 MB mapped). */
#include "mapmem.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

/* Whether [p, p+len) is still mapped (mincore fails with ENOMEM if not). */
static int mapped(void *p, size_t len)
{
	unsigned char vec[64];
	return mincore(p, len, vec) == 0;
}

Test(mapmem, counts_bytes_now_and_at_the_peak_per_use)
{
	uint64_t now0 = mapmem_now(), u_now0, u_peak0;
	mapmem_use_stats(MAPMEM_RING, &u_now0, &u_peak0);

	void *a = mapmem_map(3 * 4096, MAPMEM_RING, 0);
	void *b = mapmem_map(5000, MAPMEM_RING, 0); /* rounded up to 2 pages */
	mapmem_unmap(a, 3 * 4096, MAPMEM_RING);

	cr_assert_not_null(b);
	cr_assert_eq(mapmem_now(), now0 + 2 * 4096);
	cr_assert_geq(mapmem_peak(), now0 + 5 * 4096);
	uint64_t u_now, u_peak;
	mapmem_use_stats(MAPMEM_RING, &u_now, &u_peak);
	cr_assert_eq(u_now, u_now0 + 2 * 4096);
	cr_assert_eq(u_peak, u_now0 + 5 * 4096);
	cr_assert_str_eq(mapmem_use_name(MAPMEM_RING), "rings");
}

Test(mapmem, remap_counts_the_new_size)
{
	uint64_t now0 = mapmem_now();
	void *a = mapmem_map(4096, MAPMEM_WRITER, 0);
	void *b = mapmem_remap(a, 4096, 16 * 4096, MAPMEM_WRITER);
	cr_assert_not_null(b);
	cr_assert_eq(mapmem_now(), now0 + 16 * 4096);
	b = mapmem_remap(b, 16 * 4096, 2 * 4096, MAPMEM_WRITER);
	cr_assert_eq(mapmem_now(), now0 + 2 * 4096);
	mapmem_unmap(b, 2 * 4096, MAPMEM_WRITER);
	cr_assert_eq(mapmem_now(), now0);
}

Test(mapmem, a_failed_start_unmaps_what_it_mapped)
{
	uint64_t now0 = mapmem_now();
	void *before = mapmem_map(4096, MAPMEM_STACKS, 0); /* not in the transaction */
	mapmem_track_begin();
	void *a = mapmem_map(8 * 4096, MAPMEM_STACKS, 0);
	void *b = mapmem_map(4096, MAPMEM_WRITER, 0);
	void *c = mapmem_remap(b, 4096, 4 * 4096, MAPMEM_WRITER);
	void *d = mapmem_map(4096, MAPMEM_MODULES, 0);
	mapmem_unmap(d, 4096, MAPMEM_MODULES);
	mapmem_track_end(1);

	cr_assert(!mapped(a, 8 * 4096));
	cr_assert(!mapped(c, 4 * 4096));
	cr_assert(mapped(before, 4096));
	cr_assert_eq(mapmem_now(), now0 + 4096);
}

Test(mapmem, a_good_start_keeps_its_mappings)
{
	mapmem_track_begin();
	void *a = mapmem_map(4096, MAPMEM_STACKS, 0);
	mapmem_track_end(0);
	mapmem_track_end(1); /* nothing tracked any more */
	cr_assert(mapped(a, 4096));
}
