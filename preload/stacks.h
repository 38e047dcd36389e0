/* stacks: interns call stacks (native frames + Python frames) into small
 * integer ids.  Producers call stacks_intern() from the hooks: lookups are
 * lock-free, inserts take a spinlock.  The writer reads entries by id
 * (immutable once published).  Memory comes from mmap only. */
#ifndef HT_STACKS_H
#define HT_STACKS_H

#include <stdint.h>

#define STACKS_MAX_FRAMES 256 /* native frames kept at most (HEAPTRAIL_DEPTH cap) */
#define STACKS_MAX_PY 256 /* Python frames kept at most (>= PYFRAMES_MAX) */

typedef struct stack_entry {
	uint64_t hash; /* of flags, frames and Python frames */
	uint32_t id; /* >= 1 */
	uint16_t n; /* native frames */
	uint16_t m; /* Python frames */
	uint32_t flags; /* HT_STACK_* */
	uint32_t mod_gen; /* module-map generation current when interned */
	/* n native IPs, then m words (code id << 32 | line) */
	uint64_t w[];
} stack_entry_t;

/* The word a Python frame is kept as in stack_entry_t.w. */
static inline uint64_t stacks_py_word(uint32_t code, uint32_t line)
{
	return (uint64_t)code << 32 | line;
}

/* Maps the table (capacity 2^bits slots).  0 or -ENOMEM. */
int stacks_init(unsigned bits);
/* Returns the id of this stack, interning it if new.  *is_new tells the
 * caller it was just added (it then refreshes the module map).  Returns the
 * id of a reserved "table full" stack when no slot is left, and 0 only if
 * memory ran out. */
uint32_t stacks_intern(const uint64_t *ips, unsigned n, const uint32_t *py_code,
		       const uint32_t *py_line, unsigned m, unsigned flags, uint32_t mod_gen,
		       int *is_new);
/* The same from a signal handler that may have interrupted an insert on
 * this thread (native frames only).  STACKS_HELD when the code the handler
 * interrupted holds the insert lock (intern the frames once it has
 * returned); 0 when memory ran out or another thread kept the lock for a
 * second. */
#define STACKS_HELD UINT32_MAX
uint32_t stacks_intern_nested(const uint64_t *ips, unsigned n, unsigned flags, uint32_t mod_gen,
			      int *is_new);
/* Entry of id, NULL when unknown. */
const stack_entry_t *stacks_get(uint32_t id);
/* Number of ids handed out. */
uint32_t stacks_count(void);
/* In a fork child that keeps recording: a fresh, empty table. */
void stacks_reset_child(void);

#endif /* HT_STACKS_H */
