"""`heaptrail check` (issue 18, the CI gate) and `heaptrail record --check`:
exit 0 when every limit holds, 1 with a short report when one is broken,
2 on usage errors; limits are compared exactly (the bytes of
targets/leaks.c: 4480 leaked, a 304480-byte peak)."""

import json
import os
import unittest

from helpers import analyze, heaptrail, record, require_tools, scratch_dir, target

LEAKED = 4480
PEAK = 304480


class Check(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.dir = scratch_dir("check")
        p, cls.trace = record([target("leaks")], None, flags=["-q"],
                              output=os.path.join(cls.dir, "leaks.htr"))
        assert p.returncode == 0, p.stderr
        p, cls.shapes = record([target("leak_shapes"), "phases"], None, flags=["-q"],
                               output=os.path.join(cls.dir, "phases.htr"))
        assert p.returncode == 0, p.stderr

    def check(self, *args, trace=None):
        return heaptrail("check", trace or self.trace, *args)

    def test_limits_are_inclusive_to_the_byte(self):
        for args, rc in [(("--max-leaked", str(LEAKED)), 0),
                         (("--max-leaked", str(LEAKED - 1)), 1),
                         (("--max-peak", str(PEAK)), 0),
                         (("--max-peak", str(PEAK - 1)), 1),
                         (("--max-leaked", "4.48kB", "--max-peak", "304.48kB"), 0),
                         (("--max-leaked", "4KiB"), 1),
                         (("--max-leaked=1MiB", "--max-peak=297KiB"), 1),
                         (("--max-peak", "1MB"), 0)]:
            with self.subTest(args=args):
                p = self.check(*args)
                self.assertEqual(p.returncode, rc, p.stdout + p.stderr)

    def test_report_names_the_broken_limit(self):
        p = self.check("--max-leaked", "4KiB", "--max-peak", "1MB")
        self.assertEqual(p.returncode, 1)
        out = p.stdout.decode().splitlines()
        self.assertEqual(out[0], f"heaptrail check: FAIL: 1 of 2 limits broken in {self.trace}")
        self.assertEqual(out[1], "  BROKEN leaked 4480 B, limit 4096 B")
        self.assertEqual(out[2], "  ok     peak heap 297 KiB (304480 B), limit 977 KiB (1000000 B)")
        self.assertEqual(len(out), 3)

    def test_json(self):
        p = self.check("--json", "--max-leaked", "1kB", "--max-peak", str(PEAK))
        self.assertEqual(p.returncode, 1)
        doc = json.loads(p.stdout)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["broken"], 1)
        self.assertEqual(doc["checks"], [
            {"name": "leaked", "value": LEAKED, "limit": 1000, "broken": True,
             "at": "end", "startup_bytes": 0},
            {"name": "peak", "value": PEAK, "limit": PEAK, "broken": False}])

    def test_growth_over_a_baseline(self):
        new_peak = analyze("info", self.shapes)["peak_bytes"]
        pct = (new_peak - PEAK) * 100.0 / PEAK
        self.assertGreater(pct, 1)
        p = self.check("--json", "--baseline", self.trace, "--max-growth", f"{pct + 0.01:.2f}",
                       trace=self.shapes)
        self.assertEqual(p.returncode, 0, p.stderr)
        row = json.loads(p.stdout)["checks"][0]
        self.assertEqual(row["name"], "growth")
        self.assertAlmostEqual(row["value"], pct, places=3)
        p = self.check("--baseline", self.trace, "--max-growth", f"{pct - 0.01:.2f}%",
                       trace=self.shapes)
        self.assertEqual(p.returncode, 1, p.stderr)
        # The same trace against itself grew 0%.
        self.assertEqual(self.check("--baseline", self.trace, "--max-growth", "0").returncode, 0)

    def test_leak_candidates(self):
        self.assertEqual(self.check("--no-leak-candidates").returncode, 0)
        p = self.check("--no-leak-candidates", trace=self.shapes)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"1 leak candidate, limit 0", p.stdout)

    def test_usage_errors_exit_2(self):
        for args in [(), ("--max-peak", "12XB"), ("--max-peak",), ("--max-growth", "5"),
                     ("--baseline", self.trace), ("--max-growth", "-1", "--baseline", self.trace),
                     ("--bogus",)]:
            with self.subTest(args=args):
                p = self.check(*args)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn(b"heaptrail check:", p.stderr)

    def test_unreadable_trace_exits_2(self):
        p = heaptrail("check", os.path.join(self.dir, "missing.htr"), "--max-peak", "1MB")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"missing.htr", p.stderr)


class RecordCheck(unittest.TestCase):
    def setUp(self):
        require_tools()
        self.dir = scratch_dir("record_check")

    def rec(self, argv, check, name):
        return record(argv, None, flags=["-q", "--check", check],
                      output=os.path.join(self.dir, name + ".htr"))

    def test_program_status_and_output_when_limits_hold(self):
        p, _ = self.rec(["sh", "-c", "echo hello; exit 3"], "--max-leaked 1GB", "hold")
        self.assertEqual(p.returncode, 3)
        self.assertEqual(p.stdout, b"hello\n")
        self.assertIn(b"heaptrail check: ok: 1 limit held", p.stderr)

    def test_broken_limit_exits_1_with_the_report_on_stderr(self):
        p, path = self.rec([target("leaks")], "--max-leaked 4KiB --max-peak 1MB", "broken")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"  BROKEN leaked 4480 B, limit 4096 B\n", p.stderr)
        self.assertTrue(os.path.exists(path))

    def test_bad_check_options_exit_2_before_the_program_runs(self):
        p, path = self.rec(["sh", "-c", "echo ran"], "--max-leaked 4XB", "usage")
        self.assertEqual((p.returncode, p.stdout), (2, b""))
        self.assertIn(b"is not a size", p.stderr)
        self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    unittest.main()
