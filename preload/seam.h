/* seam: the knobs the unit tests (tests/unit/preload) turn and the
 * library never does.  They are kept out of the modules' own headers so
 * that production code cannot reach them by accident.  Single-threaded
 * test setup only; each is defined in the module it reaches into. */
#ifndef HT_SEAM_H
#define HT_SEAM_H

/* unwind.c: switches the unwinder's mode (UNWIND_*, unwind.h) after
 * unwind_init; libunwind when the fast tables are missing. */
void unwind_set_mode(int mode);

/* lifecycle.c: the next lifecycle_start records without native stacks
 * (no unwinder, no module map; every stack is empty): the writer's tests
 * then see exactly the events they made. */
void seam_no_native_stacks(void);

/* writer.c: hold 1 takes the writer's lock, so that the writer thread
 * stops before its next cycle (a writer starved of CPU, deterministically);
 * hold 0 (from the same thread) lets it go on. */
void seam_writer_hold(int hold);

#endif /* HT_SEAM_H */
