"""`heaptrail timeline`: heap over time of export_mix (8 x 4096 kept, mark
"kept", a 65536-byte peak freed, mark "freed", 3 x 1000 kept): the CSV and
JSON carry the heap series with the marks as `snapshots --json` gives them,
and the chart draws the peak and the marks."""

import csv
import io
import unittest

from helpers import analyze, heaptrail, record, require_tools, target

KEEP, BIG, TAIL = 8 * 4096, 65536, 3 * 1000


class Timeline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.trace = record([target("export_mix")], "timeline_mix", flags=["-q"])
        assert p.returncode == 0, p.stderr

    def rows(self):
        p = heaptrail("timeline", "--csv", self.trace)
        self.assertEqual(p.returncode, 0, p.stderr)
        return list(csv.DictReader(io.StringIO(p.stdout.decode())))

    def test_csv_marks_equal_the_snapshots(self):
        rows = self.rows()
        snaps = analyze("snapshots", self.trace)["snapshots"]
        marks = [(int(r["time_us"]), int(r["heap_bytes"]), int(r["index"]), r["label"])
                 for r in rows if r["kind"] == "snapshot"]
        self.assertEqual(marks, [(s["time_us"], s["heap_bytes"], s["index"], s["label"])
                                 for s in snaps])
        self.assertEqual([m[1] for m in marks], [KEEP, KEEP, KEEP + TAIL])
        times = [int(r["time_us"]) for r in rows]
        self.assertEqual(times, sorted(times), "rows in time order")
        info = analyze("info", self.trace)
        peaks = [r for r in rows if r["kind"] == "peak"]
        self.assertEqual([(int(r["time_us"]), int(r["heap_bytes"])) for r in peaks],
                         [(info["peak_time_us"], KEEP + BIG)])
        heap = [int(r["heap_bytes"]) for r in rows if r["kind"] == "heap"]
        self.assertEqual(max(heap), KEEP + BIG)
        self.assertEqual(heap[-1], KEEP + TAIL)
        # The peak comes between the marks "kept" and "freed".
        kinds = [r["kind"] + ":" + r["label"] for r in rows if r["kind"] != "heap"]
        self.assertEqual(kinds, ["snapshot:kept", "peak:", "snapshot:freed", "snapshot:exit"])

    def test_json_matches_the_csv(self):
        j = analyze("timeline", self.trace)
        rows = self.rows()
        self.assertEqual([[p[0], p[1]] for p in j["heap"]],
                         [[int(r["time_us"]), int(r["heap_bytes"])] for r in rows
                          if r["kind"] == "heap"])
        self.assertEqual(j["peak"]["heap_bytes"], KEEP + BIG)
        self.assertEqual([s["label"] for s in j["snapshots"]], ["kept", "freed", "exit"])
        self.assertGreater(len(j["rss"]), 0)

    def test_chart(self):
        p = heaptrail("timeline", "--width", "60", "--height", "12", self.trace)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertIn("peak (#) 96.0 KiB", lines[0])
        grid = [l for l in lines if l.rstrip().endswith(("|", "^")) or "|" in l[:12] or "^" in l[:12]]
        self.assertEqual(len(grid), 12, lines)
        top = grid[0]
        # Only the peak's span reaches the top row; it starts with '#'.
        self.assertIn("#", top)
        self.assertNotIn("@", top.split("#")[0])
        bottom = grid[-1]
        self.assertEqual(bottom.count("@"), 3, bottom)
        self.assertEqual(bottom.count("#"), 1, bottom)
        self.assertRegex(p.stdout.decode(), r"@  1\s+freed\s+[\d.]+s\s+32\.0 KiB")

    def test_sparkline_in_info_and_snapshots(self):
        # kept 32768, the peak 98304, freed 32768, exit 35768: 8 levels
        # scaled to the peak, rounded (7 * 32768 / 98304 + 0.5 -> level 2).
        bars = "\u2583\u2588\u2583\u2584"
        p = heaptrail("info", self.trace)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"heap marks:   {bars} (the marks and the peak; \u2588 = 96.0 KiB)\n",
                      p.stdout.decode())
        p = heaptrail("snapshots", self.trace)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().splitlines()[-1],
                         f"heap: {bars} (the marks and the peak; \u2588 = 96.0 KiB)")

    def test_bad_input(self):
        p = heaptrail("timeline", "--csv", "--json", self.trace)
        self.assertEqual(p.returncode, 2)
        p = heaptrail("timeline", "/nonexistent.htr")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"/nonexistent.htr", p.stderr)


if __name__ == "__main__":
    unittest.main()
