"""The live view (issue 15): `heaptrail record --live` and `heaptrail live`
driven in tmux (new-session -x 200 -y 50, send-keys, capture-pane).
Program: targets/live_alloc.c, which holds 50 blocks of 160 bytes from
hold_blocks() (8000 B, printed exactly) while it churns for a few seconds.
The view must show that site with its bytes within 3 s, switch the grouping
on a key, and end by itself when the program ends, leaving the last frame
and the program's exit status on the terminal.  Bad input: a missing file
and a file that is no trace get a one-line error naming the file."""

import os
import re
import shlex
import shutil
import subprocess
import time
import unittest

from helpers import HEAPTRAIL, heaptrail, require_tools, scratch_dir, site, target

SRC = "live_alloc.c"
HOLD = "size=8000 B, count=50, average=160 B"


def tmux(*args, check=True):
    return subprocess.run(["tmux", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=check, timeout=20)


class Pane:
    """A detached tmux session of 200x50 running `command` under sh; the
    shell prints EXIT=<status> after it and waits."""

    def __init__(self, name, command, cwd):
        self.name = f"ht-live-{os.getpid()}-{name}"
        tmux("kill-session", "-t", self.name, check=False)
        script = f"{command}; echo EXIT=$?; exec sleep 60"
        self.started = time.monotonic()
        tmux("new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", "-c", cwd,
             "env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=screen", "sh", "-c", script)

    def text(self):
        return tmux("capture-pane", "-p", "-t", self.name).stdout.decode(errors="replace")

    def wait_for(self, pattern, within):
        """Seconds until `pattern` (a regex) is on the screen; fails after
        `within` seconds with the screen in the message."""
        t0 = time.monotonic()
        while True:
            screen = self.text()
            if re.search(pattern, screen, re.M):
                return time.monotonic() - t0
            if time.monotonic() - t0 > within:
                raise AssertionError(f"not on the screen within {within}s: {pattern!r}\n{screen}")
            time.sleep(0.1)

    def keys(self, *keys):
        tmux("send-keys", "-t", self.name, *keys)

    def close(self):
        tmux("kill-session", "-t", self.name, check=False)


class LiveView(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        if not shutil.which("tmux"):
            raise unittest.SkipTest("tmux not installed (scripts/install-deps.sh installs it)")
        cls.prog = target("live_alloc")
        cls.dir = scratch_dir("live")
        cls.file, cls.line = site(SRC, "hold")

    def pane(self, name, argv):
        p = Pane(name, " ".join(shlex.quote(a) for a in argv), self.dir)
        self.addCleanup(p.close)
        return p

    def test_record_live_shows_the_site_switches_keys_and_ends_with_the_program(self):
        trace = os.path.join(self.dir, "rec.htr")
        p = self.pane("rec", [HEAPTRAIL, "record", "--live", "-o", trace, "--", self.prog, "3.5"])
        # The user's line, by the reports' default key (site), with its
        # exact live bytes, within 3 s of the start.
        row = re.escape(f"{self.file}:{self.line}: {HOLD}")
        p.wait_for(r"^(\S*/)?" + row + "$", 3.0)
        self.assertLess(time.monotonic() - p.started, 3.0)
        screen = p.text()
        self.assertIn("by site at now:", screen)
        self.assertRegex(screen, r"events [\d,]+/s|events -/s")
        self.assertIn(f"program output: {trace}.out", screen)
        # f: by function, the function's own name as the key.
        p.keys("f")
        p.wait_for(r"^Top \d+ of \d+ by function at now:", 2.0)
        p.wait_for(r"^hold_blocks: " + re.escape(HOLD) + "$", 2.0)
        # t: by traceback, the row's frames under it.
        p.keys("t")
        p.wait_for(r"^\s+hold_blocks at \S*" + re.escape(f"{self.file}:{self.line}"), 2.0)
        p.wait_for(r"^\s+main at \S*live_alloc\.c:\d+", 2.0)
        # p: the point becomes the peak; g cycles back to site.
        p.keys("p")
        p.wait_for(r"by traceback at the peak:", 2.0)
        p.keys("g")
        p.wait_for(r"by site at the peak:", 2.0)
        # The program ends: the view leaves the last frame and the
        # wrapper's summary on the terminal, with the program's status.
        p.wait_for(r"^EXIT=0$", 8.0)
        screen = p.text()
        self.assertIn("[ended: exit status 0", screen)
        self.assertRegex(screen, re.compile(r"^(\S*/)?" + row + "$", re.M))
        self.assertRegex(screen, r"heaptrail: wrote \S*rec\.htr \([\d,]+ events\)")
        with open(trace + ".out") as f:
            self.assertIn("live_alloc: holding 50 blocks of 160 bytes", f.read())

    def test_record_live_passes_the_exit_status_on(self):
        trace = os.path.join(self.dir, "status.htr")
        p = self.pane("status", [HEAPTRAIL, "record", "--live", "-o", trace, "--", self.prog, "0.5", "3"])
        p.wait_for(r"^EXIT=3$", 8.0)
        self.assertIn("[ended: exit status 3", p.text())

    def test_live_follows_a_recording_and_ends_after_its_end(self):
        trace = os.path.join(self.dir, "follow.htr")
        rec = " ".join(shlex.quote(a) for a in
                       [HEAPTRAIL, "record", "-q", "-o", trace, "--", self.prog, "2"])
        live = " ".join(shlex.quote(a) for a in [HEAPTRAIL, "live", "--by", "function", trace])
        p = Pane("follow", f"{rec} >/dev/null 2>&1 & sleep 0.3; {live}", self.dir)
        self.addCleanup(p.close)
        p.wait_for(r"^hold_blocks: " + re.escape(HOLD) + "$", 3.0)
        p.keys(" ")
        p.wait_for(r"\[paused", 2.0)
        p.keys(" ")
        p.wait_for(r"\[following", 2.0)
        p.wait_for(r"^EXIT=0$", 10.0)
        screen = p.text()
        self.assertIn("[ended, ", screen)
        self.assertRegex(screen, re.compile(r"^hold_blocks: " + re.escape(HOLD) + "$", re.M))

    def test_q_closes_the_view_and_the_program_goes_on(self):
        trace = os.path.join(self.dir, "quit.htr")
        p = self.pane("quit", [HEAPTRAIL, "record", "--live", "-o", trace, "--", self.prog, "1.5", "4"])
        p.wait_for(r"by site at now:", 3.0)
        p.keys("q")
        p.wait_for(r"the live view is closed; waiting for the program", 3.0)
        p.wait_for(r"^EXIT=4$", 8.0)
        self.assertIn("[view closed", p.text())


class LivePython(unittest.TestCase):
    """A Python program's own line and function, live: memray's --live."""

    def test_python_line_and_function_appear_live(self):
        require_tools()
        if not shutil.which("tmux"):
            raise unittest.SkipTest("tmux not installed")
        from test_python import PYT, pysite, python3
        d = scratch_dir("live_py")
        trace = os.path.join(d, "py.htr")
        line = pysite("live_hold.py", "hold")
        argv = [HEAPTRAIL, "record", "--live", "-o", trace, "--", python3(),
                os.path.join(PYT, "live_hold.py"), "4"]
        p = Pane("py", " ".join(shlex.quote(a) for a in argv), d)
        self.addCleanup(p.close)
        # 20 buffers of 100001 bytes (1953.1 KiB) and the 20 objects and
        # the list that hold them (a few more KiB, by Python version).
        hold = r"size=195\d KiB, count=\d+, average=[\d.]+ KiB"
        p.wait_for(r"^\S*live_hold\.py:" + str(line) + ": " + hold + "$", 8.0)
        self.assertIn("<interpreter startup>: size=", p.text())
        p.keys("f")
        p.wait_for(r"^hold: " + hold + "$", 2.0)
        p.wait_for(r"^EXIT=0$", 10.0)


class LiveBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.dir = scratch_dir("live_bad")

    def test_missing_file_is_a_clear_error(self):
        path = os.path.join(self.dir, "missing.htr")
        p = heaptrail("live", path)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.decode(),
                         f"heaptrail: {path}: cannot open trace: No such file or directory\n")

    def test_a_file_that_is_no_trace_is_a_clear_error(self):
        path = os.path.join(self.dir, "notes.txt")
        with open(path, "w") as f:
            f.write("these are not the bytes of a trace\n")
        p = heaptrail("live", path)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertTrue(err.startswith(f"heaptrail: {path}: not a heaptrail trace (bad magic)"), err)
        self.assertEqual(err.count("\n"), 1)

    def test_without_a_terminal_live_and_record_live_say_so(self):
        trace = os.path.join(self.dir, "t.htr")
        p = subprocess.run([HEAPTRAIL, "record", "-q", "-o", trace, "--", target("live_alloc"), "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = heaptrail("live", trace)
        self.assertEqual(p.returncode, 2)
        self.assertIn("the view needs a terminal", p.stderr.decode())
        out = os.path.join(self.dir, "t2.htr")
        p = heaptrail("record", "--live", "-o", out, "--", target("live_alloc"), "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--live draws on a terminal", p.stderr.decode())
        self.assertFalse(os.path.exists(out), "the program must not run")

    def test_an_aggregated_trace_is_refused_with_the_reason(self):
        # Without the check the view showed "0 B now" and no site: the
        # aggregated records carry totals only at snapshots.
        trace = os.path.join(self.dir, "agg.htr")
        p = subprocess.run([HEAPTRAIL, "record", "-q", "--aggregate", "-o", trace, "--",
                            target("live_alloc"), "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = heaptrail("live", trace)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertTrue(err.startswith(f"heaptrail: {trace} was recorded with --aggregate"), err)
        self.assertEqual(err.count("\n"), 1)
        out = os.path.join(self.dir, "agg2.htr")
        p = heaptrail("record", "--live", "--aggregate", "-o", out, "--", target("live_alloc"), "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--live follows single events", p.stderr.decode())
        self.assertFalse(os.path.exists(out), "the program must not run")


if __name__ == "__main__":
    unittest.main()
