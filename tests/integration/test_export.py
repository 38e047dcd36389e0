"""`heaptrail export`: folded stacks, pprof and massif files of export_mix
(8 x 4096 kept, a 65536-byte peak freed, 3 x 1000 kept), read back by the
tools they are for: `go tool pprof` (golang-go) and `ms_print` (valgrind)."""

import gzip
import os
import re
import shutil
import unittest

from helpers import analyze, heaptrail, record, require_tools, run, target, trace_path

KEEP, BIG, TAIL = 8 * 4096, 65536, 3 * 1000
END = KEEP + TAIL
PEAK = KEEP + BIG


def tool(name):
    path = shutil.which(name)
    if not path:
        raise unittest.SkipTest(f"{name} not installed (scripts/install-deps.sh)")
    return path


class Export(unittest.TestCase):
    trace = None

    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.trace = record([target("export_mix")], "export_mix", flags=["-q"])
        assert p.returncode == 0, p.stderr

    def export(self, *args):
        out = trace_path("export_" + "_".join(a.strip("-") for a in args), ".out")
        p = heaptrail("export", self.trace, *args, "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")
        return out

    def folded(self, *args):
        p = heaptrail("export", self.trace, "--format", "collapsed", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {}
        for line in p.stdout.decode().splitlines():
            stack, _, weight = line.rpartition(" ")
            self.assertNotIn(stack, rows, "one line per stack")
            rows[stack] = int(weight)
        return rows

    def leaf_bytes(self, rows, function):
        return sum(w for s, w in rows.items() if s.split(";")[-1] == function)

    def test_collapsed_sums_to_the_top_total(self):
        for at, total in (("end", END), ("peak", PEAK), ("kept", KEEP)):
            rows = self.folded("--at", at)
            top = analyze("top", self.trace, "-n", "0", "--at", at)
            self.assertEqual(sum(rows.values()), top["total_bytes"], (at, rows))
            self.assertEqual(sum(rows.values()), total, (at, rows))
        rows = self.folded("--at", "end")
        self.assertEqual(self.leaf_bytes(rows, "keep_blocks"), KEEP, rows)
        self.assertEqual(self.leaf_bytes(rows, "tail_blocks"), TAIL, rows)
        self.assertEqual(self.leaf_bytes(rows, "big_block"), 0, rows)
        self.assertTrue(all(s.startswith("_start;") or ";main;" in s or s.startswith("main;")
                            for s in rows), "outermost frame first: " + repr(rows))
        self.assertEqual(self.leaf_bytes(self.folded("--at", "peak"), "big_block"), BIG)

    def pprof_top(self, path, index):
        go = tool("go")
        p = run([go, "tool", "pprof", "-top", "-unit=B", "-sample_index=" + index, path],
                env={"HOME": os.environ.get("HOME", "/tmp"), "PPROF_TMPDIR": os.path.dirname(path)})
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode()
        total = re.search(r"Total samples = (\d+)B?\b", text)
        self.assertTrue(total, text)
        flat = {}
        for m in re.finditer(r"^\s*(\d+)B?\s+[\d.]+%\s+[\d.]+%\s+(\d+)B?\s+[\d.]+%\s+(\S+)\s*$",
                             text, re.M):
            flat[m.group(3)] = int(m.group(1))
        return int(total.group(1)), flat, text

    def test_export_defaults_to_the_peak_as_top_does(self):
        path = self.export("--format", "collapsed")
        with open(path) as f:
            total = sum(int(line.rsplit(" ", 1)[1]) for line in f if line.strip())
        self.assertEqual(total, analyze("top", self.trace, "-n", "0")["total_bytes"])
        self.assertEqual(total, analyze("top", self.trace, "-n", "0", "--at", "peak")["total_bytes"])

    def test_pprof_reads_in_go_tool_pprof(self):
        path = self.export("--format", "pprof", "--at", "end")
        with gzip.open(path) as f:
            self.assertGreater(len(f.read()), 0)
        top = analyze("top", self.trace, "-n", "0", "--at", "end")
        total, flat, text = self.pprof_top(path, "inuse_space")
        self.assertEqual(total, top["total_bytes"], text)
        self.assertEqual(flat.get("keep_blocks"), KEEP, text)
        self.assertEqual(flat.get("tail_blocks"), TAIL, text)
        self.assertNotIn("big_block", {k for k, v in flat.items() if v}, text)
        total, flat, text = self.pprof_top(path, "inuse_objects")
        self.assertEqual(total, top["total_count"], text)
        self.assertEqual((flat.get("keep_blocks"), flat.get("tail_blocks")), (8, 3), text)
        # The whole run's allocations, the freed peak block included.
        total, flat, text = self.pprof_top(path, "alloc_space")
        self.assertEqual(total, KEEP + BIG + TAIL, text)
        self.assertEqual(flat.get("big_block"), BIG, text)
        total, flat, text = self.pprof_top(path, "alloc_objects")
        self.assertEqual((total, flat.get("big_block")), (12, 1), text)

    def test_pprof_at_the_peak(self):
        path = self.export("--format", "pprof", "--at", "peak")
        total, flat, text = self.pprof_top(path, "inuse_space")
        self.assertEqual(total, PEAK, text)
        self.assertEqual(flat.get("big_block"), BIG, text)

    def test_massif_reads_in_ms_print(self):
        path = self.export("--format", "massif")
        p = run([tool("ms_print"), path])
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode()
        # The marks kept, freed and exit, and the peak between the first two.
        self.assertIn("Number of snapshots: 4", text)
        self.assertIn("Detailed snapshots: [0, 1 (peak), 2, 3]", text)
        rows = re.findall(r"^\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+0\s+0\s*$", text, re.M)
        self.assertEqual([int(r[2].replace(",", "")) for r in rows], [KEEP, PEAK, KEEP, END], text)
        times = [int(r[1].replace(",", "")) for r in rows]
        self.assertEqual(times, sorted(times), text)
        self.assertGreaterEqual(times[3] - times[0], 60, text)
        self.assertIn(f"100.00% ({PEAK:,}B) (heap allocation functions)", text)
        self.assertRegex(text, r"->66\.67% \(65,536B\) 0x[0-9a-f]+: big_block at \S*export_mix\.c:\d+")

    def test_bad_arguments(self):
        p = heaptrail("export", self.trace, "--format", "svg")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"unknown --format 'svg'", p.stderr)
        p = heaptrail("export", self.trace)
        self.assertEqual(p.returncode, 2)
        p = heaptrail("export", self.trace, "--format", "pprof", "--at", "nosuch")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no snapshot 'nosuch'", p.stderr)
        bad = trace_path("export_bad")
        with open(bad, "wb") as f:
            f.write(b"not a trace at all")
        for fmt in ("collapsed", "pprof", "massif"):
            p = heaptrail("export", bad, "--format", fmt)
            self.assertEqual(p.returncode, 1)
            self.assertIn(bad.encode(), p.stderr)
            self.assertNotIn(b"Sanitizer", p.stderr)
        p = heaptrail("export", self.trace, "--format", "collapsed", "-o", "/nonexistent/dir/x")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"/nonexistent/dir/x", p.stderr)


if __name__ == "__main__":
    unittest.main()
