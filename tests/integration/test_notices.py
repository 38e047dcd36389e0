"""Issue 12: one-time notices ("the program exec'd (2 images)", "no debug
info" for a module) print once per trace, not on every command.  The
trace's index (.htri) remembers which were shown; `info` lists them every
time; a command that replays the trace (and rewrites its index) keeps the
memory.  Missing debug info names the Debian -dbgsym package or the
DEBUGINFOD_URLS way, and with DEBUGINFOD_URLS set libdw's debuginfod client
is asked (a server that does not answer must not hang the analyzer)."""

import os
import shutil
import subprocess
import time
import unittest

from helpers import HEAPTRAIL, analyze, record, require_tools, scratch_dir, target

EXEC_NOTE = "note: the program exec'd (2 images); this report covers the final image"


def run(*args, env=None):
    p = subprocess.run([HEAPTRAIL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode(), p.stderr.decode()


def no_debuginfod_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}


class ExecNotice(unittest.TestCase):
    def setUp(self):
        require_tools()
        d = scratch_dir("notices_exec")
        p, self.path = record([target("exec_chain"), "self"], None, flags=["-q"],
                              output=os.path.join(d, "t.htr"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_the_exec_notice_prints_once_per_trace(self):
        out, err = run("top", self.path)
        self.assertIn(EXEC_NOTE, out)
        out, err = run("top", self.path)
        self.assertNotIn("exec'd", out + err)
        # A replay (top at a time needs the events) rewrites the index:
        # the memory survives it.
        out, err = run("top", "--at", "1us", self.path)
        self.assertNotIn("exec'd", out + err)
        out, err = run("leaks", self.path)
        self.assertNotIn("exec'd", out + err)

    def test_info_lists_it_every_time(self):
        run("top", self.path)
        for _ in range(2):
            out, _ = run("info", self.path)
            self.assertIn(EXEC_NOTE, out)
        notes = analyze("info", self.path)["notices"]
        self.assertEqual(len(notes), 1, notes)
        self.assertTrue(notes[0].startswith("the program exec'd (2 images)"), notes)


class DebugInfoNotice(unittest.TestCase):
    def setUp(self):
        require_tools()
        if not shutil.which("objcopy"):
            raise unittest.SkipTest("no objcopy")
        self.d = scratch_dir("notices_nodebug")
        self.exe = os.path.join(self.d, "one_alloc")
        shutil.copy(target("one_alloc"), self.exe)
        subprocess.run(["objcopy", "--strip-debug", self.exe], check=True)
        p, self.path = record([self.exe], None, flags=["-q"], output=os.path.join(self.d, "t.htr"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def warning(self):
        return (f"heaptrail: warning: {self.exe}: no debug info (on Debian install the -dbgsym "
                f"package of `dpkg -S {self.exe}`, or set DEBUGINFOD_URLS, e.g. "
                f"https://debuginfod.debian.net, to fetch it); showing function names without "
                f"file:line\n")

    def test_no_debug_info_prints_once_and_info_lists_it(self):
        env = no_debuginfod_env()
        _, err = run("top", self.path, env=env)
        self.assertIn(self.warning(), err)
        _, err = run("top", self.path, env=env)
        self.assertNotIn("no debug info", err)
        _, err = run("top", "--by", "traceback", self.path, env=env)
        self.assertNotIn("no debug info", err)
        out, _ = run("info", self.path, env=env)
        self.assertIn(f"notices:      {self.exe}: no debug info (on Debian install the -dbgsym", out)

    def test_with_debuginfod_urls_libdw_asks_the_server_and_does_not_hang(self):
        # A local port nobody listens on: the client fails at once; the
        # timeout bounds it if the connection hangs instead.
        cache = os.path.join(self.d, "debuginfod-cache")
        env = dict(no_debuginfod_env(), DEBUGINFOD_URLS="http://127.0.0.1:9/",
                   DEBUGINFOD_TIMEOUT="5", DEBUGINFOD_CACHE_PATH=cache)
        t0 = time.monotonic()
        _, err = run("top", self.path, env=env)
        self.assertLess(time.monotonic() - t0, 60)
        self.assertIn(f"heaptrail: warning: {self.exe}: no debug info (not installed, and no "
                      f"server in DEBUGINFOD_URLS had it; on Debian install the -dbgsym package of "
                      f"`dpkg -S {self.exe}`); showing function names without file:line\n", err)
        # The debuginfod client ran: it set up its cache.
        self.assertTrue(os.path.isdir(cache) and os.listdir(cache),
                        f"no debuginfod cache in {cache}: libdw did not ask the server")


if __name__ == "__main__":
    unittest.main()
