"""`heaptrail lines`: memory_profiler's per-line table of export_mix.c
(8 x 4096 kept at @site:keep, a 65536-byte block made at @site:big and
freed in main at @site:freebig, 3 x 1000 kept at @site:tail): the
numbers equal `top --by lineno` at the same point, a free is charged to
the line that freed (its increment is negative), the increment between
two points is what each line allocated minus what it freed between
them, and without the source the numbers are still there.  del_big.py:
`del big` shows -8,000,000 bytes on the `del` line."""

import json
import os
import re
import tracemalloc
import unittest

from helpers import analyze, heaptrail, record, require_tools, run, site, target, BUILD, HEAPTRAIL
from test_python import pysite, python3

PYT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytargets")

# Line, Live, Blocks, Increment, Allocated, Allocs, Freed, Frees, text
ROW = re.compile(r"^\s*(\d+)\s{2,}(\S+ \S+)\s+(\d+)\s+([+-]\S+ \S+)\s+(\S+ \S+)\s+(\d+)"
                 r"\s+(\S+ \S+)\s+(\d+)(?:  (.*))?$")


def size(n, sign=False):
    return tracemalloc._format_size(n, sign)


class Lines(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.trace = record([target("export_mix")], "lines_mix", flags=["-q"])
        assert p.returncode == 0, p.stderr

    def table(self, *args, cwd=None):
        p = run([HEAPTRAIL, "lines", self.trace, "export_mix.c", *args], cwd=cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {}
        for line in p.stdout.decode().splitlines():
            m = ROW.match(line)
            if m:
                rows[int(m.group(1))] = m.groups()[1:]
        return rows, p.stdout.decode()

    def top_by_line(self, at):
        stats = analyze("top", self.trace, "-n", "0", "--at", at)["stats"]
        out = {}
        for st in stats:
            fr = (st.get("frames") or [{}])[0]
            if os.path.basename(fr.get("file") or "") == "export_mix.c":
                out[fr["line"]] = (st["bytes"], st["count"])
        return out

    def test_live_equals_top_by_lineno(self):
        keep, big, tail = (site("export_mix.c", t)[1] for t in ("keep", "big", "tail"))
        for at in ("end", "peak", "kept"):
            rows, text = self.table("--at", at)
            top = self.top_by_line(at)
            for line, (b, n) in top.items():
                self.assertEqual(rows[line][0], size(b), (at, line, text))
                self.assertEqual(int(rows[line][1]), n, (at, line, text))
            live = {ln for ln, r in rows.items() if r[0] != "0 B"}
            self.assertEqual(live, set(top), (at, text))
        rows, text = self.table()
        self.assertEqual(rows[keep][0:2], (size(32768), "8"), text)
        self.assertEqual(rows[tail][0:2], (size(3000), "3"), text)
        # Allocated over the run: the freed block too.
        self.assertEqual(rows[big][0:2], ("0 B", "0"), text)
        self.assertEqual(rows[big][3:5], (size(65536), "1"), text)
        self.assertIn("@site:big", rows[big][7], "source text beside the numbers")

    def test_increment_between_two_points(self):
        keep, big, tail = (site("export_mix.c", t)[1] for t in ("keep", "big", "tail"))
        rows, text = self.table("--from", "kept", "--to", "peak")
        self.assertEqual(rows[big][2], size(65536, True), text)
        self.assertEqual(rows[keep][2], size(0, True), text)
        rows, text = self.table("--from", "peak", "--to", "end")
        freebig = site("export_mix.c", "freebig")[1]
        # The free is the freeing line's, not the allocating one's.
        self.assertEqual(rows[big][2], size(0, True), text)
        self.assertEqual(rows[freebig][2], size(-65536, True), text)
        self.assertEqual(rows[tail][2], size(3000, True), text)

    def test_a_free_is_charged_to_the_line_that_freed(self):
        big, freebig = site("export_mix.c", "big")[1], site("export_mix.c", "freebig")[1]
        p = run([HEAPTRAIL, "lines", self.trace, "export_mix.c", "--function", "main", "--json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {r["line"]: r for r in json.loads(p.stdout)["lines"]}
        self.assertEqual(set(rows), {freebig}, rows)
        r = rows[freebig]
        self.assertEqual((r["freed_bytes"], r["freed_count"], r["increment"]), (65536, 1, -65536), r)
        self.assertEqual((r["alloc_bytes"], r["live_bytes"]), (0, 0), r)
        rows, text = self.table()
        self.assertEqual(rows[freebig][2], size(-65536, True), text)
        self.assertEqual(rows[freebig][5:7], (size(65536), "1"), text)
        self.assertEqual(rows[big][2], size(65536, True), text)
        self.assertEqual(rows[big][5:7], ("0 B", "0"), text)

    def test_function_and_no_source(self):
        keep = site("export_mix.c", "keep")[1]
        rows, text = self.table("--function", "keep_blocks", cwd="/")
        self.assertIn("(source not found)", text)
        self.assertEqual(set(rows), {keep}, text)
        self.assertEqual(rows[keep][0:2], (size(32768), "8"), text)

    def test_del_line_shows_the_freed_list_as_a_negative_increment(self):
        env = dict(PYTHONPATH=os.path.join(BUILD, "python"))
        p, trace = record([python3(), os.path.join(PYT, "del_big.py")], "lines_del_big",
                          flags=["-q"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        make, dele = pysite("del_big.py", "make"), pysite("del_big.py", "del")

        def lines(*args):
            q = run([HEAPTRAIL, "lines", trace, "del_big.py", "--json", *args])
            self.assertEqual(q.returncode, 0, q.stderr)
            return {r["line"]: r for r in json.loads(q.stdout)["lines"]}
        rows = lines("--from", "made", "--to", "deleted")
        # The list's item array: 10**6 pointers.
        self.assertEqual((rows[dele]["increment"], rows[dele]["freed_bytes"],
                          rows[dele]["freed_count"]), (-8000000, 8000000, 1), rows)
        self.assertEqual(rows[make]["increment"], 0, rows)
        rows = lines()
        self.assertEqual(rows[dele]["increment"], -8000000, rows)
        self.assertGreaterEqual(rows[make]["increment"], 8000000, rows)

    def test_frees_alternating_between_many_lines_are_each_charged_to_their_line(self):
        # Six free sites in turn: more than the four latest sites a thread
        # keeps, so each is found in the thread's table of Python sites.
        env = dict(PYTHONPATH=os.path.join(BUILD, "python"))
        p, trace = record([python3(), os.path.join(PYT, "free_lines.py")], "lines_free_lines",
                          flags=["-q"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        q = run([HEAPTRAIL, "lines", trace, "free_lines.py", "--json", "--from", "made",
                 "--to", "freed"])
        self.assertEqual(q.returncode, 0, q.stderr)
        rows = {r["line"]: r for r in json.loads(q.stdout)["lines"] if r["freed_count"]}
        frees = [pysite("free_lines.py", "f%d" % k) for k in range(6)]
        # Between the marks the blocks' frees are the freeing lines', none
        # the making line's.
        self.assertEqual(rows[pysite("free_lines.py", "make")]["increment"], 0, rows)
        self.assertLessEqual(set(frees), set(rows), rows)
        for k, line in enumerate(frees):
            # 50 bytearray objects and their 50 buffers of 1000 + k + 1 bytes.
            self.assertEqual(rows[line]["freed_count"], 100, rows)
            self.assertEqual(rows[line]["increment"], -rows[line]["freed_bytes"], rows)
            self.assertEqual(rows[line]["freed_bytes"] - rows[frees[0]]["freed_bytes"], 50 * k,
                             rows)

    def test_bad_input(self):
        p = heaptrail("lines", self.trace, "nosuch.c")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no allocation in nosuch.c", p.stderr)
        p = heaptrail("lines", self.trace)
        self.assertEqual(p.returncode, 2)
        p = heaptrail("lines", "/nonexistent.htr", "x.c")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"/nonexistent.htr", p.stderr)


if __name__ == "__main__":
    unittest.main()
