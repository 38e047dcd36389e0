/* `heaptrail growth TRACE [-n N] [--by KEY] [--step PCT] [--step-min BYTES]
 * [--steps all|N] [--sort bytes|steps] [--include GLOB] [--exclude GLOB]
 * [--frames all|python|native] [--no-symbols] [--json]`: growth chains by
 * stack (growth.h) and high-water steps with their sites grouped by KEY,
 * default lineno (highwater.h).  Called by main.c; not thread-safe. */
#ifndef HEAPTRAIL_CMD_GROWTH_H
#define HEAPTRAIL_CMD_GROWTH_H

/* argv[0] = "growth".  Returns the exit status (0, 1 error, 2 usage). */
int cmd_growth(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_GROWTH_H */
