/* gotpatch: rewrites a loaded module's GOT slots (R_X86_64_JUMP_SLOT and
 * R_X86_64_GLOB_DAT relocations) for a given set of symbol names, keeping
 * each slot's old value so it can be put back.  Knows nothing about
 * allocators: the caller decides, slot by slot, what to write.  Used by
 * hooks.c for RTLD_DEEPBIND libraries and allocators preloaded before us
 * (and meant for a later `heaptrail attach`).  Not thread-safe: callers
 * serialize (hooks.c holds its own lock).  Never allocates. */
#ifndef HT_GOTPATCH_H
#define HT_GOTPATCH_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>

/* What the decision callback learns about one slot. */
typedef struct gotpatch_slot {
	size_t sym; /* index into the caller's names[] */
	void *cur; /* value the slot holds now */
	int lazy; /* cur points into the module itself: a JUMP_SLOT not bound yet */
	int defined; /* the module itself defines the symbol (st_shndx != UNDEF) */
} gotpatch_slot_t;

/* Returns the value to write into the slot, or NULL to leave it. */
typedef void *(*gotpatch_decide_fn)(void *arg, const gotpatch_slot_t *slot);

typedef struct gotpatch_result {
	unsigned patched; /* slots written now */
	unsigned matched; /* slots of a named symbol seen (written or not) */
	unsigned unbound; /* slots not relocated yet (module mid-dlopen): retry later */
	int err; /* 0, or negative errno of the first slot that could not be written */
} gotpatch_result_t;

/* Walks module `info`'s JUMP_SLOT and GLOB_DAT relocations whose symbol is
 * one of names[0..n) and asks decide() for each; writes what it returns
 * (RELRO pages are made writable for the write and read-only again).
 * 0, or -ENOEXEC when the module has no usable dynamic tables. */
int gotpatch_module(const struct dl_phdr_info *info, const char *const *names, size_t n,
		    gotpatch_decide_fn decide, void *arg, gotpatch_result_t *res);

/* Puts back every slot patched in the module loaded at bias (the
 * dl_phdr_info dlpi_addr), or in every module when all != 0.  Returns the
 * number of slots restored.  The module must still be loaded. */
unsigned gotpatch_restore(uintptr_t bias, int all);

/* Puts back, in every module, the slots of symbol name (match != 0) or
 * of every other symbol (match == 0).  Returns the number restored. */
unsigned gotpatch_restore_name(const char *name, int match);

/* The address of name as defined by the module itself (bias, dynamic
 * section: a link map's l_addr and l_ld), from its GNU hash table: a
 * global or weak function or object with a section, default version.
 * NULL when the module does not define it (an undefined symbol, even a
 * non-PIE program's canonical PLT entry, is not a definition) or has no
 * GNU hash table, or it is an IFUNC (its value is the resolver).  No
 * locks, no allocation. */
void *gotpatch_lookup(uintptr_t bias, const ElfW(Dyn) *dyn, const char *name);

/* Slots currently patched (for tests and diagnostics). */
unsigned gotpatch_count(void);

#endif /* HT_GOTPATCH_H */
