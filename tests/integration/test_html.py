"""`heaptrail html`: the data inlined in the page of export_mix (8 x 4096
kept, a 65536-byte peak freed, 3 x 1000 kept) matches `top` at the same
points; the page asks for nothing outside itself; bad input and an
unwritable output are clean errors naming the file.  The page in a
browser: tests/html/browser.test.js (`make html-test`)."""

import json
import os
import re
import unittest

from helpers import analyze, heaptrail, record, require_tools, scratch_dir, target, trace_path

KEEP, BIG, TAIL = 8 * 4096, 65536, 3 * 1000


def page_data(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'<script id="heaptrail-data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "no data element"
    return text, json.loads(m.group(1))


class Html(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.trace = record([target("export_mix")], "html_mix", flags=["-q"])
        assert p.returncode == 0, p.stderr
        cls.out = trace_path("html_mix", ".html")
        p = heaptrail("html", cls.trace, "-o", cls.out)
        assert p.returncode == 0, p.stderr
        cls.text, cls.data = page_data(cls.out)

    def point(self, kind):
        return next(p for p in self.data["points"] if p["kind"] == kind)

    def leaf_bytes(self, point):
        names = {}
        for b, _, ids in point["stacks"]:
            names[self.data["frames"][ids[-1]][0]] = b
        return names

    def test_peak_and_end_hold_the_known_sites(self):
        self.assertEqual(self.leaf_bytes(self.point("peak")), {"keep_blocks": KEEP, "big_block": BIG})
        self.assertEqual(self.leaf_bytes(self.point("end")), {"keep_blocks": KEEP, "tail_blocks": TAIL})
        self.assertEqual(self.data["peak"]["bytes"], analyze("info", self.trace)["peak_bytes"])

    def test_allocation_counts_and_temporary_allocations(self):
        self.assertEqual(self.leaf_bytes(self.data["allocations"]),
                         {"keep_blocks": 8, "big_block": 1, "tail_blocks": 3})
        top = analyze("top", self.trace, "--temporary")
        self.assertEqual(self.data["temporary"]["total_bytes"], top["total_bytes"])

    def test_totals_equal_top(self):
        for kind, at in (("peak", "peak"), ("end", "end")):
            top = analyze("top", self.trace, "--at", at)
            self.assertEqual(self.point(kind)["total_bytes"], top["total_bytes"], kind)

    def test_snapshot_marks_and_their_points(self):
        snaps = analyze("snapshots", self.trace)["snapshots"]
        self.assertEqual([(m["label"], m["time_us"]) for m in self.data["marks"]],
                         [(s["label"], s["time_us"]) for s in snaps])
        kept = next(p for p in self.data["points"] if "'kept'" in p["name"])
        self.assertEqual(self.leaf_bytes(kept), {"keep_blocks": KEEP})

    def test_the_page_loads_nothing_from_outside(self):
        self.assertNotRegex(self.text, r'<script[^>]+src=|<link[^>]+href=')
        self.assertIn("default-src 'none'", self.text)

    def test_bad_input_names_the_file(self):
        d = scratch_dir("html_bad")
        bad = os.path.join(d, "text.htr")
        with open(bad, "w") as f:
            f.write("not a trace\n")
        for path in (bad, os.path.join(d, "missing.htr")):
            p = heaptrail("html", path, "-o", os.path.join(d, "x.html"))
            self.assertEqual(p.returncode, 1)
            self.assertIn(os.path.basename(path).encode(), p.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "x.html")))

    def test_unwritable_output_is_an_error(self):
        p = heaptrail("html", self.trace, "-o", "/nonexistent-dir/x.html")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"/nonexistent-dir/x.html", p.stderr)


if __name__ == "__main__":
    unittest.main()
