"""The recorder's own memory and the limits it runs under (issue 14 defect
8, issue 20 defects 2 and 4).  Limits are set inside the tests
(resource.setrlimit in the child); each test failed before its fix."""

import os
import resource
import subprocess
import unittest

from helpers import (BUILD, HEAPTRAIL, TIMEOUT, analyze, record, require_tools, site,
                     site_totals, target, trace_path)
from test_python import PYT, python3

MIB = 1 << 20
# One thread's event ring (registry.h: 32768 slots of 40 bytes, and a page
# of header): the bound is "16 MiB plus the rings".
RING = 32768 * 40 + 4096
BLOCKS = 300000  # vm_limit's mallocs


def limited(argv, rlimit, value, env=None):
    """Runs argv with the soft and hard `rlimit` set to value in the child."""
    def set_limit():
        resource.setrlimit(rlimit, (value, value))
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, timeout=TIMEOUT, preexec_fn=set_limit)


def vm_result(p):
    """vm_limit's report: (failed mallocs, VmPeak KiB)."""
    words = dict(line.split() for line in p.stdout.decode().splitlines())
    return int(words["failed"]), int(words["vmpeak"])


class RecorderMemory(unittest.TestCase):
    """Issue 14 defect 8: a Python script that needs 101 MB of RSS with
    PYTHONMALLOC=malloc showed 155 MB under the recorder (the writer's
    address table grew to 32 MiB, the stack table and id index were 14 MiB
    mapped at full size and touched at random); info did not say."""

    def setUp(self):
        require_tools()

    def test_the_recorder_adds_at_most_16_mib_plus_its_rings_and_info_says_its_peak(self):
        argv = [python3(), os.path.join(PYT, "many_objects.py")]
        plain = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, PYTHONMALLOC="malloc"), timeout=TIMEOUT)
        p, path = record(argv, "limits_many_objects", flags=["-q"])
        self.assertEqual((p.returncode, plain.returncode), (0, 0), p.stderr)
        added = (int(p.stdout) - int(plain.stdout)) << 10
        self.assertLessEqual(added, 16 * MIB + RING,
                             f"RSS plain {int(plain.stdout)} KiB, recorded {int(p.stdout)} KiB")
        info = analyze("info", path)
        peak = info["recorder_memory_peak"]
        self.assertIsNotNone(peak, "info has no recorder memory")
        # At least the ring and the start-up tables; at most the bound.
        self.assertGreaterEqual(peak, RING + MIB)
        self.assertLessEqual(peak, 24 * MIB)
        text = subprocess.run([HEAPTRAIL, "info", path], stdout=subprocess.PIPE,
                              timeout=TIMEOUT).stdout.decode()
        self.assertIn("recorder memory: peak ", text)


class AddressSpaceLimit(unittest.TestCase):
    """Issue 20 defect 2: at ulimit -v 20000 heaptrail said "cannot start
    recording" but kept 15.6 MB mapped, and 281,924 of the program's
    300,000 mallocs failed (0 without heaptrail); the summary blamed a
    static or setuid program."""

    def setUp(self):
        require_tools()
        self.argv = [target("vm_limit")]
        plain = subprocess.run(self.argv, stdout=subprocess.PIPE, timeout=TIMEOUT)
        self.plain_failed, self.plain_peak = vm_result(plain)
        self.assertEqual(self.plain_failed, 0)

    def run_both(self, name, limit_kib):
        plain = limited(self.argv, resource.RLIMIT_AS, limit_kib << 10)
        path = trace_path(name)
        rec = limited([HEAPTRAIL, "record", "-o", path, "--", *self.argv],
                      resource.RLIMIT_AS, limit_kib << 10)
        return plain, rec, path

    def test_where_it_cannot_start_it_unmaps_everything_and_the_summary_says_why(self):
        # 4 MiB above what the program needs: too little for the recorder.
        plain, rec, path = self.run_both("limits_vm_nostart", self.plain_peak + 4096)
        self.assertEqual((rec.returncode, vm_result(rec)[0]), (plain.returncode, vm_result(plain)[0]))
        self.assertEqual(vm_result(rec)[0], 0)
        err = rec.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("heaptrail: no trace written: recording did not start in the program: "
                      "the address-space limit (ulimit -v ", err)
        self.assertNotIn("statically linked", err)
        self.assertFalse(os.path.exists(path))

    def test_where_it_can_start_it_records_every_malloc_and_the_program_loses_none(self):
        # 28 MiB above what the program needs: enough for the recorder's
        # 24 MiB of headroom at start and its 7.5 MiB in the run (before,
        # it took 38 MiB here and 164854 of the mallocs failed).
        plain, rec, path = self.run_both("limits_vm_start", self.plain_peak + 28 * 1024)
        failed, peak = vm_result(rec)
        self.assertEqual((rec.returncode, failed), (plain.returncode, vm_result(plain)[0]))
        self.assertEqual(failed, 0)
        stats = analyze("top", path, "-n", "0")["stats"]
        got = site_totals(stats, "main", site("vm_limit.c", "block"))
        self.assertEqual(got, (BLOCKS, BLOCKS * 24))
        self.assertEqual(analyze("info", path)["lost_events"], 0)

    def test_the_virtual_memory_the_recorder_adds_is_bounded(self):
        # Measured: VmPeak 14188 KiB plain, 21832 to 25928 recorded: the
        # program reads VmPeak right after its 300,000 mallocs, while the
        # writer may still be behind, before or after the doubling of its
        # address table to 4 MiB (flaky beside a 10 MiB bound).  What does
        # not depend on when it is read: the recorder's own mappings at
        # their peak (info's "recorder memory", 10180 KiB in every run:
        # writer 7300, rings 1928, unwind 1132, stacks 324, modules 204)
        # and what VmPeak adds beyond them, the recorder's code, data and
        # libraries (at most 1.6 MiB seen).  The writer's 8 MiB stack,
        # which made 17 MiB before, would break either bound.
        p, path = record(self.argv, "limits_vm_added", flags=["-q"])
        failed, peak = vm_result(p)
        added = (peak - self.plain_peak) << 10
        mapped = analyze("info", path)["recorder_memory_peak"]
        self.assertLessEqual(mapped, 12 * MIB, f"recorder memory peak {mapped >> 10} KiB")
        self.assertLessEqual(added, mapped + 3 * MIB,
                             f"VmPeak plain {self.plain_peak}, recorded {peak} KiB, "
                             f"recorder memory peak {mapped >> 10} KiB")


class DescriptorLimit(unittest.TestCase):
    """Issue 20 defect 4: at ulimit -n 5 the wrapper said "cannot move the
    trace fd", at -n 4 "pipe: Too many open files", with exit 2: the
    program never ran.  Now it always runs; at worst unrecorded, with one
    line.  (At -n 3 no dynamically linked program starts at all: the
    loader has no descriptor to open libc, and heaptrail is one too.)"""

    def setUp(self):
        require_tools()
        self.argv = [target("one_alloc")]

    def run_both(self, n):
        plain = limited(self.argv, resource.RLIMIT_NOFILE, n)
        path = trace_path(f"limits_fd_{n}")
        rec = limited([HEAPTRAIL, "record", "-o", path, "--", *self.argv],
                      resource.RLIMIT_NOFILE, n)
        return plain, rec, path

    def assert_recorded(self, n):
        plain, rec, path = self.run_both(n)
        self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout), rec.stderr)
        self.assertEqual(plain.returncode, 0)
        info = analyze("info", path)
        self.assertEqual((info["events"]["alloc"], info["events"]["free"], info["lost_events"],
                          info["truncated"]), (1, 1, 0, False))

    def test_at_3_neither_runs(self):
        # Not a fix: what happens there, the same plain and recorded.
        plain, rec, path = self.run_both(3)
        self.assertEqual((plain.returncode, rec.returncode), (127, 127))
        self.assertFalse(os.path.exists(path))

    def test_at_4_the_program_runs_unrecorded_with_one_line(self):
        plain, rec, path = self.run_both(4)
        self.assertEqual((rec.returncode, rec.stdout), (plain.returncode, plain.stdout))
        self.assertEqual(plain.returncode, 0)
        self.assertEqual(rec.stderr.decode(),
                         "heaptrail: the descriptor limit (ulimit -n 4) leaves no descriptor for "
                         "the program beside the trace's; the program runs unrecorded\n")
        self.assertFalse(os.path.exists(path))

    def test_at_5_it_records(self):
        self.assert_recorded(5)

    def test_at_8_it_records(self):
        # Worked before; kept so that the low-limit paths do not break it.
        self.assert_recorded(8)


if __name__ == "__main__":
    unittest.main()
