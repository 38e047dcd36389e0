"""Issue 12's leak-candidate rule on programs with known shapes
(targets/leak_shapes.c): a leak that stops before exit, stepwise table
doubling and timer snapshots from start-up are found with their exact
growth; a full ring and growth trimmed again are not (each beside a real
leak, which is).  Growth is the retained growth from the first point of
the series to the last."""

import unittest

from helpers import analyze, record, require_tools, site, site_totals, target

KIB = 1024


class LeakRule(unittest.TestCase):
    def setUp(self):
        require_tools()

    def leaks(self, mode, flags=()):
        p, path = record([target("leak_shapes"), mode], f"leak_shapes_{mode}",
                         flags=["-q", *flags])
        self.assertEqual(p.returncode, 0, p.stderr)
        return analyze("leaks", path, "-n", "0")

    def cands_at(self, doc, tag):
        """Candidates whose innermost frame is the @site:TAG line."""
        where = site("leak_shapes.c", tag)
        return [c for c in doc["candidates"]
                if c["frames"] and c["frames"][0].get("line") == where[1]
                and (c["frames"][0].get("file") or "").endswith(where[0])]

    def assert_only(self, doc, tag, growth, series=None):
        found = self.cands_at(doc, tag)
        self.assertEqual(len(found), 1, f"candidates at @site:{tag}: {doc['candidates']!r:.3000}")
        self.assertEqual(len(doc["candidates"]), 1,
                         f"other candidates: {doc['candidates']!r:.3000}")
        self.assertEqual(found[0]["growth"], growth)
        if series is not None:
            self.assertEqual(found[0]["series"], series)
        return found[0]

    def test_a_leak_that_stops_before_exit_is_found(self):
        # Issue 12: six phases of 100 KiB, a snapshot after each, exit.  The
        # last interval (to the exit snapshot) is flat.
        doc = self.leaks("phases")
        c = self.assert_only(doc, "leak_phase", 5 * 100 * KIB,
                             [p * 100 * KIB for p in range(1, 7)] + [600 * KIB])
        self.assertEqual((c["grew_intervals"], c["intervals"]), (5, 6))

    def test_a_full_ring_is_not_a_candidate(self):
        doc = self.leaks("ring")
        self.assertEqual(self.cands_at(doc, "ring_put"), [])
        self.assert_only(doc, "leak_phase", 9 * 100 * KIB)
        # The ring is still live at the end: listed there, not as a leak.
        self.assertEqual(site_totals(doc["stats"], "ring_put", site("leak_shapes.c", "ring_put")),
                         (63, 9 * 28 * KIB))

    def test_growth_trimmed_again_is_not_a_candidate(self):
        doc = self.leaks("trim")
        self.assertEqual(self.cands_at(doc, "trim_grow"), [])
        self.assert_only(doc, "leak_phase", 5 * 100 * KIB)

    def test_candidates_rank_by_retained_growth(self):
        # Issue 12 ("rank by retained growth"): a burst leak of 600 KiB in
        # half the intervals comes before a steady one of 500 KiB.
        doc = self.leaks("rank")
        burst, steady = self.cands_at(doc, "burst_leak"), self.cands_at(doc, "leak_phase")
        self.assertEqual((len(burst), len(steady), len(doc["candidates"])), (1, 1, 2),
                         f"{doc['candidates']!r:.3000}")
        self.assertEqual(doc["candidates"][0], burst[0])
        self.assertEqual((burst[0]["growth"], burst[0]["grew_intervals"]), (600 * KIB, 3))
        self.assertEqual((steady[0]["growth"], steady[0]["grew_intervals"]), (500 * KIB, 5))

    def test_stepwise_table_doubling_is_found(self):
        # 128 KiB made in doubling_run, then doubled from table_add at phases
        # 2, 4 and 7: flat in between.  By traceback the doubling stack
        # holds every table after the first.
        doc = self.leaks("doubling")
        self.assert_only(doc, "table_reserve", 1024 * KIB,
                         [0, 256 * KIB, 256 * KIB, 512 * KIB, 512 * KIB,
                          512 * KIB, 1024 * KIB, 1024 * KIB])
        # By line, the first table and its successors are one site.
        path = record([target("leak_shapes"), "doubling"], "leak_shapes_doubling",
                      flags=["-q"])[1]
        doc = analyze("leaks", path, "--by", "lineno")
        self.assert_only(doc, "table_reserve", 1024 * KIB - 128 * KIB,
                         [128 * KIB, 256 * KIB, 256 * KIB, 512 * KIB, 512 * KIB,
                          512 * KIB, 1024 * KIB, 1024 * KIB])

    def test_timer_snapshots_from_start_up_do_not_hide_the_leak(self):
        # Snapshots every 5 ms from the start: about 12 in 60 ms of start-up
        # before the leak begins, and some between its phases.
        doc = self.leaks("startup", ["--snapshot-every", "0.005"])
        self.assertGreaterEqual(doc["series_points"], 12, doc["points"])
        c = self.assert_only(doc, "leak_phase", 600 * KIB)
        self.assertEqual(c["series"][0], 0)
        self.assertEqual(c["series"][-1], 600 * KIB)
        self.assertEqual(self.cands_at(doc, "startup_table"), [])


if __name__ == "__main__":
    unittest.main()
