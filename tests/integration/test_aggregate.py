"""`heaptrail record --aggregate`: the recorder keeps the heap model and
writes per-stack totals at the snapshots, the peak and the end.  On
agg_mix (four phases between marks, the peak inside "spike", a leak that
creeps by 4096 bytes a mark), every report on the aggregated trace equals
the same report on a full trace of the same program; a 10M-event run
stays a few KiB; commands that need single events say so (exit 2)."""

import os
import unittest

from helpers import analyze, heaptrail, record, require_tools, target

POINTS = ["peak", "end", "kept", "mixed", "spike", "churn", "exit", "0", "3"]
CHURN = 5_000_000  # malloc/free pairs: 10M events


def rows(stats):
    return [(s["key"], s["bytes"], s["count"]) for s in stats]


class Aggregate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.full = record([target("agg_mix"), "1000"], "agg_full", flags=["-q"])
        assert p.returncode == 0, p.stderr
        p, cls.agg = record([target("agg_mix"), "1000"], "agg_agg", flags=["-q", "--aggregate"])
        assert p.returncode == 0, p.stderr
        cls.agg_stdout = p.stdout

    def both(self, cmd, *extra):
        return analyze(cmd, self.full, *extra), analyze(cmd, self.agg, *extra)

    def test_program_output_is_unchanged(self):
        self.assertEqual(self.agg_stdout, b"done 61\n")

    def test_top_equals_the_full_trace_at_every_point(self):
        for by in ("lineno", "traceback", "function"):
            for at in POINTS:
                with self.subTest(at=at, by=by):
                    f, a = self.both("top", "--at", at, "--by", by, "-n", "0")
                    self.assertEqual(rows(a["stats"]), rows(f["stats"]))
                    self.assertGreater(len(f["stats"]), 0)
                    for k in ("heap_bytes", "heap_blocks", "total_bytes", "total_count"):
                        self.assertEqual(a[k], f[k], k)

    def test_peak_is_inside_the_spike(self):
        a = analyze("top", self.agg, "--at", "peak", "--by", "function", "-n", "0")
        spike = [s for s in a["stats"] if s["key"] == "spike"]
        self.assertEqual([(s["bytes"], s["count"]) for s in spike], [(100000, 10)])
        # kept 30 x 64 + 20 x 300 (realloc'd), calloc 50 x 200, creep 2 x 4096,
        # spike 10 x 10000; stdout's buffer not yet: printf comes last.
        self.assertEqual(a["heap_bytes"], 1920 + 6000 + 10000 + 2 * 4096 + 100000)

    def test_snapshots_equal(self):
        f, a = self.both("snapshots")
        key = lambda s: [(x["index"], x["label"], x["origin"], x["heap_bytes"], x["heap_blocks"])
                         for x in s["snapshots"]]
        self.assertEqual(key(a), key(f))
        self.assertEqual([x["label"] for x in a["snapshots"]],
                         ["kept", "mixed", "spike", "churn", "exit"])

    def test_leaks_and_candidates_equal(self):
        f, a = self.both("leaks")
        self.assertEqual(rows(a["stats"]), rows(f["stats"]))
        cand = lambda d: [(c["key"], c["growth"], c["series"]) for c in d["candidates"]]
        self.assertEqual(cand(a), cand(f))
        self.assertEqual(len(a["candidates"]), 1)
        self.assertIn("creep", a["candidates"][0]["key"])

    def test_diff_equals(self):
        for frm, to in (("kept", "churn"), ("mixed", "end"), ("spike", "peak")):
            with self.subTest(frm=frm, to=to):
                f, a = self.both("diff", "--from", frm, "--to", to)
                key = lambda d: [(s["key"], s["bytes_diff"], s["count_diff"]) for s in d["stats"]]
                self.assertEqual(key(a), key(f))

    def test_info_counts_equal(self):
        f, a = self.both("info")
        # Not "stacks": a full trace also has the free sites' one-frame stacks.
        for k in ("events", "bytes_allocated", "peak_bytes", "peak_blocks",
                  "end_bytes", "end_blocks", "leaked_bytes", "leaked_blocks", "lost_events",
                  "anomalies"):
            self.assertEqual(a[k], f[k], k)
        self.assertTrue(a["aggregated"])
        self.assertFalse(f["aggregated"])
        self.assertLess(os.path.getsize(self.agg), os.path.getsize(self.full))

    def test_timeline_report_and_html_work(self):
        t = analyze("timeline", self.agg)
        self.assertEqual(t["peak"]["heap_bytes"], analyze("info", self.full)["peak_bytes"])
        self.assertEqual([s["label"] for s in t["snapshots"]],
                         ["kept", "mixed", "spike", "churn", "exit"])
        p = heaptrail("report", self.agg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Growth chains: not in this trace (recorded with --aggregate", p.stdout)
        self.assertIn(b"agg_mix.c:55: +12.0 KiB (4096 B -> 16.0 KiB), grew in 3 of 4", p.stdout)
        out = self.agg + ".html"
        p = heaptrail("html", "-o", out, self.agg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(os.path.getsize(out), 1000)
        with open(out, encoding="utf-8") as f:
            page = f.read()
        self.assertIn('"aggregated":true', page)

    def test_commands_needing_single_events_say_so(self):
        for args, what in ((["growth"], b"growth chains"),
                           (["top", "--temporary"], b"--temporary"),
                           (["lines"], b"per-line frees")):
            with self.subTest(cmd=args[0]):
                extra = ["agg_mix.c"] if args[0] == "lines" else []
                p = heaptrail(*args, self.agg, *extra)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(p.stdout, b"")
                lines = p.stderr.splitlines()
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertIn(b"was recorded with --aggregate and has no single events; "
                              b"record without --aggregate for " + what, lines[0])
        # The full trace still answers.
        self.assertEqual(heaptrail("growth", self.full).returncode, 0)


class AggregateOthers(unittest.TestCase):
    """The same equality on programs with an exec, 200 threads, a crash,
    realloc chains and a followed fork."""

    def same(self, name, argv, flags=()):
        traces = []
        for mode in ([], ["--aggregate"]):
            p, path = record(argv, "agg_%s_%d" % (name, len(mode)), flags=["-q", *flags, *mode])
            traces.append(path)
        for at in ("peak", "end"):
            with self.subTest(name=name, at=at):
                f, a = (analyze("top", t, "--at", at, "-n", "0") for t in traces)
                self.assertEqual(sorted(rows(a["stats"])), sorted(rows(f["stats"])))
                self.assertEqual(a["heap_bytes"], f["heap_bytes"])
        return traces

    def test_exec_threads_crash_realloc(self):
        self.same("exec", [target("exec_chain"), "self"])
        self.same("threads", [target("thread_churn")])
        self.same("crash", [target("crasher"), "segv"])
        self.same("realloc", [target("realloc_chain")])

    def test_followed_fork_child(self):
        full, agg = self.same("fork", [target("fork_free")], flags=["--follow-fork"])
        children = []
        for t in (full, agg):
            d = os.path.dirname(t)
            kids = [os.path.join(d, n) for n in os.listdir(d)
                    if n.startswith(os.path.basename(t) + ".") and n[-1].isdigit()]
            self.assertEqual(len(kids), 1, kids)
            children.append(kids[0])
        f, a = (analyze("info", c) for c in children)
        for k in ("events", "end_bytes", "anomalies"):
            self.assertEqual(a[k], f[k], k)
        self.assertEqual(f["anomalies"]["unknown_frees"], 5)


class AggregatePython(unittest.TestCase):
    """Python: the recorder groups start-up at the main-module mark, as
    the analyzer does for a full trace; the program's own rows agree."""

    def test_snap_phases_rows_agree(self):
        from test_python import PYT, python3
        argv = [python3(), os.path.join(PYT, "snap_phases.py")]
        env = {"PYTHONHASHSEED": "0"}
        traces = []
        for mode in ([], ["--aggregate"]):
            p, path = record(argv, "agg_py_%d" % len(mode), flags=["-q", *mode], env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            traces.append(path)
        for at in ("after phase1", "after phase2", "peak"):
            with self.subTest(at=at):
                f, a = (analyze("top", t, "--at", at, "--by", "function", "-n", "0")
                        for t in traces)
                mine = lambda d: [r for r in rows(d["stats"]) if r[0] in ("phase1", "phase2")]
                self.assertGreater(len(mine(a)), 0)
                if at != "peak":
                    self.assertEqual(mine(a), mine(f))
                    continue
                # Two runs of the interpreter: its own small blocks live at
                # the peak moment vary from run to run (202 blocks against
                # 200 seen once in eight), so the big objects must agree
                # exactly and at most two 40-byte blocks may differ.
                for (ka, ba, ca), (kf, bf, cf) in zip(mine(a), mine(f)):
                    self.assertEqual(ka, kf)
                    self.assertLessEqual(abs(ca - cf), 2, (mine(a), mine(f)))
                    self.assertLessEqual(abs(ba - bf), 2 * 40, (mine(a), mine(f)))
                keys = [r[0] for r in rows(a["stats"])]
                self.assertIn("<interpreter startup>", keys)


class AggregateSize(unittest.TestCase):
    def test_ten_million_events_make_a_small_trace(self):
        p, path = record([target("agg_mix"), str(CHURN)], "agg_big",
                         flags=["-q", "--aggregate", "--snapshot-every", "0.05"])
        self.assertEqual(p.returncode, 0, p.stderr)
        info = analyze("info", path)
        self.assertGreaterEqual(info["events"]["alloc"] + info["events"]["free"], 2 * CHURN)
        self.assertEqual(info["lost_events"], 0)
        # Stacks x snapshots, not events: 10M events of a full trace take
        # ~20 MB; here a few hundred bytes per snapshot.
        nsnap = len(analyze("snapshots", path)["snapshots"])
        self.assertGreaterEqual(nsnap, 5)
        self.assertLess(os.path.getsize(path), 16384 + 200 * nsnap)
        a = analyze("top", path, "--at", "end", "--by", "function", "-n", "0")
        self.assertEqual([(s["key"], s["bytes"], s["count"]) for s in a["stats"]
                          if s["key"] in ("tail", "creep")],
                         [("creep", 16384, 4), ("tail", 3500, 7)])


if __name__ == "__main__":
    unittest.main()
