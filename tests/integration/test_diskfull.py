"""A trace on a full filesystem (issue 20.7): the program runs as it would,
the trace ends cleanly at a whole record with END counting every event that
never reached the file, and the wrapper names the write failure instead of
"the program did not finish cleanly"."""

import os
import subprocess
import unittest

from helpers import analyze, heaptrail, record, require_tools, run, scratch_dir, target

PAIRS = 100000


class DiskFull(unittest.TestCase):
    def setUp(self):
        require_tools()
        self.mnt = scratch_dir("diskfull_mnt")
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", self.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if m.returncode != 0:
            raise unittest.SkipTest("cannot mount a small tmpfs: "
                                    + m.stderr.decode(errors="replace").strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])

    @staticmethod
    def count(info):
        e = info["events"]
        return e["alloc"] + e["free"] + e["realloc"]

    def test_events_not_written_are_counted_and_the_failure_named(self):
        self.check([], PAIRS)

    def test_compressed_trace_is_cut_back_to_a_whole_frame(self):
        # churn_n compresses 100-200x: 10 times the pairs (~45 KiB
        # compressed) on a tmpfs of 2 pages.  The cut-back and the END
        # after it work on frame boundaries.
        small = os.path.join(self.mnt, "small")
        os.makedirs(small)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", small],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(m.returncode, 0, m.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", small])
        trace = self.check(["--compress"], 10 * PAIRS, small)
        with open(trace, "rb") as f:
            self.assertEqual(f.read(4), b"\x28\xb5\x2f\xfd")
        self.assertFalse(analyze("info", trace)["compression"]["torn_frame"])

    def check(self, flags, pairs, mnt=None):
        prog = [target("churn_n"), str(pairs)]
        plain = run(prog)
        whole, whole_trace = record(prog, "diskfull_whole", flags=["-q", *flags])
        self.assertEqual(whole.returncode, 0, whole.stderr)
        events = self.count(analyze("info", whole_trace))

        p, trace = record(prog, "diskfull", flags=flags, output=os.path.join(mnt or self.mnt, "t.htr"))

        self.assertEqual(p.returncode, plain.returncode)
        self.assertEqual(p.stdout, plain.stdout)
        err = p.stderr.decode()
        self.assertIn("heaptrail: cannot write the trace (No space left on device)", err)
        self.assertNotIn("did not finish cleanly", err)
        self.assertRegex(err, r"LOST because writing the trace failed")
        info = analyze("info", trace)
        self.assertTrue(info["clean_end"], info)
        self.assertGreater(info["lost_events"], 0)
        # Every event is either in the file or counted as lost.
        self.assertEqual(self.count(info) + info["lost_events"], events, info)
        self.assertIn(f"{info['lost_events']} events not written", err)
        text = heaptrail("info", trace).stdout.decode()
        # Compressed, the flushes are ~1 KiB: cutting back the last one
        # may free no tmpfs page, and then only END fits, not the WARNING
        # before it (by design: END first).
        if "--compress" not in flags or "last:" in text:
            self.assertIn(f"last: cannot write the trace (No space left on device): "
                          f"{info['lost_events']} events not written", text)
        return trace


if __name__ == "__main__":
    unittest.main()
