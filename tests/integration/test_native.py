"""Native programs with known allocation patterns: every allocation entry
point, realloc chains, leaks and peak, snapshots, a dlopen'ed library,
_exit, SIGKILL.  Counts and bytes are checked exactly per call site
(function + file:line of the innermost frame)."""

import os
import signal
import subprocess
import time
import unittest

from helpers import (readline, HEAPTRAIL, REC_SIGNAL, TIMEOUT, analyze, decode_events, describe,
                     heaptrail, read_end, record, require_tools, run, site, site_totals, target,
                     trace_path)


class NativeCase(unittest.TestCase):
    def setUp(self):
        require_tools()

    def record_same(self, name, args=(), code=0):
        """Records target `name`, checks it behaves exactly as without the
        recorder, returns the trace path."""
        argv = [target(name), *args]
        plain = run(argv)
        p, path = record(argv, f"{name}{'_' + '_'.join(args) if args else ''}", flags=["-q"])
        self.assertEqual(plain.returncode, code, plain.stderr)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        return path

    def assert_site(self, stats, source, function, tag, count, nbytes, anywhere=False):
        where = site(source, tag)
        got = site_totals(stats, function, where, anywhere)
        self.assertEqual(got, (count, nbytes),
                         f"{function} at {where[0]}:{where[1]} (@site:{tag}): "
                         f"want {count} blocks/{nbytes} B, got {got[0]}/{got[1]}\n"
                         + describe(stats))


class EntryPoints(NativeCase):
    def test_every_entry_point_at_its_call_site(self):
        path = self.record_same("entry_points")
        stats = analyze("top", path, "-n", "0", "--at", "end")["stats"]
        expect = [
            ("malloc", 1, 100), ("calloc", 1, 300), ("calloc_overflow", 0, 0),
            ("realloc_null", 1, 200), ("realloc_src", 0, 0), ("realloc_grow", 1, 5000),
            ("reallocarray_null", 1, 77), ("reallocarray_keep", 1, 64),
            ("reallocarray_overflow", 0, 0), ("posix_memalign", 1, 1000),
            ("posix_memalign_bad", 0, 0), ("aligned_alloc", 1, 256), ("memalign", 1, 300),
            ("valloc", 1, 1000), ("pvalloc", 1, 1000), ("malloc_huge", 0, 0),
            ("freed", 0, 0), ("realloc_zero_src", 0, 0), ("realloc_zero", 0, 0),
        ]
        for tag, count, nbytes in expect:
            with self.subTest(site=tag):
                self.assert_site(stats, "entry_points.c", "main", tag, count, nbytes)

    def test_failed_calls_record_no_event(self):
        path = self.record_same("entry_points")
        huge = (2**64 - 1) // 2
        for ev in decode_events(path):
            if ev[0] == "alloc":
                self.assertLess(ev[2], huge, f"failed allocation recorded: {ev}")
            self.assertNotEqual(ev[0], "torn")


class ReallocChains(NativeCase):
    def chains(self):
        path = self.record_same("realloc_chain")
        return path, analyze("growth", path, "-n", "0")["chains"]

    def chain_of(self, chains, function, tag):
        where = site("realloc_chain.c", tag)
        found = [c for c in chains
                 if site_totals([dict(c, count=1, bytes=0)], function, where, True)[0]]
        self.assertEqual(len(found), 1, f"chains naming {function} {where}: {found!r:.2000}")
        return [(s["old_size"], s["new_size"]) for s in found[0]["steps"]], found[0].get("end")

    def test_live_chain_steps_exact(self):
        # growth.h: a chain is the run of growing reallocs; the shrink to 50
        # ends it ("end": "shrunk") and is not a step.
        path, chains = self.chains()
        steps, end = self.chain_of(chains, "grow_buffer", "grow_step")
        self.assertEqual(steps, [(10, 100), (100, 1000), (1000, 10000), (10000, 100000)])
        self.assertEqual(end, "shrunk")
        stats = analyze("top", path, "-n", "0", "--at", "end")["stats"]
        self.assert_site(stats, "realloc_chain.c", "grow_buffer", "grow_step", 1, 50)
        self.assert_site(stats, "realloc_chain.c", "grow_buffer", "grow_start", 0, 0)

    def test_freed_chain_steps_exact(self):
        _, chains = self.chains()
        steps, end = self.chain_of(chains, "double_up", "double_step")
        self.assertEqual(steps, [(16 << i, 32 << i) for i in range(10)])
        self.assertEqual(end, "freed")


class LeaksAndPeak(NativeCase):
    def test_leaked_bytes_per_function(self):
        path = self.record_same("leaks")
        stats = analyze("leaks", path, "-n", "0")["stats"]
        self.assert_site(stats, "leaks.c", "leak_small", "leak_small", 3, 384)
        self.assert_site(stats, "leaks.c", "leak_big", "leak_big", 1, 4096)
        self.assert_site(stats, "leaks.c", "no_leak", "no_leak", 0, 0)
        self.assert_site(stats, "leaks.c", "peak", "peak", 0, 0)

    def test_info_peak_and_end(self):
        path = self.record_same("leaks")
        info = analyze("info", path)
        self.assertFalse(info["truncated"])
        self.assertEqual(info["lost_events"], 0)
        self.assertEqual(info["leaked_bytes"], 4480)
        self.assertEqual(info["leaked_blocks"], 4)
        self.assertEqual(info["end_bytes"], 4480)
        self.assertEqual(info["peak_bytes"], 300000 + 4480)
        self.assertEqual({k: info["events"].get(k) for k in ("alloc", "free", "realloc")},
                         {"alloc": 11, "free": 7, "realloc": 0})


class Snapshots(NativeCase):
    def test_api_is_a_no_op_without_the_recorder(self):
        p = run([target("snapshots")])
        self.assertEqual((p.returncode, p.stdout), (0, b"snapshot=-1,-1 recording=0\n"))

    def test_api_works_in_a_non_pie_program(self):
        # Bug: in a -no-pie executable the link editor resolved the weak
        # heaptrail_snapshot_impl to NULL, so snapshots were silently dropped.
        p, path = record([target("snapshots_nopie")], "snapshots_nopie", flags=["-q"])
        self.assertEqual((p.returncode, p.stdout), (0, b"snapshot=0,0 recording=1\n"))
        labels = [s.get("label") for s in analyze("snapshots", path)["snapshots"]]
        self.assertEqual(labels, ["one", "two", "exit"])
        p = run([target("snapshots_nopie")])
        self.assertEqual((p.returncode, p.stdout), (0, b"snapshot=-1,-1 recording=0\n"))

    def test_api_is_found_by_name_with_dlsym(self):
        # Bug (issue 18): only heaptrail_snapshot_impl was exported, so
        # dlsym(RTLD_DEFAULT, "heaptrail_snapshot") found nothing.
        p, path = record([target("api_dlsym")], "api_dlsym", flags=["-q"])
        self.assertEqual((p.returncode, p.stdout), (0, b"found=1 snapshot=0 recording=1\n"))
        snaps = analyze("snapshots", path)["snapshots"]
        self.assertEqual([s.get("label") for s in snaps], ["by-name", "exit"])
        one = analyze("top", path, "-n", "0", "--by", "function", "--at", "by-name")["stats"]
        mains = [(st["count"], st["bytes"]) for st in one
                 if any(f.get("function") == "main" and (f.get("file") or "").endswith("api_dlsym.c")
                        for f in st.get("frames") or [])]
        self.assertEqual(mains, [(3, 1500)], describe(one))
        p = run([target("api_dlsym")])
        self.assertEqual((p.returncode, p.stdout), (0, b"found=0\n"))

    def test_heap_counters_count_exact_bytes(self):
        # issue 18: heaptrail_heap_bytes / _peak / _peak_reset (new).
        for name in ("heap_counters", "heap_counters_nopie"):
            with self.subTest(target=name):
                p, _ = record([target(name)], name, flags=["-q"])
                self.assertEqual((p.returncode, p.stdout),
                                 (0, b"on\nlive 10000 10000 13088 0 "
                                     b"peak 10000 310024 13088 13088 reset 0\n"),
                                 p.stderr)
                p = run([target(name)])
                self.assertEqual((p.returncode, p.stdout), (0, b"off -1 -1 -1\n"))

    def test_heap_counters_are_found_by_name(self):
        p, _ = record(["python3", "-c", "import ctypes; l = ctypes.CDLL(None); "
                       "l.heaptrail_heap_bytes.restype = ctypes.c_longlong; "
                       "l.heaptrail_heap_peak.restype = ctypes.c_longlong; "
                       "b, pk = l.heaptrail_heap_bytes(), l.heaptrail_heap_peak(); "
                       "print(b > 0, pk >= b, l.heaptrail_heap_peak_reset())"],
                      "heap_counters_by_name", flags=["-q"])
        self.assertEqual((p.returncode, p.stdout), (0, b"True True 0\n"), p.stderr)

    def test_snapshots_and_diff(self):
        argv = [target("snapshots")]
        p, path = record(argv, "snapshots", flags=["-q"])
        self.assertEqual((p.returncode, p.stdout), (0, b"snapshot=0,0 recording=1\n"))
        one = analyze("top", path, "-n", "0", "--at", "one")["stats"]
        self.assert_site(one, "snapshots.c", "phase_one", "phase_one", 10, 1000)
        self.assert_site(one, "snapshots.c", "phase_two", "phase_two", 0, 0)
        two = analyze("top", path, "-n", "0", "--at", "two")["stats"]
        self.assert_site(two, "snapshots.c", "phase_one", "phase_one", 15, 1500)
        self.assert_site(two, "snapshots.c", "phase_two", "phase_two", 20, 20000)
        diff = analyze("diff", path, "--from", "one", "--to", "two")["stats"]
        where = site("snapshots.c", "phase_two")
        top = diff[0]
        self.assertTrue(site_totals([dict(top, count=1, bytes=0)], "phase_two", where)[0],
                        f"largest growth is not phase_two at {where}: {top}")
        self.assertEqual(top.get("bytes_diff", top.get("size_diff")), 20000, top)
        self.assertEqual(top.get("count_diff"), 20, top)


class MarkClock(NativeCase):
    def test_program_marks_read_their_own_clock(self):
        # Ten marks 2 ms apart: each reads the time it was taken, not the
        # writer's flush time that all ten share.
        path = self.record_same("mark_clock")
        snaps = analyze("snapshots", path)["snapshots"]
        marks = [s for s in snaps if s["label"].startswith("m")]
        self.assertEqual([s["label"] for s in marks], [f"m{i}" for i in range(10)])
        times = [s["time_us"] for s in marks]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(1900 <= g < 500000 for g in gaps), f"gaps {gaps} (times {times})")
        # The heap at each mark still counts the allocations before it.
        self.assertEqual([s["heap_bytes"] for s in marks], [100 * (i + 1) for i in range(10)])


class DlopenLibrary(NativeCase):
    def check(self, args):
        path = self.record_same("dlopen_user", args)
        self.check_stats(analyze("top", path, "-n", "0")["stats"])

    def check_stats(self, stats):
        self.assert_site(stats, "lib_alloc.c", "lib_alloc_make", "lib_make", 4, 3108)
        where = site("lib_alloc.c", "lib_make")
        mods = {os.path.basename(s["frames"][0].get("module") or "") for s in stats
                if s["frames"] and s["frames"][0].get("line") == where[1]}
        self.assertEqual(mods, {"lib_alloc.so"})

    def test_allocations_attributed_to_the_library(self):
        self.check(())

    def test_attributed_after_dlclose(self):
        self.check(("close",))

    def test_library_opened_by_a_relative_path_is_recorded_by_its_absolute_path(self):
        # The program opened "./lib_alloc.so" and then left that directory:
        # the trace must name the file itself, or nothing symbolizes.
        path = self.record_same("dlopen_user", ("relative",))
        self.check_stats(analyze("top", path, "-n", "0")["stats"])


class Endings(NativeCase):
    def test_underscore_exit_leaves_a_complete_trace(self):
        path = self.record_same("quick_exit", code=7)
        self.assertIsNotNone(read_end(path), "no END record after _exit")
        self.assertFalse(analyze("info", path)["truncated"])
        stats = analyze("top", path, "-n", "0")["stats"]
        self.assert_site(stats, "quick_exit.c", "main", "before_exit", 5, 1605)

    def test_sigkill_leaves_a_readable_truncated_trace(self):
        path = trace_path("sigkill")
        proc = subprocess.Popen([HEAPTRAIL, "record", "-q", "-o", path, "--",
                                 target("sleeper")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        line = readline(proc).split()
        self.assertEqual(line[:1], [b"ready"])
        # Let the writer thread drain (it writes about every millisecond;
        # the file keeps growing with RSS samples, so wait for the events).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if sum(1 for ev in decode_events(path)
                   if ev[0] == "alloc" and ev[2] == 4000) == 6:
                break
            time.sleep(0.05)
        os.kill(int(line[1]), signal.SIGKILL)
        self.assertEqual(proc.wait(TIMEOUT), -signal.SIGKILL)
        self.assertIsNone(read_end(path))
        info = analyze("info", path)
        self.assertTrue(info["truncated"])
        stats = analyze("top", path, "-n", "0")["stats"]
        self.assert_site(stats, "sleeper.c", "main", "before_kill", 6, 24000)


class Crashes(NativeCase):
    """A program dying of SIGSEGV or SIGABRT: the crash handler has every
    event written, then SIGNAL and END, and the program still dies of the
    same signal with the same output."""

    def crashed(self, mode, sig):
        path = self.record_same("crasher", (mode,), code=-sig)
        self.assertIsNotNone(read_end(path), f"{mode}: no END record after the crash")
        bodies = [ev[2] for ev in decode_events(path) if ev[0] == "record" and ev[1] == REC_SIGNAL]
        self.assertEqual(len(bodies), 1, f"{mode}: SIGNAL records")
        self.assertEqual(bodies[0][0], sig, f"{mode}: the SIGNAL record's number")
        info = analyze("info", path)
        self.assertEqual((info["truncated"], info["clean_end"], info["fatal_signal"],
                          info["fatal_signal_name"], info["lost_events"]),
                         (False, False, sig, signal.Signals(sig).name, 0))
        return path

    def test_segv_and_abort_end_the_trace_with_the_signal(self):
        for mode, sig in (("segv", signal.SIGSEGV), ("abort", signal.SIGABRT)):
            with self.subTest(mode=mode):
                path = self.crashed(mode, sig)
                stats = analyze("top", path, "-n", "0")["stats"]
                self.assert_site(stats, "crasher.c", "main", "before_crash", 1, 99)

    def test_events_still_in_the_ring_at_the_crash_are_written(self):
        path = self.crashed("many", signal.SIGSEGV)
        stats = analyze("top", path, "-n", "0")["stats"]
        self.assert_site(stats, "crasher.c", "main", "many", 50000, 50000 * 48)

    def test_a_crash_in_another_thread(self):
        path = self.crashed("thread", signal.SIGSEGV)
        stats = analyze("top", path, "-n", "0")["stats"]
        self.assert_site(stats, "crasher.c", "worker", "in_thread", 20000, 20000 * 32)

    def test_the_programs_own_handler_stays_in_charge(self):
        path = self.record_same("crasher", ("own",), code=3)
        info = analyze("info", path)
        self.assertEqual((info["clean_end"], info["fatal_signal"]), (True, None))

    def test_a_handler_that_chains_to_ours_still_dies_of_the_fault(self):
        # Before the handler put SIG_DFL back itself, the fault went from
        # the program's handler to ours and back, forever.
        plain = run([target("crasher"), "chain"], timeout=20)
        self.assertEqual(plain.returncode, -signal.SIGSEGV)
        self.assertEqual(plain.stderr.count(b"passing it on"), 1, plain.stderr)
        p, path = record([target("crasher"), "chain"], "crash_chain", flags=["-q"], timeout=20)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        info = analyze("info", path)
        self.assertEqual(info["fatal_signal_name"], "SIGSEGV")

    def test_crash_flush_off_leaves_the_trace_truncated(self):
        p, path = record([target("crasher"), "many"], "crash_flush_off", flags=["-q"],
                         env={"HEAPTRAIL_CRASH_FLUSH": "0"})
        self.assertEqual(p.returncode, -signal.SIGSEGV)
        self.assertIsNone(read_end(path))
        self.assertTrue(analyze("info", path)["truncated"])


class ThreadChurnAndBigBlocks(NativeCase):
    def test_short_lived_threads_lose_nothing(self):
        path = self.record_same("thread_churn")
        info = analyze("info", path)
        self.assertEqual(info["lost_events"], 0)
        self.assertFalse(info["truncated"])
        # At the end: the peak falls inside a round, with up to 4 x 90
        # blocks of running workers live besides the 2000 leaked.
        stats = analyze("top", path, "-n", "0", "--at", "end")["stats"]
        self.assert_site(stats, "thread_churn.c", "worker", "churn_alloc", 2000, 64000)

    def test_mmap_sized_blocks(self):
        path = self.record_same("thread_churn")
        stats = analyze("top", path, "-n", "0")["stats"]
        self.assert_site(stats, "thread_churn.c", "big_blocks", "big_malloc", 1, 10 << 20)
        self.assert_site(stats, "thread_churn.c", "big_blocks", "big_calloc", 1, 3 << 20)
        self.assert_site(stats, "thread_churn.c", "big_blocks", "big_realloc", 1, 20 << 20)
        self.assert_site(stats, "thread_churn.c", "big_blocks", "big_realloc_src", 0, 0)
