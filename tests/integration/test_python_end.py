"""A Python program's own heap, without the interpreter's: heaptrail's own
Python code leaves nothing in the reports (the _heaptrail built-in module
instead of ctypes), interpreter start-up is one `<interpreter startup>`
row, leaks are read at the teardown mark (before finalization), `import
heaptrail` works without the recorder (make install, pip), and the pytest
plugin (`pytest --heaptrail`) measures and limits each test.  Every test
runs on each CPython 3.9-3.13 that pyenv has, and skips the others."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from helpers import BUILD, analyze, heaptrail, record, run, trace_path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYT = os.path.join(HERE, "pytargets")
PYENV = "/root/.pyenv/versions"
VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
HEAPTRAIL_FILES = ("heaptrail.py", "heaptrail_pytest.py", "sitecustomize.py")


def pythons():
    """[(version, path)] of the pyenv CPythons 3.9-3.13 installed."""
    out = []
    names = sorted(os.listdir(PYENV)) if os.path.isdir(PYENV) else []
    for v in VERSIONS:
        for n in names:
            if re.fullmatch(re.escape(v) + r"\.[0-9]+", n):
                path = os.path.join(PYENV, n, "bin", "python3")
                if os.access(path, os.X_OK):
                    out.append((v, path))
                    break
    return out


def each_python():
    """pythons(), or SkipTest when there is none."""
    found = pythons()
    if not found:
        raise unittest.SkipTest("no pyenv CPython 3.9-3.13")
    return found


def site_line(script, tag):
    lines = [i + 1 for i, t in enumerate(open(os.path.join(PYT, script)))
             if re.search(r"@site:" + re.escape(tag) + r"\b", t)]
    assert len(lines) == 1, (script, tag, lines)
    return lines[0]


def all_frames(doc):
    """Every frame object anywhere in a report's JSON."""
    if isinstance(doc, dict):
        if "function" in doc and "file" in doc and "line" in doc:
            yield doc
        for v in doc.values():
            yield from all_frames(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from all_frames(v)


def stat_of(stats, script, line):
    """The stat whose first frame is script:line, or None."""
    for st in stats:
        fr = (st.get("frames") or [{}])[0]
        if os.path.basename(fr.get("file") or "") == script and fr.get("line") == line:
            return st
    return None


class OwnCode(unittest.TestCase):
    def test_no_heaptrail_frame_and_no_ctypes_in_any_report_of_a_one_line_script(self):
        # Bug: heaptrail.py imported ctypes at start-up (111 KiB in 656
        # blocks left at exit, 32% of a one-line script's end heap) and
        # its frames showed in diffs.
        script = os.path.join(PYT, "one_line.py")
        for v, py in each_python():
            with self.subTest(python=v):
                p, trace = record([py, script], f"py_one_line_{v}", flags=["-q"])
                self.assertEqual(p.returncode, 0, p.stderr)
                reports = [
                    ("top", "-n", "0"),
                    ("top", "-n", "0", "--at", "end"),
                    ("top", "-n", "0", "--cumulative"),
                    ("report", "-n", "0"),
                    ("leaks", "-n", "0"),
                    ("diff", "--from", "0", "--to", "end", "-n", "0"),
                    ("leaks", "-n", "0", "--at", "end"),
                    # Expanded start-up: heaptrail.py's own module may
                    # show, ctypes must not (it is never imported).
                    ("top", "-n", "0", "--at", "end", "--startup", "--by", "traceback"),
                ]
                for cmd, *args in reports:
                    name = " ".join([cmd] + args)
                    frames = list(all_frames(analyze(cmd, trace, *args)))
                    self.assertTrue(frames, f"{name}: no frames at all")
                    ctypes = [f for f in frames
                              if "ctypes" in (f.get("file") or "") + (f.get("module") or "")]
                    self.assertEqual(ctypes, [], f"{name}: ctypes allocations")
                    if "--startup" in name:
                        continue
                    own = [f for f in frames
                           if os.path.basename(f.get("file") or "") in HEAPTRAIL_FILES]
                    self.assertEqual(own, [], f"{name}: heaptrail's own frames")


    def test_snapshot_marks_leave_no_heaptrail_frame_in_diffs(self):
        # Bug: snapshot() encoded its label in heaptrail.py, and that bytes
        # object was live at the mark it named: heaptrail.py showed in
        # every diff between two snapshots.
        script = os.path.join(PYT, "snap_labels.py")
        for v, py in each_python():
            with self.subTest(python=v):
                p, trace = record([py, script], f"py_snap_labels_{v}", flags=["-q"])
                self.assertEqual((p.returncode, p.stdout), (0, b"True True True\n"), p.stderr)
                labels = [s["label"] for s in analyze("snapshots", trace)["snapshots"]]
                self.assertEqual(labels, ["<main module starts>", "a", "b \u00e9t\u00e9", "c", "4",
                                          "<teardown starts>", "exit"])
                for args in (("--from", "a", "--to", "b \u00e9t\u00e9"), ("--from", "a", "--to", "c"),
                             ("--from", "c", "--to", "4")):
                    doc = analyze("diff", trace, *args, "-n", "0", "--by", "traceback")
                    own = [f for f in all_frames(doc)
                           if os.path.basename(f.get("file") or "") in HEAPTRAIL_FILES]
                    self.assertEqual(own, [], args)


class Teardown(unittest.TestCase):
    def test_leaks_are_read_at_teardown_and_show_the_module_level_list(self):
        # Bug: "live at the end" of a Python program was what finalization
        # left (importlib and ctypes leftovers), never the user's leak.
        line = site_line("module_leak.py", "chunk")
        script = os.path.join(PYT, "module_leak.py")
        for v, py in each_python():
            with self.subTest(python=v):
                p, trace = record([py, script], f"py_module_leak_{v}", flags=["-q"])
                self.assertEqual(p.returncode, 0, p.stderr)
                lk = analyze("leaks", trace, "--by", "lineno", "-n", "0")
                self.assertEqual(lk["end"], "teardown")
                st = stat_of(lk["stats"], "module_leak.py", line)
                self.assertIsNotNone(st, lk["stats"][:5])
                self.assertEqual((st["count"], st["bytes"]), (30, 30 * 100033))
                # The one candidate is that line, over startup, 3 snapshots
                # and teardown.
                cands = [(c["frames"][0]["file"], c["frames"][0]["line"])
                         for c in lk["candidates"]]
                self.assertEqual(cands, [(script, line)])
                self.assertEqual([pt["label"] for pt in lk["points"]],
                                 ["<main module starts>", "after 10", "after 20", "after 30",
                                  "<teardown starts>"])
                # After finalization (--at end) the list is gone.
                end = analyze("leaks", trace, "--by", "lineno", "-n", "0", "--at", "end")
                self.assertEqual(end["end"], "end")
                self.assertIsNone(stat_of(end["stats"], "module_leak.py", line))
                text = heaptrail("leaks", trace, "-n", "1").stdout.decode()
                self.assertIn("Live at teardown (the program's own code done, before the "
                              "interpreter's finalization)", text)
                self.assertIn("--at end for the heap after finalization", text)

    def test_without_teardown_mark_the_end_is_the_trace_end_and_says_why(self):
        for v, py in each_python():
            with self.subTest(python=v):
                p, trace = record([py, "-c", "import os; os._exit(0)"],
                                  f"py_os_exit_{v}", flags=["-q"])
                self.assertEqual(p.returncode, 0, p.stderr)
                lk = analyze("leaks", trace)
                self.assertEqual(lk["end"], "end")
                text = heaptrail("leaks", trace).stdout.decode()
                self.assertIn("Python program without a teardown mark (it left through "
                              "os._exit", text)

    def test_at_takes_teardown_or_end(self):
        trace = trace_path("py_at_usage")
        p = heaptrail("leaks", trace, "--at", "peak")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--at takes teardown or end", p.stderr)


class LeakedAtTeardown(unittest.TestCase):
    """info's leaked figure, check --max-leaked and report's run line take a
    Python program's end where leaks does: its teardown mark, less
    <interpreter startup>; the heap after finalization stays in view.
    Bug (issue 18): they read the trace's end, after finalization had freed
    most of the program's leak (20 x 50033 bytes on one line)."""
    LINE_BYTES = 20 * 50033

    def test_info_check_and_report_count_the_leak_at_teardown(self):
        line = site_line("leak_known.py", "chunk")
        script = os.path.join(PYT, "leak_known.py")
        for v, py in each_python():
            with self.subTest(python=v):
                p, trace = record([py, script], f"py_leak_known_{v}", flags=["-q"])
                self.assertEqual(p.returncode, 0, p.stderr)
                lk = analyze("leaks", trace, "--by", "lineno", "-n", "0")
                self.assertEqual(lk["end"], "teardown")
                st = stat_of(lk["stats"], "leak_known.py", line)
                self.assertEqual((st["count"], st["bytes"]), (20, self.LINE_BYTES))
                startup = next(x for x in lk["stats"] if x["key"] == "<interpreter startup>")
                own = lk["total_bytes"] - startup["bytes"]
                info = analyze("info", trace)
                self.assertEqual(info["leaked_at"], "teardown")
                self.assertEqual(info["leaked_bytes"], own)
                self.assertEqual(info["leaked_blocks"], lk["total_count"] - startup["count"])
                self.assertEqual((info["leaked_startup_bytes"], info["leaked_startup_blocks"]),
                                 (startup["bytes"], startup["count"]))
                # The line is the leak; the rest the program's own code left
                # is small (the list, a few objects).
                self.assertGreaterEqual(own, self.LINE_BYTES)
                self.assertLess(own - self.LINE_BYTES, 64 * 1024)
                text = heaptrail("info", trace).stdout.decode()
                self.assertRegex(text, r"(?m)^heap at end: .* \(after the interpreter's finalization\)$")
                self.assertRegex(text, r"(?m)^leaked: .* at teardown, \d+\.\d+s \(the program's own code done")
                self.assertIn("not counting <interpreter startup>:", text)
                # check --max-leaked: the exact bound holds, one byte less breaks.
                p = heaptrail("check", trace, "--max-leaked", str(own))
                self.assertEqual(p.returncode, 0, p.stdout)
                p = heaptrail("check", trace, "--max-leaked", str(own - 1))
                self.assertEqual(p.returncode, 1, p.stdout)
                self.assertIn(f"BROKEN leaked {own / 1024:.0f} KiB ({own} B), limit", p.stdout.decode())
                self.assertIn("at teardown", p.stdout.decode())
                j = json.loads(heaptrail("check", trace, "--json", "--max-leaked", str(own)).stdout)
                self.assertEqual(j["checks"][0]["value"], own)
                self.assertEqual(j["checks"][0]["at"], "teardown")
                # --at end judges the heap after finalization (less what
                # start-up left), around its own exact bound.
                j = json.loads(heaptrail("check", trace, "--json", "--at", "end",
                                         "--max-leaked", "0").stdout)
                after = j["checks"][0]
                self.assertEqual(after["at"], "end")
                self.assertEqual(after["value"], info["end_bytes"] - after["startup_bytes"])
                if after["value"]:
                    p = heaptrail("check", trace, "--at", "end", "--max-leaked",
                                  str(after["value"] - 1))
                    self.assertEqual(p.returncode, 1, p.stdout)
                p = heaptrail("check", trace, "--at", "end", "--max-leaked", str(after["value"]))
                self.assertEqual(p.returncode, 0, p.stdout)
                # report's run line: the same figure.
                rep = analyze("report", trace)
                self.assertEqual((rep["run"]["leaked_bytes"], rep["run"]["leaked_at"]),
                                 (own, "teardown"))
                self.assertIn("leaked at teardown (", heaptrail("report", trace).stdout.decode())

    def test_a_c_program_still_counts_the_end(self):
        p, trace = record([os.path.join(BUILD, "targets", "leaks")], "leaked_c", flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        info = analyze("info", trace)
        self.assertEqual((info["leaked_at"], info["leaked_startup_bytes"]), ("end", 0))
        self.assertEqual(info["leaked_bytes"], info["end_bytes"])


class Startup(unittest.TestCase):
    def test_startup_is_one_row_worth_the_heap_at_the_main_module_start(self):
        rows = site_line("startup_lesson.py", "rows")
        table = site_line("startup_lesson.py", "table")
        script = os.path.join(PYT, "startup_lesson.py")
        for v, py in each_python():
            with self.subTest(python=v):
                p, trace = record([py, script], f"py_startup_{v}", flags=["-q"])
                self.assertEqual(p.returncode, 0, p.stderr)
                snaps = analyze("snapshots", trace)["snapshots"]
                main = [s for s in snaps if s["origin"] == "startup"]
                self.assertEqual(len(main), 1, snaps)
                at_main = analyze("top", trace, "--at", str(main[0]["index"]), "-n", "0")
                self.assertEqual([(s["key"], s["bytes"], s["count"]) for s in at_main["stats"]],
                                 [("<interpreter startup>", main[0]["heap_bytes"],
                                   main[0]["heap_blocks"])])
                top = analyze("top", trace, "-n", "10")
                keys = [s["key"] for s in top["stats"]]
                self.assertEqual(keys.count("<interpreter startup>"), 1, keys)
                su = top["stats"][keys.index("<interpreter startup>")]
                self.assertLessEqual(su["bytes"], main[0]["heap_bytes"])
                # Every other row of the top-10 is a line of the script: no C
                # line of the interpreter's start-up.
                others = [k for k in keys if k != "<interpreter startup>"]
                self.assertTrue(others)
                self.assertTrue(all(k.startswith(script + ":") for k in others[:2]), keys)
                self.assertEqual(sorted(others[:2]), sorted([f"{script}:{rows}", f"{script}:{table}"]))
                # What else is there ran after start-up (compiling the
                # script, the gc.collect line): small.
                for st in top["stats"]:
                    if st["key"] != "<interpreter startup>" and not st["key"].startswith(script):
                        self.assertLess(st["bytes"], 64 * 1024, st["key"])
                # The script's own rows hold exactly what it built.
                r = stat_of(top["stats"], "startup_lesson.py", rows)
                self.assertEqual(r["count"] >= 4000 and r["bytes"] >= 4000 * 1033, True, r)
                # --startup expands it into start-up's own call sites.
                exp = analyze("top", trace, "-n", "0", "--startup")
                ekeys = [s["key"] for s in exp["stats"]]
                self.assertNotIn("<interpreter startup>", ekeys)
                self.assertEqual(exp["total_bytes"], top["total_bytes"])
                # Never a leak candidate.
                lk = analyze("leaks", trace, "-n", "0")
                self.assertNotIn("<interpreter startup>",
                                 [c["frames"][0]["function"] for c in lk["candidates"]])


class ImportAnywhere(unittest.TestCase):
    CHECK = ("import heaptrail, sys; print(heaptrail.__file__.startswith(sys.argv[1]), "
             "heaptrail.snapshot('x'), heaptrail.recording(), heaptrail.heap_bytes(), "
             "heaptrail.heap_peak(), heaptrail.heap_peak_reset(), 'ctypes' in sys.modules)")
    EXPECT = b"True False False None None False False\n"

    def test_make_install_puts_heaptrail_where_the_system_python_imports_it(self):
        dest = tempfile.mkdtemp(prefix="ht-install-")
        try:
            p = run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr/local",
                     f"BUILD={BUILD}"], cwd=ROOT, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            sys_py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else None
            if not sys_py:
                self.skipTest("no /usr/bin/python3")
            site = subprocess.run(
                [sys_py, "-c", "import site; print(site.getsitepackages()[0])"],
                stdout=subprocess.PIPE, check=True).stdout.decode().strip()
            installed = dest + site
            self.assertTrue(os.path.isfile(os.path.join(installed, "heaptrail.py")),
                            os.listdir(dest))
            self.assertFalse(os.path.exists(os.path.join(installed, "sitecustomize.py")))
            p = run([sys_py, "-c", self.CHECK, installed], env={"PYTHONPATH": installed})
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, self.EXPECT, b""))
            # The pytest plugin's entry point is installed with it.
            ep = os.path.join(installed, "heaptrail-0.1.0.dist-info", "entry_points.txt")
            self.assertIn("heaptrail = heaptrail_pytest", open(ep).read())
        finally:
            shutil.rmtree(dest, ignore_errors=True)

    def test_pip_install_of_the_source_tree(self):
        sys_py = "/usr/bin/python3"
        probe = subprocess.run([sys_py, "-c", "import setuptools, wheel, pip"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if probe.returncode != 0:
            self.skipTest("no pip + setuptools + wheel for /usr/bin/python3")
        dest = tempfile.mkdtemp(prefix="ht-pip-")
        work = tempfile.mkdtemp(prefix="ht-pipsrc-")
        try:
            # A copy of what pip needs, so the build leaves nothing in the tree.
            shutil.copy(os.path.join(ROOT, "pyproject.toml"), work)
            shutil.copytree(os.path.join(ROOT, "preload", "python"),
                            os.path.join(work, "preload", "python"))
            p = run([sys_py, "-m", "pip", "install", "-q", "--no-build-isolation",
                     "--no-deps", "--no-index", "--target", dest, work], timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(sorted(f for f in os.listdir(dest) if f.endswith(".py")),
                             ["heaptrail.py", "heaptrail_pytest.py"])
            p = run([sys_py, "-c", self.CHECK, dest], env={"PYTHONPATH": dest})
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, self.EXPECT, b""))
        finally:
            shutil.rmtree(dest, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)

    def test_every_python_imports_it_without_the_recorder(self):
        mod = os.path.join(BUILD, "python")
        for v, py in each_python():
            with self.subTest(python=v):
                p = run([py, "-c", self.CHECK, mod], env={"PYTHONPATH": mod})
                self.assertEqual((p.returncode, p.stdout, p.stderr), (0, self.EXPECT, b""))


def pytest_python():
    """A Python with pytest: Debian's (python3-pytest), else a pyenv one."""
    cands = ["/usr/bin/python3"] + [p for _, p in pythons()]
    for py in cands:
        if os.access(py, os.X_OK) and subprocess.run(
                [py, "-c", "import pytest"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    raise unittest.SkipTest("no Python with pytest (Debian: python3-pytest)")


class PytestPlugin(unittest.TestCase):
    # Tolerance of the table's values: the plugin measures around the test
    # function's call only, but the interpreter allocates a little there
    # too (the frame, the test's locals, pytest's call bookkeeping and
    # outcome objects): a few KiB, far below 64 KiB.
    NOISE = 64 * 1024

    def run_pytest(self, py, name, *extra):
        cache = tempfile.mkdtemp(prefix="ht-pytest-")
        try:
            p, trace = record([py, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                               "--heaptrail", *extra, os.path.join(PYT, "pytest_limits.py")],
                              name, flags=["-q"], cwd=cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        return p, trace

    def table(self, out):
        rows = {}
        for line in out.splitlines():
            m = re.match(r"^\S*::(\w+)\s+(-?[0-9.]+ \S+)\s+(-?[0-9.]+ \S+)\s+(-?[0-9.]+ \S+)", line)
            if m:
                rows[m.group(1)] = m.groups()[1:]
        return rows

    def test_limits_fail_the_tests_that_exceed_them_and_the_table_has_their_sizes(self):
        py = pytest_python()
        p, trace = self.run_pytest(py, "py_pytest_limits")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 1, out + p.stderr.decode())
        self.assertRegex(out, r"2 failed, 2 passed")
        self.assertIn("FAILED", out)
        fails = re.findall(r"FAILED \S+::(\w+)", out)
        self.assertEqual(sorted(fails), ["test_big_allocation_over_the_limit",
                                         "test_leaking_two_megabytes"])
        m = re.search(r"heaptrail: peak 38.\d MiB \((\d+) bytes\) exceeds "
                      r"limit_memory\('24 MB'\) = 24000000 bytes", out)
        self.assertTrue(m, out)
        self.assertLess(abs(int(m.group(1)) - 40000001), self.NOISE, out)
        m = re.search(r"heaptrail: leaked 1.9 MiB \((\d+) bytes\) exceeds "
                      r"limit_leaks\('1 MB'\) = 1000000 bytes", out)
        self.assertTrue(m, out)
        self.assertLess(abs(int(m.group(1)) - 2000001), self.NOISE, out)
        rows = self.table(out)
        self.assertEqual(set(rows), {"test_big_allocation_over_the_limit",
                                     "test_small_allocation_under_the_limit",
                                     "test_leaking_two_megabytes",
                                     "test_known_peak_and_leak"}, out)
        # Exact values through the JSON-free path: the snapshots the
        # plugin marks, compared by the analyzer.
        snaps = analyze("snapshots", trace)["snapshots"]
        labels = [s["label"] for s in snaps]
        for t in rows:
            self.assertTrue(any(l.startswith("test start: ") and l.endswith("::" + t)
                                for l in labels), labels)
        def around(t):
            a = [s for s in snaps if s["label"].endswith("::" + t)]
            return a[0]["heap_bytes"], a[1]["heap_bytes"]
        s0, s1 = around("test_known_peak_and_leak")
        self.assertLess(abs((s1 - s0) - 3000001 - 56), self.NOISE, (s0, s1))
        s0, s1 = around("test_leaking_two_megabytes")
        self.assertLess(abs((s1 - s0) - 2000001 - 56), self.NOISE, (s0, s1))

    def test_table_values_match_the_allocations(self):
        py = pytest_python()
        p, _ = self.run_pytest(py, "py_pytest_table", "-s")
        out = p.stdout.decode()
        rows = self.table(out)
        self.assertIn("test_known_peak_and_leak", rows, out)

        def size(text):
            n, unit = text.split()
            return float(n) * {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}[unit]
        allocated, peak, leaked = (size(x) for x in rows["test_known_peak_and_leak"])
        # bytearray(n) is one block of n + 1 bytes; the 8 MB one is freed
        # before the 3 MB one is made, so the peak is the 8 MB one.
        self.assertLess(abs(peak - 8000001), self.NOISE + 0.05 * 1024 ** 2, out)
        self.assertLess(abs(leaked - 3000001), self.NOISE + 0.05 * 1024 ** 2, out)
        self.assertLess(abs(allocated - 3000001), self.NOISE + 0.05 * 1024 ** 2, out)
        big = rows["test_big_allocation_over_the_limit"]
        self.assertLess(abs(size(big[1]) - 40000001), self.NOISE + 0.5 * 1024 ** 2, out)

    def test_without_the_recorder_it_says_so(self):
        py = pytest_python()
        mod = os.path.join(BUILD, "python")
        cache = tempfile.mkdtemp(prefix="ht-pytest-")
        try:
            p = run([py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--heaptrail",
                     os.path.join(PYT, "pytest_limits.py")],
                    env={"PYTHONPATH": mod}, cwd=cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("heaptrail: not recording: nothing was measured; run "
                      "`heaptrail record -- python3 -m pytest --heaptrail ...`", out)
