"""`heaptrail report` (issue 12): one page, from one replay, on a program
with one line for each question (targets/report_page.c): the run's
figures, what built the peak, the leak candidate and its series, the
growth chain, the most-called line and the temporaries, in text and
JSON, each section naming the command that shows more."""

import os
import shutil
import subprocess
import sys
import unittest

from helpers import HEAPTRAIL, heaptrail, analyze, record, require_tools, scratch_dir, site, target

KIB = 1024


def line_of(tag):
    return site("report_page.c", tag)[1]


def key_is(row, tag):
    return row["key"].endswith(f"report_page.c:{line_of(tag)}")


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.path = record([target("report_page")], "report_page", flags=["-q"])
        if p.returncode != 0:
            raise AssertionError(p.stderr)

    def test_the_run(self):
        run = analyze("report", self.path)["run"]
        # 600 leaked + 64 peak blocks + 1 grown + 5000 calls + 3000 temps.
        self.assertEqual((run["allocations"], run["frees"], run["reallocs"]),
                         (8665, 8065, 12))
        self.assertEqual(run["events"], 8665 + 8065 + 12)
        self.assertEqual((run["peak_bytes"], run["peak_blocks"]),
                         (2048 * KIB + 300 * KIB, 364))
        self.assertEqual((run["end_bytes"], run["end_blocks"]), (600 * KIB, 600))
        self.assertTrue(run["clean_end"])
        self.assertGreater(run["max_rss"], 0)

    def test_what_built_the_peak_by_site(self):
        doc = analyze("report", self.path)
        self.assertEqual(doc["by"], "site")
        rows = doc["peak"]["stats"]
        self.assertEqual(len(rows), 2, rows)
        self.assertTrue(key_is(rows[0], "peak_build"), rows[0]["key"])
        self.assertEqual((rows[0]["bytes"], rows[0]["count"]), (2048 * KIB, 64))
        self.assertTrue(key_is(rows[1], "leak_phase"), rows[1]["key"])
        self.assertEqual((rows[1]["bytes"], rows[1]["count"]), (300 * KIB, 300))

    def test_the_leak_candidate_and_its_series(self):
        cands = analyze("report", self.path)["leaks"]["candidates"]
        self.assertEqual(len(cands), 1, cands)
        self.assertTrue(key_is(cands[0], "leak_phase"))
        self.assertEqual(cands[0]["growth"], 500 * KIB)
        self.assertEqual(cands[0]["series"],
                         [p * 100 * KIB for p in range(1, 7)] + [600 * KIB])

    def test_the_growth_chain(self):
        chains = analyze("report", self.path)["growth"]["chains"]
        self.assertEqual(len(chains), 1, chains)
        c = chains[0]
        self.assertEqual((c["nsteps"], c["initial_size"], c["final_size"]),
                         (12, 16, 64 * KIB))
        self.assertEqual(c["frames"][0]["line"], line_of("grow"))

    def test_most_calls_and_temporaries(self):
        doc = analyze("report", self.path)
        calls = doc["calls"]["stats"]
        self.assertTrue(key_is(calls[0], "calls"), calls[0]["key"])
        self.assertEqual((calls[0]["count"], calls[0]["bytes"]), (5000, 5000 * 8))
        self.assertTrue(key_is(calls[1], "temp"))
        self.assertEqual(calls[1]["count"], 3000)
        # Every allocation call, the 12 growing reallocs included.
        self.assertEqual(doc["calls"]["total_count"], 8665 + 12)
        temp = doc["temporary"]["stats"]
        self.assertTrue(key_is(temp[0], "temp"), temp[0]["key"])
        self.assertEqual((temp[0]["count"], temp[0]["bytes"]), (3000, 3000 * 48))

    def test_text_sections_name_the_command_that_shows_more(self):
        p = heaptrail("report", self.path)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        peak = f"report_page.c:{line_of('peak_build')}: size=2048 KiB, count=64"
        self.assertIn(peak, out)
        self.assertIn("peak heap 2348 KiB in 364 blocks", out)
        self.assertIn("8665 allocations, 8065 frees, 12 reallocs", out)
        self.assertIn("ended cleanly", out)
        for more in ("top %s --at peak", "leaks %s", "growth %s --steps all",
                     "top %s --temporary"):
            self.assertIn("(more: heaptrail " + more % self.path, out)
        order = [out.index(h) for h in ("Run:", "What built the peak", "Leak candidates",
                                        "Growth chains", "Most calls", "Temporary")]
        self.assertEqual(order, sorted(order))
        self.assertIn("+500 KiB (100 KiB -> 600 KiB), grew in 5 of 6 intervals", out)

    def test_limit_and_key(self):
        doc = analyze("report", self.path, "-n", "1", "--by", "function")
        self.assertEqual(doc["by"], "function")
        self.assertEqual(len(doc["calls"]["stats"]), 1)
        self.assertEqual(doc["calls"]["stats"][0]["key"], "calls")

    def test_a_bad_flag_is_a_usage_error(self):
        p = heaptrail("report", self.path, "--bogus")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.decode().splitlines(),
                         ["heaptrail report: unknown option '--bogus'",
                          "Try 'heaptrail help report'."])


class TopAtThePeak(unittest.TestCase):
    """Issue 12: `top` without --at reports the peak, like heaptrack and
    memray; --at end gives the end."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.path = record([target("report_page")], "report_page_top", flags=["-q"])
        if p.returncode != 0:
            raise AssertionError(p.stderr)

    def test_top_defaults_to_the_peak(self):
        doc = analyze("top", self.path, "--by", "site")
        self.assertEqual(doc["at"], "peak")
        self.assertEqual(doc["total_bytes"], 2348 * KIB)
        self.assertTrue(key_is(doc["stats"][0], "peak_build"), doc["stats"][0]["key"])
        p = heaptrail("top", self.path, "--by", "site")
        self.assertRegex(p.stdout.decode().splitlines()[0],
                         r"^Top 2 of 2 by site at peak \(\d+\.\d+s\): 2348 KiB live in 364 blocks$")

    def test_at_end_gives_the_end(self):
        doc = analyze("top", self.path, "--by", "site", "--at", "end")
        self.assertEqual(doc["at"], "end")
        self.assertEqual(doc["total_bytes"], 600 * KIB)
        self.assertTrue(key_is(doc["stats"][0], "leak_phase"))

    def test_the_summary_line_points_at_report(self):
        p, path = record([target("report_page")], "report_page_hint")
        self.assertTrue(p.stderr.decode().rstrip().endswith(f"next: heaptrail report {path}"),
                        p.stderr)


class TimeThatMeansWhatItSays(unittest.TestCase):
    """Issue 12: --at past the end was the end, silently; --at 0.3 looked
    for snapshot '0.3'."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.path = record([target("report_page")], "report_page_time", flags=["-q"])
        if p.returncode != 0:
            raise AssertionError(p.stderr)

    def test_a_time_past_the_end_is_an_error_giving_the_duration(self):
        us = analyze("info", self.path)["duration_us"]
        s = f"{us // 1000000}.{us % 1000000:06d}".rstrip("0").rstrip(".") + "s"
        for argv in (("top", self.path, "--at", "5s"),
                     ("diff", self.path, "--from", "0", "--to", "5s")):
            p = heaptrail(*argv)
            self.assertEqual(p.returncode, 1, argv)
            self.assertEqual(p.stderr.decode(),
                             f"heaptrail: {self.path}: time 5s is past the end of the "
                             f"trace, which lasts {s}\n")

    def test_a_time_within_the_run_still_works(self):
        doc = analyze("top", self.path, "--at", "1us")
        self.assertEqual(doc["at"], "1us")

    def test_a_number_without_a_unit_suggests_seconds(self):
        p = heaptrail("top", self.path, "--at", "0.3")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.decode().rstrip().endswith(
            "; for a time, give a unit: 0.3s"), p.stderr)


class RoughEdges(unittest.TestCase):
    """Issue 12's rough edges, on report_page's known pattern."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.path = record([target("report_page")], "report_page_edges", flags=["-q"])
        if p.returncode != 0:
            raise AssertionError(p.stderr)

    def test_an_include_matching_nothing_hints_at_the_whole_path(self):
        p = heaptrail("top", self.path, "--include", "report_page.c")
        self.assertEqual(p.returncode, 0)
        self.assertIn("heaptrail: note: --include 'report_page.c' matched nothing; patterns "
                      "match the whole path (try '*/report_page.c')", p.stderr.decode())
        p = heaptrail("top", self.path, "--include", "*/report_page.c")
        self.assertNotIn("matched nothing", p.stderr.decode())
        self.assertIn("2348 KiB live in 364 blocks (filtered)", p.stdout.decode())

    def test_leaks_growth_and_diff_give_the_same_include_hint(self):
        hint = ("heaptrail: note: --include 'report_page.c' matched nothing; patterns "
                "match the whole path (try '*/report_page.c')")
        for cmd in (["leaks"], ["growth"], ["diff", "--from", "peak", "--to", "end"]):
            p = heaptrail(cmd[0], self.path, *cmd[1:], "--include", "report_page.c")
            self.assertEqual(p.returncode, 0, (cmd, p.stderr))
            self.assertIn(hint, p.stderr.decode(), cmd)
            p = heaptrail(cmd[0], self.path, *cmd[1:], "--include", "*/report_page.c")
            self.assertNotIn("matched nothing", p.stderr.decode(), cmd)
            self.assertIn("report_page.c:", p.stdout.decode(), cmd)

    def test_temporary_with_at_is_refused(self):
        p = heaptrail("top", self.path, "--at", "peak", "--temporary")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.decode(),
                         "heaptrail top: --temporary covers the whole run; it takes no --at "
                         "(not --at peak)\nTry 'heaptrail help top'.\n")
        self.assertEqual(heaptrail("top", self.path, "--temporary").returncode, 0)

    def test_top_json_has_the_other_remainder(self):
        doc = analyze("top", self.path, "--by", "site", "-n", "1")
        self.assertEqual(len(doc["stats"]), 1)
        self.assertEqual(doc["other"], {"groups": 1, "bytes": 300 * KIB, "count": 300})
        p = heaptrail("top", self.path, "--by", "site", "-n", "1")
        self.assertIn("1 other: size=300 KiB, count=300", p.stdout.decode())

    def test_json_average_is_exact(self):
        # 2404352 B in 364 blocks: %g printed 6605.36.
        row = analyze("top", self.path, "--by", "filename", "--include", "*/report_page.c")["stats"][0]
        self.assertEqual((row["bytes"], row["count"]), (2404352, 364))
        self.assertEqual(row["average"], 2404352 / 364)
        p = heaptrail("top", "--json", "--by", "filename", "--include", "*/report_page.c", self.path)
        self.assertIn(b'"average":6605.3626373626375', p.stdout.replace(b" ", b""))

    def test_help_help_works(self):
        p = heaptrail("help", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(b"usage: heaptrail COMMAND"))

    def test_diff_of_two_programs_warns(self):
        p, other = record([target("leaks")], "report_page_other", flags=["-q"])
        self.assertEqual(p.returncode, 0)
        p = heaptrail("diff", other, self.path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("heaptrail: warning: the traces are of two different programs", p.stderr.decode())
        p = heaptrail("diff", self.path, self.path)
        self.assertNotIn("different programs", p.stderr.decode())


class InfoWording(unittest.TestCase):
    """Issue 12: info's wording."""

    def setUp(self):
        require_tools()

    def info(self, argv, name):
        p, path = record(argv, name, flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        p = heaptrail("info", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        return path, p.stdout.decode()

    def test_one_allocation_is_singular(self):
        _, out = self.info([target("one_alloc")], "one_alloc")
        self.assertIn("events:       1 allocation, 1 free, 0 reallocs\n", out)
        self.assertIn("temporary:    1 allocation (100 B) freed", out)

    def test_pythonmalloc_only_for_python_programs(self):
        _, out = self.info([target("one_alloc")], "one_alloc_c")
        self.assertRegex(out, r"recorder:     heaptrail \S+\n")
        self.assertNotIn("PYTHONMALLOC", out)
        py = os.path.realpath(sys.executable)
        _, out = self.info([py, "-c", "x = [0] * 1000"], "info_python")
        self.assertRegex(out, r"recorder:     heaptrail \S+ \(PYTHONMALLOC=malloc\)\n")

    def test_an_empty_file_is_called_empty(self):
        path, _ = self.info([target("one_alloc")], "info_empty_src")
        empty = path[:-len(".htr")] + "_empty.htr"
        open(empty, "w").close()
        p = heaptrail("info", empty)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.decode(),
                         f"heaptrail: {empty}: the file is empty; the recording wrote nothing "
                         "(was the program run under `heaptrail record`?)\n")

    def test_an_index_points_to_its_trace(self):
        path, _ = self.info([target("one_alloc")], "info_htri")
        p = heaptrail("info", path + "i")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.decode(),
                         f"heaptrail: {path}i: this is a trace index, not a trace; give the "
                         f"trace beside it: {path}\n")


class MissingDebugInfo(unittest.TestCase):
    """Issue 12: the missing-debug-info warning says how to get it: the
    Debian -dbgsym package, or DEBUGINFOD_URLS (which libdw's lookup uses
    when set)."""

    def setUp(self):
        require_tools()
        if not shutil.which("strip"):
            raise unittest.SkipTest("no strip")

    def test_the_warning_names_dbgsym_and_debuginfod(self):
        d = scratch_dir("report_nodebug")
        exe = os.path.join(d, "one_alloc")
        shutil.copy(target("one_alloc"), exe)
        subprocess.run(["strip", "--strip-debug", exe], check=True)
        p, path = record([exe], None, flags=["-q"], output=os.path.join(d, "t.htr"))
        self.assertEqual(p.returncode, 0, p.stderr)
        env = {k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"}
        p = subprocess.run([HEAPTRAIL, "top", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"heaptrail: warning: {exe}: no debug info (on Debian install the -dbgsym "
                      f"package of `dpkg -S {exe}`, or set DEBUGINFOD_URLS", p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
