"""Keys in the user's code (issue 12): `--by site` (the first frame that is
not a system frame), C++ names shortened in text (--full-names), --depth
and cut stacks marked, strict `--frames python`, Python frames kept in
place when the recorder cut the native stack, and system patterns from
HEAPTRAIL_SYSTEM_FRAMES and --system.  Programs: targets/cxx_keys.cc (a
std::vector<double> of 10000 reserved in parse(int), a std::string of 1000
chars in names(), a std::map<int, long> of 100 nodes in index_build(), all
live at the snapshot "peak") and pytargets/keys.py."""

import os
import re
import unittest

from helpers import analyze, heaptrail, record, require_tools, site, target
from test_python import PYT, pysite, python3

SRC = "cxx_keys.cc"


def key_line(stats, where):
    """(bytes, count) of the --by site/lineno row whose key ends with
    FILE:LINE, or None."""
    file, line = where
    for st in stats:
        if st["key"] == f"{file}:{line}" or st["key"].endswith(f"/{file}:{line}"):
            return st["bytes"], st["count"]
    return None


def text(*args, env=None):
    p = heaptrail(*args, env=env)
    if p.returncode != 0:
        raise AssertionError(f"heaptrail {' '.join(args)} exited {p.returncode}: "
                             + p.stderr.decode(errors="replace"))
    return p.stdout.decode()


class CxxKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.path = record([target("cxx_keys")], "keys_cxx", flags=["-q"])
        assert p.returncode == 0, p.stderr
        p, cls.cut = record([target("cxx_keys")], "keys_cxx_depth3",
                            flags=["-q", "--depth", "3"])
        assert p.returncode == 0, p.stderr

    def site_stats(self, *extra, env=None):
        p = heaptrail("top", "--json", "--at", "peak", "--by", "site", "-n", "0",
                      *extra, self.path, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        import json
        return json.loads(p.stdout)["stats"]

    def test_site_puts_the_users_lines_first_with_exact_bytes(self):
        stats = self.site_stats()
        self.assertEqual(key_line(stats[:1], site(SRC, "reserve")), (80000, 1), stats[:3])
        self.assertEqual(key_line(stats[1:2], site(SRC, "map_insert")), (4800, 100), stats[:3])
        self.assertEqual(key_line(stats, site(SRC, "string")), (1001 + 32, 2))
        self.assertEqual(key_line(stats, site(SRC, "map_object")), (48, 1))
        self.assertEqual(key_line(stats, site(SRC, "vector_object")), (24, 1))
        # No key is in a standard library header.
        self.assertFalse([s["key"] for s in stats if "/include/" in s["key"]], stats)
        # The JSON frame is the user's function, its name whole.
        self.assertEqual(stats[0]["frames"][0]["function"], "parse(int)")
        out = text("top", "--at", "peak", "--by", "site", self.path).splitlines()
        self.assertTrue(out[0].startswith("Top 6 of 6 by site at peak"), out)
        file, line = site(SRC, "reserve")
        self.assertRegex(out[1], rf"(^|/){file}:{line}: size=78.1 KiB, count=1, average=78.1 KiB$")

    def test_function_names_are_short_in_text_and_whole_in_json(self):
        out = text("top", "--at", "peak", "--by", "function", self.path)
        self.assertRegex(out, r"(?m)^std::(__)?new_allocator<>::allocate\(unsigned long, "
                              r"void const\*\): size=82.8 KiB, count=101, ")
        self.assertRegex(out, r"(?m)^parse\(int\): size=24 B, count=1, average=24 B$")
        self.assertNotIn("<double", out)
        self.assertNotIn("std::pair<", out)
        stats = analyze("top", self.path, "--at", "peak", "--by", "function", "-n", "0")["stats"]
        keys = [s["key"] for s in stats]
        self.assertTrue(any(re.match(r"std::(__)?new_allocator<double>::allocate\(", k)
                            for k in keys), keys)
        fr = [st["frames"][0] for st in stats if "<double>" in st["key"]][0]
        self.assertRegex(fr["function_short"],
                         r"^std::(__)?new_allocator<>::allocate\(unsigned long, void const\*\)$")
        self.assertNotIn("function_short", stats[-1]["frames"][0], "parse(int) has no templates")

    def test_full_names_prints_them_whole(self):
        out = text("top", "--at", "peak", "--by", "function", "--full-names", self.path)
        self.assertRegex(out, r"(?m)^std::(__)?new_allocator<double>::allocate\(unsigned long, "
                              r"void const\*\): size=78.1 KiB, count=1, ")
        self.assertRegex(out, r"(?m)^std::(__)?new_allocator<std::_Rb_tree_node<std::pair<int "
                              r"const, long> > >::allocate\(unsigned long, void const\*\): "
                              r"size=4800 B, count=100, ")

    def test_depth_cuts_tracebacks_and_marks_the_cut(self):
        out = text("top", "--at", "peak", "--by", "traceback", "--depth", "3", "-n", "1",
                   self.path).splitlines()
        self.assertRegex(out[1], r"new_allocator\.h:\d+: size=78.1 KiB, count=1, ")
        self.assertEqual(len(out), 7, out)  # header, key, 3 frames, marker, "N other"
        self.assertTrue(all(l.startswith("    ") for l in out[2:6]), out)
        self.assertRegex(out[2], r"^    std::(__)?new_allocator<>::allocate\(")
        self.assertEqual(out[5], "    <stack cut at --depth 3>")
        st = analyze("top", self.path, "--at", "peak", "--by", "traceback", "--depth", "3",
                     "-n", "1")["stats"][0]
        self.assertEqual((len(st["frames"]), st["cut"], st["bytes"]), (3, "depth", 80000))
        # Whole stacks carry no "cut".
        st = analyze("top", self.path, "--at", "peak", "--by", "traceback", "-n", "1")["stats"][0]
        self.assertNotIn("cut", st)

    def test_a_stack_cut_by_the_recorder_is_marked(self):
        out = text("top", "--at", "peak", "--by", "traceback", "-n", "1", self.cut)
        self.assertIn("    <native stack cut by the recorder at 3 frames (record --depth)>\n", out)
        stats = analyze("top", self.cut, "--at", "peak", "--by", "traceback", "-n", "0")["stats"]
        self.assertEqual(stats[0]["cut"], "recorder")
        # The 3 recorded frames: operator new (hidden, as always), then
        # two of the allocator's.
        self.assertEqual([f["function"].split("<")[0] for f in stats[0]["frames"]],
                         ["std::__new_allocator", "std::allocator_traits"])

    def test_system_patterns_from_the_flag_and_the_environment(self):
        # parse* is system: the vector is keyed to main's call of parse.
        main_parse = (SRC, site(SRC, "call_parse")[1])
        stats = self.site_stats("--system", "parse*")
        self.assertEqual(key_line(stats, main_parse), (80000 + 24, 2))
        self.assertIsNone(key_line(stats, site(SRC, "reserve")))
        env = {"HEAPTRAIL_SYSTEM_FRAMES": "index_build*,names*"}
        stats = self.site_stats(env=env)
        self.assertEqual(key_line(stats, (SRC, site(SRC, "call_index")[1])), (4800 + 48, 101))
        self.assertEqual(key_line(stats, (SRC, site(SRC, "call_names")[1])), (1033, 2))
        self.assertEqual(key_line(stats, site(SRC, "reserve")), (80000, 1))
        # Both at once add up.
        stats = self.site_stats("--system", "parse*", env=env)
        self.assertEqual(key_line(stats, main_parse), (80024, 2))
        self.assertEqual(key_line(stats, (SRC, site(SRC, "call_names")[1])), (1033, 2))

    def test_the_users_code_is_never_hidden(self):
        # Every frame a system frame: the key falls back to the innermost.
        stats = self.site_stats("--system", "*")
        lineno = analyze("top", self.path, "--at", "peak", "-n", "0")["stats"]
        self.assertEqual([(s["key"], s["bytes"]) for s in stats],
                         [(s["key"], s["bytes"]) for s in lineno])

    def test_bad_values_are_usage_errors(self):
        for args, msg in ((["--depth", "0"], "--depth: expected a number of frames"),
                          (["--depth", "x"], "--depth: expected a number of frames"),
                          (["--depth"], "option '--depth' needs a value"),
                          (["--system"], "option '--system' needs a value"),
                          (["--by", "sites"], "unknown key 'sites'")):
            p = heaptrail("top", self.path, *args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            first = p.stderr.decode().splitlines()[0]
            self.assertIn(msg, first)
            self.assertTrue(first.startswith("heaptrail top: "), first)


class PythonKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        argv = [python3(), os.path.join(PYT, "keys.py")]
        p, cls.path = record(argv, "keys_py", flags=["-q"])
        assert p.returncode == 0, p.stderr
        p, cls.cut = record(argv, "keys_py_depth4", flags=["-q", "--depth", "4"])
        assert p.returncode == 0, p.stderr

    def py_chain(self):
        line = lambda tag: pysite("keys.py", tag)
        return [("work", line("work")), ("nest", line("nest_leaf")),
                ("nest", line("nest_call")), ("nest", line("nest_call")),
                ("nest", line("nest_call")), ("<module>", line("top"))]

    def test_frames_python_is_strict(self):
        out = text("top", "--at", "done", "--frames", "python", "--by", "traceback",
                   "-n", "0", self.path)
        entries = re.split(r"\n(?=\S)", out.split("\n", 1)[1])
        native = [e for e in entries if e.startswith("<native: ")]
        self.assertTrue(native, out[:2000])
        for e in native:
            head, *frames = e.rstrip("\n").split("\n")
            # One line: "<native: function (module)>", nothing else.
            self.assertEqual(len(frames), 1, e)
            # (module+offset when the module has no symbols)
            self.assertRegex(frames[0], r"^    <native: (\S.* \(\S+\)|\S+\+0x[0-9a-f]+)>$")
            self.assertTrue(head.startswith(frames[0].strip() + ": size="), e)
        self.assertNotIn("_PyEval_EvalFrameDefault", out)
        stats = analyze("top", self.path, "--at", "done", "--frames", "python",
                        "--by", "traceback", "-n", "0")["stats"]
        for st in stats:
            if any(f.get("native_only") for f in st["frames"]):
                self.assertEqual(len(st["frames"]), 1, st)
                self.assertIsNotNone(st["frames"][0]["module"])
        work = [st for st in stats if st["frames"][0]["function"] == "work"
                and st["bytes"] >= 500000]
        self.assertEqual(len(work), 1)
        self.assertEqual([(f["function"], f["line"]) for f in work[0]["frames"]],
                         self.py_chain())

    def test_python_frames_keep_their_place_when_the_native_stack_is_cut(self):
        stats = analyze("top", self.cut, "--at", "done", "--by", "traceback",
                        "-n", "0")["stats"]
        rows = [st for st in stats if st["bytes"] >= 500000
                and any(f["function"] == "work" for f in st["frames"])]
        self.assertEqual(len(rows), 1, [s["frames"][:2] for s in stats[:5]])
        fr = rows[0]["frames"]
        # The native frames kept (innermost) first, then the Python ones
        # in their order: they ran in the part that was cut.
        py = [i for i, f in enumerate(fr) if f["module"] is None]
        self.assertGreater(py[0], 0, fr)
        self.assertEqual(py, list(range(py[0], len(fr))), fr)
        self.assertEqual([(f["function"], f["line"]) for f in fr[py[0]:]], self.py_chain())
        self.assertEqual(rows[0].get("cut"), "recorder")
        out = text("top", "--at", "done", "--by", "traceback", "-n", "0", self.cut)
        block = [b for b in re.split(r"\n(?=\S)", out) if "size=488 KiB" in b]
        self.assertEqual(len(block), 1, out[:3000])
        lines = block[0].split("\n")
        mark = lines.index("    <native stack cut by the recorder at 4 frames (record --depth)>")
        self.assertTrue(lines[mark + 1].startswith("    work at "), lines)


if __name__ == "__main__":
    unittest.main()
