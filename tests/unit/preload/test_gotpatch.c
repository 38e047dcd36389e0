/* gotpatch: redirecting a module's GOT slots for named symbols and putting
 * them back (issue 14, defect 5: RTLD_DEEPBIND libraries bypassed the
 * hooks; the same patcher is the base of a later attach).  The module
 * patched is this test program itself: its calls to getppid go through a
 * JUMP_SLOT, and taking getppid's address loads a GLOB_DAT slot that the
 * loader made read-only (RELRO) after relocating. */
#include <criterion/criterion.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "gotpatch.h"

static pid_t fake_getppid(void)
{
	return 424242;
}

static void *to_fake(void *arg, const gotpatch_slot_t *s)
{
	(void)arg;
	(void)s;
	return (void *)&fake_getppid;
}

static void *leave(void *arg, const gotpatch_slot_t *s)
{
	int *asked = arg;
	(*asked)++;
	(void)s;
	return NULL;
}

static int first_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(struct dl_phdr_info *)arg = *info; /* the executable comes first */
	return 1;
}

static struct dl_phdr_info self(void)
{
	struct dl_phdr_info info;
	dl_iterate_phdr(first_module, &info);
	return info;
}

/* Reads the address through the GOT every time (not folded to a constant). */
static pid_t (*volatile where)(void);

static const char *const names[] = { "getppid" };

static void unpatch(void)
{
	gotpatch_restore(0, 1);
}

Test(gotpatch, patched_slots_send_calls_and_addresses_to_the_new_function, .fini = unpatch)
{
	struct dl_phdr_info info = self();
	pid_t real = getppid();
	gotpatch_result_t r;

	int err = gotpatch_module(&info, names, 1, to_fake, NULL, &r);

	cr_assert_eq(err, 0);
	cr_assert_eq(r.err, 0);
	cr_assert_geq(r.patched, 1);
	cr_assert_eq(r.patched, r.matched);
	cr_assert_eq(getppid(), 424242);
	where = getppid;
	cr_assert_eq(where, &fake_getppid);
	cr_assert_neq(real, 424242);
}

Test(gotpatch, restore_puts_back_every_slot_of_the_module)
{
	struct dl_phdr_info info = self();
	pid_t real = getppid();
	gotpatch_result_t r;
	gotpatch_module(&info, names, 1, to_fake, NULL, &r);
	cr_assert_eq(gotpatch_count(), r.patched);

	unsigned back = gotpatch_restore(info.dlpi_addr, 0);

	cr_assert_eq(back, r.patched);
	cr_assert_eq(gotpatch_count(), 0);
	cr_assert_eq(getppid(), real);
	where = getppid;
	cr_assert_neq(where, &fake_getppid);
}

Test(gotpatch, a_decision_to_leave_a_slot_writes_nothing)
{
	struct dl_phdr_info info = self();
	int asked = 0;
	gotpatch_result_t r;

	gotpatch_module(&info, names, 1, leave, &asked, &r);

	cr_assert_eq(r.patched, 0);
	cr_assert_eq(asked, (int)r.matched);
	cr_assert_geq(r.matched, 1);
	cr_assert_eq(gotpatch_count(), 0);
	cr_assert_neq(getppid(), 424242);
}

Test(gotpatch, names_the_module_does_not_import_match_nothing)
{
	struct dl_phdr_info info = self();
	static const char *const none[] = { "no_such_function_anywhere" };
	gotpatch_result_t r;

	cr_assert_eq(gotpatch_module(&info, none, 1, to_fake, NULL, &r), 0);

	cr_assert_eq(r.matched, 0);
	cr_assert_eq(r.patched, 0);
}

static struct link_map *map_named(const char *part)
{
	for (struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next)
		if (lm->l_name && strstr(lm->l_name, part))
			return lm;
	return NULL;
}

Test(gotpatch, lookup_finds_a_definition_in_the_module_that_has_it)
{
	struct link_map *libc = map_named("libc.so");
	cr_assert_not_null(libc);
	where = getppid; /* libc's, through this program's GOT */

	void *found = gotpatch_lookup(libc->l_addr, libc->l_ld, "getppid");

	cr_assert_eq(found, (void *)where);
}

Test(gotpatch, lookup_does_not_take_an_import_for_a_definition)
{
	/* The head of the link map is this program, which only imports
	 * getppid; nor does libc define a name nobody has. */
	struct link_map *self_map = _r_debug.r_map;
	struct link_map *libc = map_named("libc.so");

	cr_assert_null(gotpatch_lookup(self_map->l_addr, self_map->l_ld, "getppid"));
	cr_assert_null(gotpatch_lookup(libc->l_addr, libc->l_ld, "no_such_function_anywhere"));
}
