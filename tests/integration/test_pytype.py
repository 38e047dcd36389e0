"""`top --by type` on every CPython >= 3.9 installed, against what
sys.getsizeof and tracemalloc say of the same objects (pytargets/types.py),
and the symbolizer on stripped interpreters and MiniDebugInfo."""

import json
import os
import shutil
import subprocess
import unittest

from helpers import BUILD, analyze, heaptrail, record, require_tools, run, scratch_dir

HERE = os.path.dirname(os.path.abspath(__file__))
TYPES = os.path.join(HERE, "pytargets", "types.py")
FREELIST = os.path.join(HERE, "pytargets", "freelist.py")
PYENV = "/root/.pyenv/versions"
VERSIONS = ("3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0")
PYPATH = {"PYTHONPATH": os.path.join(BUILD, "python")}
N = 20000


def pyenv(version):
    path = os.path.join(PYENV, version, "bin", "python3")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"{path} not installed")
    return path


def site(tag):
    """Line of `# @site:TAG` in freelist.py."""
    lines = [i + 1 for i, t in enumerate(open(FREELIST)) if "@site:" + tag in t]
    assert len(lines) == 1, tag
    return lines[0]


def by_type(path, at):
    return {s["key"]: (s["count"], s["bytes"])
            for s in analyze("top", path, "--at", at, "--by", "type", "-n", "0")["stats"]}


class ByType(unittest.TestCase):
    def setUp(self):
        require_tools()

    def made(self, py, kind, n=N):
        """{type: (count, bytes)} allocated between the script's two
        snapshots, and the script's own figures (tracemalloc's from a
        plain run)."""
        p, path = record([py, TYPES, kind, str(n)],
                         f"pytype_{os.path.basename(os.path.dirname(os.path.dirname(py)))}_{kind}",
                         flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        a, b = by_type(path, "before"), by_type(path, "made")
        diff = {k: (c - a.get(k, (0, 0))[0], s - a.get(k, (0, 0))[1]) for k, (c, s) in b.items()}
        plain = run([py, TYPES, kind, str(n), "--tracemalloc"], env=PYPATH)
        self.assertEqual(plain.returncode, 0, plain.stderr.decode(errors="replace"))
        return {k: v for k, v in diff.items() if v != (0, 0)}, json.loads(plain.stdout)

    def int_size(self, minor):
        # What CPython mallocs for a one-digit int: sys.getsizeof says 28
        # everywhere, but 3.11+ allocate sizeof(PyLongObject) = 32.
        return 28 if minor <= 10 else 32

    def check_int_list(self, version):
        d, ref = self.made(pyenv(version), "ints")
        size = self.int_size(ref["minor"])
        # 1 list of N ints: the items array is 8 B a slot, then an object
        # per int.
        self.assertEqual(d["int"], (N, N * size), d)
        self.assertEqual(d["list items array"], (1, ref["container"] - ref["empty_list"]), d)
        self.assertEqual(d["list items array"][1], 8 * N)
        self.assertEqual(d["list"], (1, ref["empty_list"]), d)
        # tracemalloc saw the same bytes (its own snapshot adds a little).
        ours = d["int"][1] + d["list items array"][1] + d["list"][1]
        self.assertAlmostEqual(ours, ref["tracemalloc"], delta=ref["tracemalloc"] * 0.01)

    def check_slots(self, version):
        py = pyenv(version)
        plain, pref = self.made(py, "plain")
        slotted, sref = self.made(py, "slotted")
        size = self.int_size(pref["minor"])
        # A __slots__ instance is exactly what sys.getsizeof says.
        self.assertEqual(slotted["instance"], (N, N * sref["element"]), slotted)
        self.assertNotIn("instance dict / values", slotted)
        # A plain instance: the object, plus its attribute storage (a dict
        # before 3.11, a values array in 3.11-3.12, inline in 3.13).
        self.assertEqual(plain["instance"][0], N, plain)
        obj = plain["instance"][1] + plain.get("instance dict / values", (0, 0))[1]
        # ... which tracemalloc counts too: all it saw minus the list and
        # the ints.
        tm_obj = pref["tracemalloc"] - pref["container"] - N * size
        self.assertAlmostEqual(obj, tm_obj, delta=tm_obj * 0.01)
        # What __slots__ saves per instance, the same by both.
        saved = (obj - slotted["instance"][1]) / N
        tm_saved = (pref["tracemalloc"] - sref["tracemalloc"]) / N
        self.assertAlmostEqual(saved, tm_saved, delta=1.0)
        return saved

    def check_dict_and_strs(self, version):
        py = pyenv(version)
        d, ref = self.made(py, "dict")
        # The dict object itself may come from CPython's dict free list
        # (no malloc); its keys table does not.
        self.assertEqual(d["dict keys table"], (1, ref["container"] - 64), d)
        self.assertEqual(d["int"], (N, N * self.int_size(ref["minor"])), d)
        s, sref = self.made(py, "strs")
        self.assertEqual(s["str"], (N, sref["elements"]), s)
        self.assertEqual(s["list items array"][0], 1, s)

    def test_int_list_3_9(self):
        self.check_int_list("3.9.18")

    def test_int_list_3_10(self):
        self.check_int_list("3.10.13")

    def test_int_list_3_11(self):
        self.check_int_list("3.11.7")

    def test_int_list_3_12(self):
        self.check_int_list("3.12.1")

    def test_int_list_3_13(self):
        self.check_int_list("3.13.0")

    def test_slots_against_plain_3_9(self):
        self.check_slots("3.9.18")

    def test_slots_save_40_bytes_an_instance_on_3_11(self):
        # (the class's shared keys table adds a fraction of a byte)
        self.assertEqual(round(self.check_slots("3.11.7")), 40)

    # (3.10 lays instances out as 3.9 does, 3.12 as 3.11 with a
    # pre-header: their int-list tests cover them, in less time.)

    def test_slots_against_plain_3_13(self):
        self.check_slots("3.13.0")

    def test_dict_and_str_list_3_9(self):
        self.check_dict_and_strs("3.9.18")

    def test_dict_and_str_list_3_13(self):
        self.check_dict_and_strs("3.13.0")

    def test_numpy_array_buffer(self):
        py = "/usr/bin/python3"
        if run([py, "-c", "import numpy"]).returncode != 0:
            self.skipTest("numpy not importable by /usr/bin/python3")
        d, ref = self.made(py, "numpy")
        # Debian's numpy is stripped: its memory is named by its module.
        # The 8 B a slot data buffer is one block in it.
        key = "numpy data buffer" if "numpy data buffer" in d else "numpy (no symbols)"
        count, size = d[key]
        self.assertGreaterEqual(size, 8 * N, d)
        self.assertLess(size, 8 * N + 4096, d)

    def test_per_divides_each_row(self):
        p, path = record([pyenv("3.11.7"), TYPES, "ints", str(N)], "pytype_per", flags=["-q"])
        self.assertEqual(p.returncode, 0)
        out = heaptrail("top", path, "--at", "made", "--by", "type", "--per", str(N))
        self.assertEqual(out.returncode, 0, out.stderr)
        ints = by_type(path, "made")["int"][1]
        lines = [ln for ln in out.stdout.decode().splitlines() if ln.startswith("int:")]
        self.assertEqual(len(lines), 1, out.stdout)
        self.assertTrue(lines[0].endswith(", per %d=%.0f B" % (N, ints / N)), lines[0])
        bad = heaptrail("top", path, "--per", "0")
        self.assertEqual(bad.returncode, 2)
        self.assertIn(b"--per: expected a count of objects (1 or more), not '0'", bad.stderr)

    def test_cumulative_by_type_is_a_usage_error(self):
        p = heaptrail("top", "--by", "type", "--cumulative", "x.htr")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--cumulative cannot be used with --by type", p.stderr)


class FreeLists(unittest.TestCase):
    """Objects CPython recycles from its free lists are charged to the line
    that reuses them, as tracemalloc charges them (3.13+: PyRefTracer)."""

    def setUp(self):
        require_tools()

    def lines(self, py, rounds, env=None):
        p, path = record([py, FREELIST, str(rounds)], "pytype_freelist", flags=["-q"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        out = {}
        for st in analyze("top", path, "--at", "done", "--frames", "python", "-n", "0")["stats"]:
            fr = (st.get("frames") or [{}])[0]
            if os.path.basename(fr.get("file") or "") == "freelist.py":
                out[fr["line"]] = (st["count"], st["bytes"])
        return out

    def test_recycled_floats_and_tuples_go_to_the_reusing_line_3_13(self):
        py = pyenv("3.13.0")
        plain = run([py, FREELIST, "50", "--tracemalloc"], env=PYPATH)
        self.assertEqual(plain.returncode, 0, plain.stderr.decode(errors="replace"))
        tm = {int(k): tuple(v) for k, v in json.loads(plain.stdout).items()}
        ours = self.lines(py, 50)
        for line, (count, size) in tm.items():
            self.assertIn(line, ours, (tm, ours))
            c, b = ours[line]
            # 1%, or one object at the free lists' edge (the snapshot
            # calls themselves take a tuple or two from them).
            self.assertLessEqual(abs(c - count), max(count * 0.01, 1), (line, tm, ours))
            self.assertLessEqual(abs(b - size), max(size * 0.01, size / count), (line, tm, ours))
        # The lines tracemalloc does not list hold only objects made before
        # it started (the script's own lists): a few hundred bytes.
        self.assertLess(sum(b for line, (c, b) in ours.items() if line not in tm), 1024, ours)
        # The scratch lines keep only what is left on the free lists.
        floats = ours.get(site("scratch_floats"), (0, 0))[0]
        self.assertLessEqual(floats, 101, ours)

    def test_without_reuse_tracking_the_first_line_keeps_them(self):
        # The defect the tracer fixes (and what 3.9-3.12 still show): the
        # scratch line keeps the blocks the keeping line reuses.
        ours = self.lines(pyenv("3.13.0"), 50, env={"HEAPTRAIL_PYTHON_REUSE": "0"})
        self.assertGreater(ours[site("scratch_tuples")][0], 5000, ours)


class StrippedSymbols(unittest.TestCase):
    def setUp(self):
        require_tools()

    def test_debian_python_hint_names_its_dbg_package(self):
        py = "/usr/bin/python3.11"
        if not os.access(py, os.X_OK):
            self.skipTest(f"{py} not installed")
        if os.path.exists("/usr/lib/debug/.build-id") and run(
                ["sh", "-c", "dpkg -s python3.11-dbg >/dev/null 2>&1"]).returncode == 0:
            self.skipTest("python3.11-dbg is installed: the interpreter has debug info")
        p, path = record([py, "-c", "x = [list(range(10)) for _ in range(1000)]"],
                         "pytype_debian_hint", flags=["-q"])
        self.assertEqual(p.returncode, 0)
        out = heaptrail("top", path, "--by", "function", "--frames", "native")
        self.assertIn(b"heaptrail: warning: /usr/bin/python3.11: no debug info (on Debian install "
                      b"python3.11-dbg, of the same version as the interpreter, or set "
                      b"DEBUGINFOD_URLS to fetch it); showing exported function names only, "
                      b"without file:line\n", out.stderr)
        # The exported functions are named from .dynsym.
        self.assertIn(b"PyType_GenericAlloc", heaptrail("top", path, "--by", "function",
                                                         "--frames", "native", "-n", "0").stdout)

    def test_minidebuginfo_names_static_functions_of_a_stripped_program(self):
        for tool in ("gcc", "objcopy", "strip", "nm", "xz"):
            if not shutil.which(tool):
                self.skipTest(f"{tool} not installed")
        d = scratch_dir("minidebuginfo")
        src = os.path.join(d, "mdi.c")
        with open(src, "w") as f:
            f.write("#include <stdlib.h>\n"
                    "__attribute__((noinline)) static void *grow_table(size_t n)\n"
                    "{ void *p = malloc(n); __asm__ volatile(\"\" ::: \"memory\"); return p; }\n"
                    "int main(void) { for (int i = 0; i < 10; i++) if (!grow_table(1000)) return 1;"
                    " return 0; }\n")
        exe = os.path.join(d, "mdi")
        sh = f"""set -e
cd {d}
gcc -O2 -g -fno-omit-frame-pointer -o mdi.full mdi.c
nm mdi.full --format=posix --defined-only | awk '$2 == "t" || $2 == "T" {{print $1}}' > keep
objcopy --only-keep-debug mdi.full mdi.dbg
objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep mdi.dbg mini
xz -f mini
strip --strip-all -o mdi mdi.full
objcopy --add-section .gnu_debugdata=mini.xz mdi
"""
        b = subprocess.run(["sh", "-c", sh], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(b.returncode, 0, b.stderr)
        p, path = record([exe], "pytype_minidebuginfo", flags=["-q"])
        self.assertEqual(p.returncode, 0)
        stats = analyze("top", path, "--by", "function", "-n", "0")["stats"]
        # gcc may name the static function's clone "grow_table.constprop.0".
        rows = [(s["key"].split(".")[0], s["count"], s["bytes"]) for s in stats]
        self.assertIn(("grow_table", 10, 10000), rows)


if __name__ == "__main__":
    unittest.main()
