"""Where the recorder's own messages go (issue 20.1): never onto the
program's descriptors.  Under `heaptrail record` they reach the wrapper
(which prints each once, after the program); with the bare LD_PRELOAD way
only a terminal that was fd 2 at start gets them, one line at most."""

import os
import pty
import shutil
import subprocess
import sys
import unittest

from helpers import (HEAPTRAIL, LIB, TIMEOUT, record, require_tools, run, scratch_dir,
                     target, trace_path)


class UnderTheWrapper(unittest.TestCase):
    def setUp(self):
        require_tools()

    def test_daemon_log_holds_only_the_daemons_lines(self):
        # Bug: "heaptrail: the program closed the trace file descriptor;
        # recording stopped" was written into the daemon's log file.
        d = scratch_dir("msg_daemon")
        log = os.path.join(d, "daemon.log")
        p, _ = record([target("daemon_log"), log], "msg_daemon")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(log, "rb") as f:
            self.assertEqual(f.read(), b"daemon: started\ndaemon: done\n")
        # The program exited 0: the summary says so, not "did not finish
        # cleanly".
        self.assertIn(b"no end record: the program exited with status 0, but the recorder "
                      b"could not end the trace", p.stderr)

    def test_isolated_python_child_prints_nothing_extra_on_its_stderr(self):
        # Bug: python -I children (no startup module) printed "Python
        # frames not captured" on their own stderr: CPython's test_json
        # compares that stderr with b"".
        code = ("import subprocess, sys\n"
                "r = subprocess.run([sys.executable, '-I', '-c', "
                "'import json; json.dumps(list(range(1000)))'], stderr=subprocess.PIPE)\n"
                "print(repr(r.stderr))\n")
        p, _ = record([sys.executable, "-c", code], "msg_python_i", flags=["--follow-exec"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"b''\n")
        # The wrapper says it instead, once.
        self.assertEqual(p.stderr.count(b"Python frames not captured: the heaptrail "
                                        b"startup module did not run"), 1, p.stderr)

    def test_stderr_into_a_pipe_counts_the_same_lines_as_plain(self):
        # Bug: `sh -c 'ls /nonexist 2>&1 | wc -l'` printed 2, not 1: the
        # recorder's line went into the pipe.  Here the children cannot
        # create their traces (the directory is gone), which they say.
        d = scratch_dir("msg_pipe")
        script = f"rm -rf {d}; ls /nonexist 2>&1 | wc -l"
        plain = run(["sh", "-c", script])
        os.makedirs(d, exist_ok=True)
        p, _ = record(["sh", "-c", script], "msg_pipe", flags=["--follow-exec"],
                      output=os.path.join(d, "t.htr"))
        self.assertEqual(plain.stdout, b"1\n")
        self.assertEqual(p.stdout, plain.stdout, p.stderr)
        self.assertEqual(p.returncode, 0)
        # The reason, with errno (20.8), reaches the user through the wrapper.
        self.assertIn(b"No such file or directory (not recording)", p.stderr)

    def test_failed_execs_of_a_path_search_say_nothing(self):
        # Bug: each failed execve of Python's own PATH search printed
        # "exec failed; ..." (18 times in test_os).
        d = scratch_dir("msg_path")
        path = os.pathsep.join([os.path.join(d, "a"), os.path.join(d, "b"),
                                os.path.dirname(shutil.which("true"))])
        code = "import os; os.execvp('true', ['true'])"
        p, trace = record([sys.executable, "-c", code], "msg_path", env={"PATH": path})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"exec failed", p.stderr)
        lines = [l for l in p.stderr.decode().splitlines() if "wrote" not in l]
        self.assertEqual(lines, [])


def bare_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPTRAIL_")}
    env.update(LD_PRELOAD=LIB, HEAPTRAIL_OUTPUT="/dev/null", **extra)
    return env


class BarePreload(unittest.TestCase):
    def setUp(self):
        require_tools()

    def test_nothing_goes_to_a_stderr_that_is_a_pipe(self):
        p = subprocess.run(["true"], env=bare_env(HEAPTRAIL_DEPTH="lots"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, b"")

    def test_a_trace_that_cannot_be_created_says_why(self):
        # Bug (issue 20.8): "cannot create trace X: cannot open" gave no
        # reason.
        d = scratch_dir("msg_bare_errno")
        out = os.path.join(d, "missing", "t.htr")
        env = bare_env(HEAPTRAIL_MSG_FD="2")
        env["HEAPTRAIL_OUTPUT"] = out
        p = subprocess.run(["true"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, f"heaptrail: cannot create trace {out}: No such file or "
                                   f"directory (not recording)\n".encode())

    def test_a_terminal_gets_one_line_at_most(self):
        # Two bad settings: two messages, one line on the terminal.
        master, slave = pty.openpty()
        try:
            p = subprocess.run(["true"], env=bare_env(HEAPTRAIL_DEPTH="lots",
                                                      HEAPTRAIL_UNWIND="sideways"),
                               stdout=subprocess.PIPE, stderr=slave, timeout=TIMEOUT)
            os.close(slave)
            slave = -1
            out = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(out, b"heaptrail: HEAPTRAIL_DEPTH is not a positive integer; "
                              b"using 64\r\n")


if __name__ == "__main__":
    unittest.main()
