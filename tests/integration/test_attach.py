"""`heaptrail attach PID` / `heaptrail detach PID` on running programs
(attach_loop.c): the program runs on unchanged, the trace holds exactly the
calls it made between attach and detach (it counts them itself, through its
own GOT slots), no recorder thread or signal handler is left behind, and
every failure case gives its sentence while the target keeps running.

Skipped (with the reason) only where ptrace is not permitted at all."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

from helpers import (HEAPTRAIL, LIB, analyze, decode_events, heaptrail, readline, record,
                     require_tools, run, target, trace_path)

KEEP = 64  # blocks each attach_loop thread keeps live
SIZES = range(3000, 3064)  # attach_loop's block sizes
TIMEOUT = 90


def ptrace_refusal():
    """Why this machine refuses ptrace (a skip reason), or None."""
    try:
        scope = int(open("/proc/sys/kernel/yama/ptrace_scope").read())
    except (OSError, ValueError):
        scope = 0
    caps = 0
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            caps = int(line.split()[1], 16)
    has_cap = bool(caps & (1 << 19))  # CAP_SYS_PTRACE
    if scope >= 3:
        return "kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot"
    if scope >= 1 and not has_cap:
        return f"kernel.yama.ptrace_scope is {scope} and this user lacks CAP_SYS_PTRACE"
    return None


def require_attach():
    require_tools()
    why = ptrace_refusal()
    if why:
        raise unittest.SkipTest("attach needs ptrace: " + why)
    if not shutil.which("gdb"):
        raise AssertionError("gdb is not installed: scripts/install-deps.sh installs it")


# glibc's own handlers for its internal signals 32 and 33 (thread
# cancellation, setxid), installed at the first pthread_create of any
# thread (here: the recorder's writer thread) and kept by every threaded
# program: not the recorder's.
GLIBC_INTERNAL = (1 << 31) | (1 << 32)


def sig_caught(pid):
    """The signals with a handler (SigCgt), glibc's internal ones aside."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16) & ~GLIBC_INTERNAL
    return None


def tasks(pid):
    return sorted(os.listdir(f"/proc/{pid}/task"))


def state(pid):
    data = open(f"/proc/{pid}/stat").read()
    return data[data.rindex(")") + 2]


class Target:
    """attach_loop running with its stdout collected by a thread."""

    def __init__(self, threads=0, argv=None):
        self.p = subprocess.Popen(argv or [target("attach_loop"), str(threads)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.lines = []
        first = self.p.stdout.readline().decode()
        if not first.startswith("ready"):
            self.p.kill()
            raise AssertionError(f"attach_loop said {first!r}")
        self.pid = self.p.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.decode())

    def ticks(self):
        return sum(1 for l in self.lines if l.startswith("tick "))

    def wait_ticks(self, n, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        start = self.ticks()
        while self.ticks() < start + n:
            if time.monotonic() > end:
                raise AssertionError(f"attach_loop stopped ticking ({self.lines[-3:]})")
            time.sleep(0.05)

    def stop(self):
        """Asks it to finish; returns (returncode, stderr)."""
        self.p.stdin.write(b"stop\n")
        self.p.stdin.close()
        rc = self.p.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)
        return rc, self.p.stderr.read()

    def counted(self):
        """(allocs, frees) the program made through redirected slots."""
        m = re.search(r"recorded allocs (\d+) frees (\d+) \(of blocks from before (\d+)\)",
                      "".join(self.lines))
        if not m:
            raise AssertionError("no final line from attach_loop: " + "".join(self.lines[-3:]))
        return int(m.group(1)), int(m.group(2))

    def early(self):
        """Redirected frees of blocks whose malloc was not redirected."""
        return int(re.search(r"of blocks from before (\d+)", "".join(self.lines)).group(1))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def start_attach(pid, trace, *flags):
    """Starts `heaptrail attach`; returns the process once it says it is
    recording."""
    a = subprocess.Popen([HEAPTRAIL, "attach", str(pid), "-o", trace, *flags],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The recorder's own lines (Python's, for one) come before ours.
    a.said = ""
    while True:
        line = a.stderr.readline().decode()
        a.said += line
        if "attached to process" in line:
            return a
        if not line or not line.startswith("heaptrail: "):
            a.kill()
            raise AssertionError(f"heaptrail attach said: {a.said}{a.stderr.read().decode()}")


def trace_counts(trace):
    """(allocations of attach_loop's sizes, frees, other allocations)."""
    allocs = frees = other = 0
    for ev in decode_events(trace):
        if ev[0] == "alloc":
            if ev[2] in SIZES:
                allocs += 1
            else:
                other += 1
        elif ev[0] == "free":
            frees += 1
    return allocs, frees, other


class AttachOneThread(unittest.TestCase):
    """Attach, two snapshots by signal, detach with Ctrl-C."""

    @classmethod
    def setUpClass(cls):
        require_attach()
        cls.trace = trace_path("attach_one")
        t = cls.t = Target(0)
        try:
            t.wait_ticks(2)
            cls.sig_before, cls.tasks_before = sig_caught(t.pid), tasks(t.pid)
            a = start_attach(t.pid, cls.trace, "--snapshot-signal", "USR2")
            cls.sig_during = sig_caught(t.pid)
            t.wait_ticks(3)
            os.kill(t.pid, signal.SIGUSR2)
            t.wait_ticks(3)
            os.kill(t.pid, signal.SIGUSR2)
            t.wait_ticks(3)
            a.send_signal(signal.SIGINT)  # Ctrl-C
            cls.attach_rc = a.wait(timeout=TIMEOUT)
            cls.attach_err = a.stderr.read().decode()
            cls.sig_after, cls.tasks_after = sig_caught(t.pid), tasks(t.pid)
            t.wait_ticks(2)  # it goes on after the detach
            cls.rc, cls.err = t.stop()
        finally:
            t.kill()
        cls.plain = run([target("attach_loop"), "0", str(t.ticks())])

    def test_attach_and_detach_succeed(self):
        self.assertEqual(self.attach_rc, 0, self.attach_err)
        self.assertIn("detached", self.attach_err)

    def test_program_output_and_exit_are_a_plain_runs(self):
        self.assertEqual((self.rc, self.err), (0, b""))
        ticks = [l for l in self.t.lines if l.startswith("tick ")]
        plain = [l for l in self.plain.stdout.decode().splitlines(True) if l.startswith("tick ")]
        self.assertEqual(ticks, plain)

    def test_trace_holds_exactly_the_calls_made_while_attached(self):
        allocs, frees = self.t.counted()
        got_allocs, got_frees, _ = trace_counts(self.trace)
        self.assertGreater(allocs, 1000)
        self.assertEqual((got_allocs, got_frees), (allocs, frees))

    def test_frees_of_blocks_from_before_the_attach_are_counted(self):
        info = analyze("info", self.trace)
        self.assertIsNotNone(info["attached"])
        self.assertIsNotNone(info["detached_us"])
        # The 64 blocks live when the attach came, freed later (and any
        # allocated between the redirection of free and of malloc).
        self.assertGreaterEqual(self.t.early(), KEEP)
        self.assertEqual(info["attached"]["frees_before_attach"], self.t.early())
        self.assertEqual(info["anomalies"]["allocs_on_live_address"], 0)
        self.assertEqual(info["lost_events"], 0)

    def test_info_says_it_began_at_an_attach(self):
        out = heaptrail("info", self.trace).stdout.decode()
        self.assertIn("the trace began at `heaptrail attach`", out)
        self.assertIn(f"pre-attach:   {self.t.early()} frees", out)
        self.assertIn("detached at", out)

    def test_two_signal_snapshots_and_the_detach_point(self):
        snaps = analyze("snapshots", self.trace)["snapshots"]
        self.assertEqual([s["label"] for s in snaps], ["signal", "signal", "detach"])
        # What is live at each mark: the 64 blocks the loop keeps, at most.
        for s in snaps:
            self.assertLessEqual(s["heap_blocks"], KEEP + 1)

    def test_no_thread_or_signal_handler_is_left(self):
        self.assertNotEqual(self.sig_during, self.sig_before)  # USR2 was ours meanwhile
        self.assertEqual(self.sig_after, self.sig_before)
        self.assertEqual(self.tasks_after, self.tasks_before)


class AttachThreads(unittest.TestCase):
    """8 threads allocating without pause; detached by `heaptrail detach`."""

    @classmethod
    def setUpClass(cls):
        require_attach()
        cls.trace = trace_path("attach_threads")
        t = cls.t = Target(8)
        try:
            t.wait_ticks(2)
            cls.tasks_before = tasks(t.pid)
            a = start_attach(t.pid, cls.trace)
            t.wait_ticks(5)
            d = heaptrail("detach", str(t.pid), timeout=TIMEOUT)
            cls.detach = d
            cls.attach_rc = a.wait(timeout=TIMEOUT)
            cls.attach_err = a.stderr.read().decode()
            cls.tasks_after = tasks(t.pid)
            t.wait_ticks(2)
            cls.rc, cls.err = t.stop()
        finally:
            t.kill()

    def test_detach_command_stops_the_attach(self):
        self.assertEqual(self.detach.returncode, 0, self.detach.stderr)
        self.assertIn(b"detached from process", self.detach.stderr)
        self.assertEqual(self.attach_rc, 0, self.attach_err)
        self.assertIn("detached (by `heaptrail detach`)", self.attach_err)

    def test_no_crash_and_no_recorder_thread_left(self):
        self.assertEqual((self.rc, self.err), (0, b""))
        self.assertEqual(self.tasks_after, self.tasks_before)

    def test_no_lost_event_and_exact_counts(self):
        allocs, frees = self.t.counted()
        got_allocs, got_frees, _ = trace_counts(self.trace)
        self.assertEqual((got_allocs, got_frees), (allocs, frees))
        info = analyze("info", self.trace)
        self.assertEqual(info["lost_events"], 0)
        self.assertEqual(info["threads"], 9)
        self.assertGreaterEqual(self.t.early(), 9 * KEEP)
        self.assertEqual(info["attached"]["frees_before_attach"], self.t.early())
        self.assertEqual(info["anomalies"]["allocs_on_live_address"], 0)


class AttachDuration(unittest.TestCase):
    def test_duration_ends_the_recording_by_itself(self):
        require_attach()
        trace = trace_path("attach_duration")
        t = Target(0)
        try:
            t.wait_ticks(1)
            a = start_attach(t.pid, trace, "--duration", "0.5")
            rc = a.wait(timeout=TIMEOUT)
            err = a.stderr.read().decode()
            t.wait_ticks(1)
            self.assertEqual(t.stop()[0], 0)
        finally:
            t.kill()
        self.assertEqual(rc, 0, err)
        self.assertIn("detached; the process runs on", err)
        self.assertIsNotNone(analyze("info", trace)["detached_us"])


PY_TARGET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytargets",
                         "attach_loop.py")
PY_BLOCK = 100033  # bytes(100000): one block, header and data
PYTHONS = {"debian": "/usr/bin/python3",
           "pyenv312": "/root/.pyenv/versions/3.12.1/bin/python3.12"}


def py_alloc_line(tag="attach_py_alloc"):
    """The line of attach_loop.py marked @line:TAG."""
    for i, text in enumerate(open(PY_TARGET), 1):
        if "@line:" + tag in text:
            return i
    raise AssertionError(f"no @line:{tag} in " + PY_TARGET)


class PyTarget:
    """attach_loop.py, driven through stdin: go .. halt allocates."""

    def __init__(self, python, pymalloc, extra_env=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONMALLOC", "PYTHONPATH", "PYTHONHOME")}
        if not pymalloc:
            env["PYTHONMALLOC"] = "malloc"
        env.update(extra_env or {})
        # -P: pytargets/types.py must not shadow the standard module.
        self.p = subprocess.Popen([python, "-P", PY_TARGET], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.pid = self.p.pid
        self.expect("ready")

    def expect(self, word):
        line = readline(self.p, TIMEOUT).decode()
        if not line.startswith(word):
            raise AssertionError(f"attach_loop.py said {line!r}, not {word} ...")
        return line

    def send(self, cmd):
        self.p.stdin.write(cmd.encode() + b"\n")
        self.p.stdin.flush()

    def allocate(self, seconds):
        """go, wait, halt: how many blocks it made."""
        self.send("go")
        time.sleep(seconds)
        self.send("halt")
        return int(self.expect("made").split()[1])

    def quit(self):
        """(returncode, kept, stderr)."""
        self.send("quit")
        line = self.expect("")
        while line.startswith("thread made"):  # the worker, woken by quit
            line = self.expect("")
        if not line.startswith("kept"):
            raise AssertionError(f"attach_loop.py said {line!r}, not kept ...")
        kept = int(line.split()[1])
        self.p.stdin.close()
        return self.p.wait(timeout=TIMEOUT), kept, self.p.stderr.read()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class AttachPythonBase:
    """A CPython program attached while it runs: its Python lines are in
    `top`, with exactly the blocks it made between the attach and the
    detach; it runs on and exits 0."""

    PYTHON = None
    PYMALLOC = True

    @classmethod
    def setUpClass(cls):
        require_attach()
        if not os.path.exists(cls.PYTHON):
            raise unittest.SkipTest(f"{cls.PYTHON} is not installed")
        name = "attach_py_" + cls.__name__
        cls.trace = trace_path(name)
        t = cls.t = PyTarget(cls.PYTHON, cls.PYMALLOC)
        try:
            # Before the attach: the line's first run also makes a block
            # of its own (768 B on 3.11), once.
            cls.before = t.allocate(0.3)
            a = start_attach(t.pid, cls.trace)
            cls.said = a.said
            cls.during = t.allocate(0.6)
            t.send("thread")
            cls.thread_made = int(t.expect("thread made").split()[2])
            cls.detach = heaptrail("detach", str(t.pid), timeout=TIMEOUT)
            cls.attach_rc = a.wait(timeout=TIMEOUT)
            cls.attach_err = cls.said + a.stderr.read().decode()
            cls.after = t.allocate(0.3)
            cls.rc, cls.kept, cls.err = t.quit()
        finally:
            t.kill()

    def test_attach_says_python_frames_are_on(self):
        self.assertEqual(self.attach_rc, 0, self.attach_err)
        self.assertEqual(self.detach.returncode, 0, self.detach.stderr)
        self.assertRegex(self.said, r"heaptrail: Python frames on from here \(CPython 3\.1[12],")
        # Bug: the attacher looked for that line only after what it had
        # relayed already, and also said the main thread ran no bytecode.
        self.assertNotIn("ran no Python bytecode", self.said)

    def test_pymalloc_is_named_only_when_it_pools_objects(self):
        line = "Python's small objects (512 bytes or less) are pooled by pymalloc"
        if self.PYMALLOC:
            self.assertIn(line, self.said)
            self.assertIn("PYTHONMALLOC=malloc", self.said)
        else:
            self.assertNotIn(line, self.said)

    def test_top_has_the_line_with_exactly_the_blocks_made_while_attached(self):
        top = analyze("top", self.trace, "--at", "detach", "-n", "50")
        key = f"{PY_TARGET}:{py_alloc_line()}"
        rows = {r["key"]: r for r in top["stats"]}
        self.assertIn(key, rows, sorted(rows))
        self.assertGreater(self.during, 0)
        self.assertEqual((rows[key]["count"], rows[key]["bytes"]),
                         (self.during, self.during * PY_BLOCK))
        frame = rows[key]["frames"][0]
        self.assertEqual(frame["function"], "<module>")

    def test_a_thread_from_before_the_attach_has_its_line_too(self):
        top = analyze("top", self.trace, "--at", "detach", "-n", "50")
        rows = {r["key"]: r for r in top["stats"]}
        key = f"{PY_TARGET}:{py_alloc_line('attach_py_thread')}"
        self.assertIn(key, rows, sorted(rows))
        self.assertEqual((rows[key]["count"], rows[key]["bytes"]), (7, 7 * (PY_BLOCK + 100000)))
        self.assertEqual(rows[key]["frames"][0]["function"], "worker")

    def test_program_runs_on_and_exits_0(self):
        self.assertGreater(self.after, 0)
        self.assertEqual(self.kept, self.before + self.during + self.after + 7)
        self.assertEqual((self.rc, self.err), (0, b""))

    def test_nothing_lost(self):
        # Bug: the thread older than the attach made the loader malloc
        # libunwind's thread-local block inside our hook, the nested
        # record unwound into it again and 1 event was counted lost.
        info = analyze("info", self.trace)
        self.assertEqual(info["lost_events"], 0)
        self.assertIsNotNone(info["detached_us"])


class AttachPythonDebian(AttachPythonBase, unittest.TestCase):
    PYTHON = PYTHONS["debian"]


class AttachPythonDebianMalloc(AttachPythonBase, unittest.TestCase):
    PYTHON = PYTHONS["debian"]
    PYMALLOC = False


class AttachPython312(AttachPythonBase, unittest.TestCase):
    PYTHON = PYTHONS["pyenv312"]


class AttachPython312Malloc(AttachPythonBase, unittest.TestCase):
    PYTHON = PYTHONS["pyenv312"]
    PYMALLOC = False


class AttachPythonBlocked(unittest.TestCase):
    """The main thread waits in readline when the attach comes: the
    attacher says its frames wait for its next bytecode, and they come
    with it.  The program then exits while attached."""

    def test_frames_come_with_the_next_bytecode_and_the_exit_ends_the_trace(self):
        require_attach()
        src = os.path.join(os.path.dirname(PY_TARGET), "attach_blocked.py")
        line = next(i for i, t in enumerate(open(src), 1) if "@line:attach_py_alloc" in t)
        trace = trace_path("attach_py_blocked")
        p = subprocess.Popen([PYTHONS["debian"], src], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(readline(p), b"ready\n")
            a = start_attach(p.pid, trace)
            self.assertIn("ran no Python bytecode within 5 s", a.said)
            for i in range(1, 6):
                p.stdin.write(b"x\n")
                p.stdin.flush()
                self.assertEqual(readline(p), b"tick %d\n" % i)
            p.stdin.close()  # it exits while attached
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
            self.assertEqual(a.wait(timeout=TIMEOUT), 0)
            err = a.said + a.stderr.read().decode()
            self.assertEqual(p.stderr.read(), b"")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertIn("heaptrail: Python frames on from here", err)
        self.assertIn("the process exited; its trace ends there. Trace:", err)
        top = analyze("top", trace, "-n", "50")
        rows = {r["key"]: r for r in top["stats"]}
        key = f"{src}:{line}"
        self.assertIn(key, rows, sorted(rows))
        self.assertEqual((rows[key]["count"], rows[key]["bytes"]), (5, 5 * PY_BLOCK))
        info = analyze("info", trace)
        self.assertEqual(info["lost_events"], 0)


    def test_a_detach_before_the_next_bytecode_leaves_the_install_undone(self):
        require_attach()
        src = os.path.join(os.path.dirname(PY_TARGET), "attach_blocked.py")
        trace = trace_path("attach_py_blocked_detach")
        p = subprocess.Popen([PYTHONS["debian"], src], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(readline(p), b"ready\n")
            a = start_attach(p.pid, trace)
            d = heaptrail("detach", str(p.pid), timeout=TIMEOUT)
            self.assertEqual(a.wait(timeout=TIMEOUT), 0)
            err = a.said + a.stderr.read().decode()
            # The pending call runs now, after the detach: it does nothing.
            for i in range(1, 4):
                p.stdin.write(b"x\n")
                p.stdin.flush()
                self.assertEqual(readline(p), b"tick %d\n" % i)
            p.stdin.close()
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
            self.assertEqual(p.stderr.read(), b"")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertIn("the main thread ran no Python bytecode between the attach and the detach",
                      err)
        self.assertNotIn("Python frames on", err)
        self.assertEqual(analyze("info", trace)["lost_events"], 0)


class AttachPythonNoLayout(unittest.TestCase):
    """A CPython whose frame layout fails its check (here: 3.12's row
    forced on 3.11 with HEAPTRAIL_PYTHON_ROW): the attach says so, records
    native frames, and the program runs on."""

    def test_native_frames_only_and_said_why(self):
        require_attach()
        trace = trace_path("attach_py_nolayout")
        t = PyTarget(PYTHONS["debian"], True, {"HEAPTRAIL_PYTHON_ROW": "12"})
        try:
            a = start_attach(t.pid, trace)
            made = t.allocate(0.3)
            heaptrail("detach", str(t.pid), timeout=TIMEOUT)
            self.assertEqual(a.wait(timeout=TIMEOUT), 0)
            rc, kept, err = t.quit()
        finally:
            t.kill()
        self.assertIn("Python frames not captured after the attach: heaptrail has no checked "
                      "frame layout for this CPython 3.11", a.said)
        self.assertEqual((rc, kept, err), (0, made + 7, b""))
        top = analyze("top", trace, "--at", "detach", "-n", "50")
        self.assertFalse([r for r in top["stats"] if PY_TARGET in r["key"]])
        blocks = sum(1 for ev in decode_events(trace) if ev[0] == "alloc" and ev[2] == PY_BLOCK)
        self.assertEqual(blocks, made)


class AttachFailures(unittest.TestCase):
    """Each refusal names its cause; the target keeps running."""

    @classmethod
    def setUpClass(cls):
        require_attach()
        cls.t = Target(0)

    @classmethod
    def tearDownClass(cls):
        cls.t.kill()

    def attach(self, pid, env=None, name="attach_fail"):
        trace = trace_path(name)
        p = run([HEAPTRAIL, "attach", str(pid), "-o", trace], env=env, timeout=TIMEOUT)
        return p, trace

    def assert_still_running(self, t):
        self.assertIn(state(t.pid), "RS")
        t.wait_ticks(1)

    def test_dead_pid(self):
        p = subprocess.Popen(["true"])
        p.wait()
        r, trace = self.attach(p.pid)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"no process with pid {p.pid}".encode(), r.stderr)
        self.assertFalse(os.path.exists(trace))

    def test_missing_gdb(self):
        r, _ = self.attach(self.t.pid, env={"PATH": "/nonexistent"})
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"gdb not found in PATH", r.stderr)
        self.assertIn(b"apt-get install gdb", r.stderr)
        self.assert_still_running(self.t)

    def test_static_binary(self):
        s = subprocess.Popen([target("sleeper_static")], stdout=subprocess.PIPE)
        try:
            s.stdout.readline()
            r, _ = self.attach(s.pid)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"is statically linked", r.stderr)
            self.assertIn(state(s.pid), "RS")
        finally:
            s.kill()
            s.wait()

    def test_musl_process(self):
        musl = shutil.which("musl-gcc")
        if not musl:
            self.skipTest("musl-gcc not installed")
        exe = trace_path("sleeper_musl", "")
        subprocess.run([musl, "-o", exe, os.path.join(os.path.dirname(__file__), "targets",
                                                      "sleeper.c")], check=True)
        s = subprocess.Popen([exe], stdout=subprocess.PIPE)
        try:
            s.stdout.readline()
            r, _ = self.attach(s.pid)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, rb"musl libc|statically linked")
        finally:
            s.kill()
            s.wait()

    def test_another_users_process(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run heaptrail as another user")
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        setpriv = shutil.which("setpriv")
        if not setpriv:
            self.skipTest("setpriv not installed")
        r = run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", HEAPTRAIL,
                 "attach", str(self.t.pid), "-o", "/tmp/never.htr"], timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"process {self.t.pid} belongs to user root".encode(), r.stderr)
        self.assert_still_running(self.t)

    def test_process_recorded_from_its_start(self):
        trace = trace_path("attach_recorded")
        p = subprocess.Popen([HEAPTRAIL, "record", "-q", "-o", trace, "--", target("sleeper")],
                             stdout=subprocess.PIPE)
        pid = None
        try:
            p.stdout.readline()
            pid = int([c for c in os.listdir("/proc") if c.isdigit() and
                       os.path.exists(f"/proc/{c}/exe") and
                       os.readlink(f"/proc/{c}/exe").endswith("/sleeper") and
                       int(open(f"/proc/{c}/stat").read().split(")")[1].split()[1]) == p.pid][0])
            r, _ = self.attach(pid, name="attach_recorded_again")
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"records already", r.stderr)
            d = heaptrail("detach", str(pid))
            self.assertEqual(d.returncode, 1)
            self.assertIn(b"not attached", d.stderr)
            self.assertIn(state(pid), "RS")
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)  # the program, then its wrapper
            p.wait(timeout=TIMEOUT)

    def test_second_attach_after_a_detach_is_refused(self):
        t = Target(0)
        try:
            a = start_attach(t.pid, trace_path("attach_first"), "--duration", "0.3")
            self.assertEqual(a.wait(timeout=TIMEOUT), 0)
            r, _ = self.attach(t.pid, name="attach_second")
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"a second attach in one process is not supported", r.stderr)
            d = heaptrail("detach", str(t.pid))
            self.assertEqual(d.returncode, 1)
            self.assertIn(b"not attached", d.stderr)
            self.assert_still_running(t)
            self.assertEqual(t.stop()[0], 0)
        finally:
            t.kill()

    def test_detach_when_not_attached(self):
        d = heaptrail("detach", str(self.t.pid))
        self.assertEqual(d.returncode, 1)
        self.assertIn(b"heaptrail is not loaded in process", d.stderr)
        self.assert_still_running(self.t)


if __name__ == "__main__":
    unittest.main()
