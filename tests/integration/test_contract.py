"""The one contract between `heaptrail record` and libheaptrail.so
(common/env.h, common/names.h): the wrapper and a bare
`LD_PRELOAD=libheaptrail.so HEAPTRAIL_...=...` give a trace the same file
name and accept the same snapshot signals."""

import os
import subprocess
import unittest

from helpers import HEAPTRAIL, LIB, TIMEOUT, require_tools, scratch_dir

# Variables of the contract that must not leak in from the test's own
# environment.
CONTRACT = ("HEAPTRAIL_OUTPUT", "HEAPTRAIL_ROOT_PID", "HEAPTRAIL_FD", "HEAPTRAIL_FD_ID",
            "HEAPTRAIL_SNAPSHOT_SIGNAL", "HEAPTRAIL_FOLLOW_FORK", "HEAPTRAIL_FOLLOW_EXEC",
            "HEAPTRAIL_QUIET", "HEAPTRAIL_AGGREGATE", "LD_PRELOAD")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env.update(extra)
    return env


def run_clean(argv, cwd, **extra):
    # helpers.run() merges into os.environ: pass the whole environment so
    # that none of the contract's variables leaks in.
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=clean_env(**extra), timeout=TIMEOUT, cwd=cwd)


class Contract(unittest.TestCase):
    def setUp(self):
        require_tools()

    def names(self, name, program, output=None):
        """The file names (pid replaced by PID) the wrapper and the bare
        preload give `program -c 'echo $$'` in two empty directories."""
        got = []
        for how in ("wrapper", "bare"):
            d = scratch_dir(f"contract_{name}_{how}")
            if how == "wrapper":
                flags = ["-o", output] if output else []
                p = run_clean([HEAPTRAIL, "record", "-q", *flags, "--", program, "-c",
                               "echo $$"], d)
            else:
                extra = {"LD_PRELOAD": LIB}
                if output:
                    extra["HEAPTRAIL_OUTPUT"] = output
                p = run_clean([program, "-c", "echo $$"], d, **extra)
            self.assertEqual(p.returncode, 0, p.stderr)
            pid = p.stdout.strip().decode()
            files = os.listdir(d)
            self.assertEqual(len(files), 1, (how, files))
            got.append(files[0].replace(pid, "PID"))
        self.assertEqual(got[0], got[1], f"wrapper vs bare LD_PRELOAD for {program}")
        return got[0]

    def test_default_name_is_the_same_with_and_without_the_wrapper(self):
        self.assertEqual(self.names("plain", "sh"), "heaptrail.sh.PID.htr")
        # argv[0] as typed, not what /proc/self/exe resolves to (sh may be dash).
        self.assertEqual(self.names("path", "/bin/sh"), "heaptrail.sh.PID.htr")

    def test_pattern_expands_the_same_with_and_without_the_wrapper(self):
        self.assertEqual(self.names("pattern", "sh", "t.%p.100%%.%x.htr"),
                         "t.PID.100%.%x.htr")

    def test_the_same_snapshot_signals_are_accepted(self):
        specs = ("USR2", "usr2", "SIGUSR2", "SigUsr1", "12", "HUP", "RTMIN", "rtmin+1",
                 "SIGRTMAX-2", "KILL", "SIGSTOP", "9", "0", "65", "NOSUCH", "SIG", "",
                 "-12", "RTMIN+99")
        d = scratch_dir("contract_signals")
        for spec in specs:
            w = run_clean([HEAPTRAIL, "record", "-q", "-o", os.path.join(d, "w.htr"),
                           "--snapshot-signal", spec, "--", "true"], d)
            if os.path.exists(os.path.join(d, "w.htr")):
                os.unlink(os.path.join(d, "w.htr"))
            wrapper_ok = w.returncode == 0
            if not wrapper_ok:
                self.assertEqual(w.returncode, 2, (spec, w.stderr))
            # HEAPTRAIL_MSG_FD=2: stderr is a pipe here, which the bare
            # way leaves alone unless told.
            b = run_clean(["true"], d, LD_PRELOAD=LIB, HEAPTRAIL_OUTPUT="/dev/null",
                          HEAPTRAIL_SNAPSHOT_SIGNAL=spec, HEAPTRAIL_MSG_FD="2")
            self.assertEqual(b.returncode, 0, b.stderr)
            bare_ok = b"HEAPTRAIL_SNAPSHOT_SIGNAL" not in b.stderr
            # An empty variable is the same as none: nothing to refuse.
            if spec == "":
                self.assertTrue(bare_ok)
                continue
            self.assertEqual(wrapper_ok, bare_ok, f"--snapshot-signal {spec!r}")
            self.assertEqual(wrapper_ok, spec not in ("KILL", "SIGSTOP", "9", "0", "65",
                                                      "NOSUCH", "SIG", "-12", "RTMIN+99"),
                             spec)


if __name__ == "__main__":
    unittest.main()
