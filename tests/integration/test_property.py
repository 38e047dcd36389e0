"""Property test of the recorder's ordering and losslessness under
concurrency (issue 14): random programs (targets/randprog.c, one per seed)
count their own events; the trace must hold exactly those, in an order in
which every free and realloc names a live block and no allocation returns
a live address.  HEAPTRAIL_SEEDS (default 200) sets how many seeds run;
`make stress` runs more."""

import os
import unittest

from helpers import decode_events, read_end, record, require_tools, target

SEEDS = int(os.environ.get("HEAPTRAIL_SEEDS", "200"))


def ours(size):
    return 3001 <= size <= 3999 and size % 2


class RandomPrograms(unittest.TestCase):
    def setUp(self):
        require_tools()

    def check(self, seed):
        p, path = record([target("randprog"), str(seed)], f"randprog_{seed}", flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        words = p.stdout.split()
        want = (int(words[1]), int(words[3]), int(words[5]))
        self.assertIsNotNone(read_end(path), f"seed {seed}: no END")
        live, allocs, frees, reallocs = set(), 0, 0, 0
        for ev in decode_events(path):
            if ev[0] == "alloc" and ours(ev[2]):
                self.assertNotIn(ev[1], live, f"seed {seed}: allocation on a live address")
                live.add(ev[1])
                allocs += 1
            elif ev[0] == "free" and ev[1] in live:
                live.discard(ev[1])
                frees += 1
            elif ev[0] == "realloc" and ours(ev[3]):
                self.assertIn(ev[1], live, f"seed {seed}: realloc of a block not live")
                live.discard(ev[1])
                self.assertNotIn(ev[2], live, f"seed {seed}: realloc onto a live address")
                live.add(ev[2])
                reallocs += 1
            elif ev[0] == "torn":
                self.fail(f"seed {seed}: torn trace")
        self.assertEqual((allocs, frees, reallocs), want, f"seed {seed}")
        os.unlink(path)

    def test_random_programs_are_recorded_exactly(self):
        for seed in range(1, SEEDS + 1):
            with self.subTest(seed=seed):
                self.check(seed)
