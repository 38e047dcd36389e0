"""Recording options end to end: --snapshot-signal (sent to the wrapper and
forwarded), --snapshot-every, --depth; and programs the recorder cannot
enter (statically linked)."""

import os
import shutil
import signal
import subprocess
import time
import unittest

from helpers import (readline, HEAPTRAIL, TIMEOUT, analyze, decode_events, describe, read_end,
                     record, require_tools, run, site, site_totals, target, trace_path,
                     REC_SNAPSHOT)


class Options(unittest.TestCase):
    def setUp(self):
        require_tools()

    def snapshot_records(self, path):
        # The file appears (and gets its header) a moment after the start.
        if not os.path.exists(path) or os.path.getsize(path) < 16:
            return []
        return [ev for ev in decode_events(path) if ev[0] == "record" and ev[1] == REC_SNAPSHOT]

    def test_snapshot_signal_sent_to_the_wrapper(self):
        path = trace_path("snapshot_signal")
        proc = subprocess.Popen([HEAPTRAIL, "record", "-q", "-o", path, "--snapshot-signal",
                                 "USR2", "--", target("line_alloc")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            proc.stdin.write(b"one\n")
            proc.stdin.flush()
            self.assertEqual(readline(proc), b"ok 1\n")
            proc.send_signal(signal.SIGUSR2)  # to the wrapper: forwarded
            deadline = time.monotonic() + 20
            while not self.snapshot_records(path) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(self.snapshot_records(path), "no SNAPSHOT record after SIGUSR2")
            proc.stdin.write(b"two\n")
            proc.stdin.flush()
            self.assertEqual(readline(proc), b"ok 2\n")
            proc.stdin.close()
            self.assertEqual(proc.wait(TIMEOUT), 0, proc.stderr.read())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        snaps = analyze("info", path)["snapshots"]
        self.assertEqual([s["origin"] for s in snaps], ["signal", "exit"], snaps)
        where = site("line_alloc.c", "per_line")
        at_signal = analyze("top", path, "-n", "0", "--at", str(snaps[0]["index"]))["stats"]
        self.assertEqual(site_totals(at_signal, "main", where), (1, 1000), describe(at_signal))
        at_end = analyze("top", path, "-n", "0")["stats"]
        self.assertEqual(site_totals(at_end, "main", where), (2, 2000), describe(at_end))

    def test_snapshot_every(self):
        # line_alloc waits for its input; the timer marks snapshots meanwhile.
        path = trace_path("snapshot_every")
        proc = subprocess.Popen([HEAPTRAIL, "record", "-q", "-o", path, "--snapshot-every",
                                 "0.05", "--", target("line_alloc")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while len(self.snapshot_records(path)) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            proc.stdin.close()
            self.assertEqual(proc.wait(TIMEOUT), 0, proc.stderr.read())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        snaps = analyze("info", path)["snapshots"]
        timers = [s for s in snaps if s["origin"] == "timer"]
        self.assertGreaterEqual(len(timers), 3, snaps)
        self.assertEqual(snaps[-1]["origin"], "exit")
        times = [s["time_us"] for s in snaps]
        self.assertEqual(times, sorted(times))

    def test_depth_cuts_stacks(self):
        where = site("recurse.c", "bottom")
        for depth in (1, 5, 30):
            with self.subTest(depth=depth):
                p, path = record([target("recurse")], f"depth_{depth}",
                                 flags=["-q", "--depth", str(depth)])
                self.assertEqual(p.returncode, 0, p.stderr)
                stats = analyze("top", path, "-n", "0", "--by", "traceback")["stats"]
                ours = [s for s in stats if s["frames"] and s["frames"][0].get("line") == where[1]
                        and os.path.basename(s["frames"][0].get("file") or "") == where[0]]
                self.assertEqual(sum(s["count"] for s in ours), 3, describe(stats))
                frames = ours[0]["frames"]
                # down x 21, main, libc start (2), _start = 25 frames in all.
                self.assertEqual(len(frames), min(depth, 25),
                                 [f.get("function") for f in frames])
                self.assertEqual([f.get("function") for f in frames[:min(depth, 21)]],
                                 ["down"] * min(depth, 21))

    def test_statically_linked_program_runs_untraced(self):
        for cand in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
            if os.path.exists(cand):
                ldd = run(["ldd", cand])
                if b"statically linked" in ldd.stdout + ldd.stderr or \
                        b"not a dynamic" in ldd.stdout + ldd.stderr:
                    break
        else:
            self.skipTest("no statically linked program found")
        plain = run([cand, "-p"])
        p, path = record([cand, "-p"], "static")
        self.assertEqual((p.returncode, p.stdout), (plain.returncode, plain.stdout))
        self.assertIn(b"not loaded", p.stderr)
        self.assertFalse(os.path.exists(path), "an empty trace was left behind")

    def test_program_with_its_own_malloc_gets_one_warning(self):
        p, path = record([target("own_malloc")], "own_malloc")
        self.assertEqual((p.returncode, p.stdout), (0, b"ok\n"))
        warnings = [l for l in p.stderr.splitlines() if b"malloc is defined by" in l]
        self.assertEqual(len(warnings), 1, p.stderr)
        self.assertIn(b"own_malloc", warnings[0])

    def test_non_pie_program_calling_libc_malloc_gets_no_warning(self):
        # Bug: Debian's /usr/bin/python3.11 (non-PIE) has a canonical PLT
        # entry for malloc, which dlsym returns; the recorder took that for
        # a malloc of the program's own and warned although it recorded.
        py = "/usr/bin/python3.11"
        if not os.path.exists(py):
            self.skipTest(f"{py} not installed")
        p, path = record([py, "-c", "print(len([0] * 1000))"], "nonpie_python")
        self.assertEqual((p.returncode, p.stdout), (0, b"1000\n"))
        self.assertNotIn(b"malloc is defined by", p.stderr)
        self.assertGreater(analyze("info", path)["events"]["alloc"], 1000)

    def test_an_idle_program_writes_rss_only_when_it_changes(self):
        # Bug: the writer wrote an RSS record every 10 ms whether or not the
        # RSS had changed, so a sleeping program's trace grew ~600 B/s.
        p, path = record(["sleep", "1"], "idle_rss", flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        rss = [ev for ev in decode_events(path) if ev[0] == "record" and ev[1] == 7]
        self.assertGreaterEqual(len(rss), 2, "the first and the final sample")
        self.assertLess(len(rss), 20, f"{len(rss)} RSS records for one idle second")

    def test_a_program_that_allocates_nothing_gets_no_warning(self):
        # Bug: `true` under the recorder printed "no allocations were
        # recorded ..." on its stderr; the note now goes into the trace only.
        p, path = record(["true"], "allocates_nothing")
        self.assertEqual(p.returncode, 0)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn(b"wrote", lines[0])
        notes = [ev[2] for ev in decode_events(path) if ev[0] == "record" and ev[1] == 10]
        self.assertTrue(any(b"no allocations were recorded" in n for n in notes), notes)

    def test_a_program_that_never_allocates_is_not_suspected_of_its_own_allocator(self):
        # Bug (issue 20.8): `true` got "the program may use its own
        # allocator" when it simply never called malloc.
        p, path = record(["true"], "never_allocates", flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        notes = [ev[2] for ev in decode_events(path) if ev[0] == "record" and ev[1] == 10]
        said = [n for n in notes if b"no allocations" in n]
        self.assertEqual(len(said), 1, notes)
        self.assertTrue(said[0].endswith(b"no allocations were recorded: the program made "
                                         b"no call to malloc or its family"), said)
        self.assertNotIn(b"own allocator", said[0])

    def test_allocations_only_before_recording_started_keep_the_own_allocator_note(self):
        # The other case of the note above: calls to malloc were seen, but
        # only while recording was off (a preloaded library's constructor
        # that runs before the recorder's).
        lib = os.path.join(os.path.dirname(target("one_alloc")), "lib_ctor_alloc.so")
        p, path = record(["true"], "allocates_before_start", flags=["-q"],
                         env={"LD_PRELOAD": lib})
        self.assertEqual(p.returncode, 0, p.stderr)
        notes = [ev[2] for ev in decode_events(path) if ev[0] == "record" and ev[1] == 10]
        said = [n for n in notes if b"no allocations" in n]
        self.assertEqual(len(said), 1, notes)
        self.assertTrue(said[0].endswith(b"no allocations were recorded, only some before "
                                         b"recording started: the program may use its own "
                                         b"allocator, which LD_PRELOAD cannot see"), said)

    def test_output_in_a_missing_directory(self):
        path = os.path.join(trace_path("x", ext=""), "missing", "t.htr")
        p, _ = record(["true"], None, output=path)
        # Issue 12: a file that cannot be created is not a bad command line.
        self.assertEqual(p.returncode, 1)
        self.assertIn(path.encode(), p.stderr)
