"""`heaptrail record` as a wrapper: flags, exit statuses, signals, the
environment it hands to the recorder, the trace file it creates, and its
one-line summary."""

import os
import re
import signal
import subprocess
import time
import unittest

from helpers import (analyze, readline, BUILD, HEAPTRAIL, LIB, TIMEOUT, heaptrail, read_end, record,
                     require_tools, run, scratch_dir, target, trace_path)


class RecordFlags(unittest.TestCase):
    def setUp(self):
        require_tools()

    def assert_usage_error(self, *args):
        p = heaptrail("record", *args)
        self.assertEqual(p.returncode, 2, f"record {args}: {p.stderr!r}")
        self.assertTrue(p.stderr.startswith(b"heaptrail record:"), p.stderr)

    def test_bad_flags_are_usage_errors(self):
        self.assert_usage_error("--bogus", "--", "true")
        self.assert_usage_error("--depth", "0", "--", "true")
        self.assert_usage_error("--depth", "257", "--", "true")
        self.assert_usage_error("--depth", "12x", "--", "true")
        self.assert_usage_error("--snapshot-every", "0", "--", "true")
        self.assert_usage_error("--snapshot-every", "soon", "--", "true")
        self.assert_usage_error("--snapshot-every", "1e3", "--", "true")
        self.assert_usage_error("--snapshot-every", "0.0001", "--", "true")
        self.assert_usage_error("--snapshot-signal", "NOSUCH", "--", "true")
        self.assert_usage_error("--snapshot-signal", "KILL", "--", "true")
        self.assert_usage_error("--")
        self.assert_usage_error()
        self.assert_usage_error("-o")

    def test_a_bad_flag_prints_the_one_line_hint(self):
        # Issue 12: record printed its whole usage; the others print one hint.
        for args in (("--bogus", "--", "true"), ("-o",), ()):
            p = heaptrail("record", *args)
            lines = p.stderr.decode().splitlines()
            self.assertEqual(len(lines), 2, p.stderr)
            self.assertEqual(lines[1], "Try 'heaptrail help record'.")
        self.assertEqual(heaptrail("record", "--bogus", "--", "true").stderr.decode(),
                         "heaptrail record: unknown option '--bogus'\nTry 'heaptrail help record'.\n")

    def test_help_exits_zero(self):
        p = heaptrail("record", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: heaptrail record", p.stdout)

    def test_signals_by_name_or_number(self):
        d = scratch_dir("record_signals")
        for i, spec in enumerate(("USR2", "SIGUSR2", "usr2", "12")):
            p, _ = record(["sh", "-c", "echo $HEAPTRAIL_SNAPSHOT_SIGNAL"], None,
                          flags=["-q", "--snapshot-signal", spec],
                          output=os.path.join(d, f"{i}.htr"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(p.stdout.strip(), (b"12", b"USR2", b"SIGUSR2"), spec)


class RecordProcess(unittest.TestCase):
    def setUp(self):
        require_tools()

    def test_exit_status_and_stdio_pass_through(self):
        p, _ = record(["sh", "-c", "cat; echo err >&2; exit 42"], "record_status",
                      flags=["-q"], input=b"hello\n")
        self.assertEqual(p.returncode, 42)
        self.assertEqual(p.stdout, b"hello\n")
        self.assertEqual(p.stderr, b"err\n")

    def test_command_not_found_is_127_and_leaves_no_file(self):
        path = trace_path("record_notfound")
        p, _ = record(["heaptrail-no-such-command"], None, output=path)
        self.assertEqual(p.returncode, 127)
        self.assertEqual(p.stderr.strip(),
                         b"heaptrail: heaptrail-no-such-command: command not found")
        self.assertFalse(os.path.exists(path))

    def test_not_executable_is_126(self):
        d = scratch_dir("record_noexec")
        script = os.path.join(d, "script")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(script, 0o644)
        p, path = record([script], None, output=os.path.join(d, "t.htr"))
        self.assertEqual(p.returncode, 126, p.stderr)
        self.assertIn(b"script", p.stderr)
        self.assertFalse(os.path.exists(path))

    def test_refuses_to_overwrite_and_never_runs_the_program(self):
        d = scratch_dir("record_overwrite")
        path = os.path.join(d, "existing.htr")
        with open(path, "w") as f:
            f.write("precious\n")
        marker = os.path.join(d, "ran")
        p, _ = record(["touch", marker], None, output=path)
        # Issue 12: not 2, which is for bad command lines.
        self.assertEqual(p.returncode, 1)
        self.assertIn(path.encode(), p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(open(path).read(), "precious\n")
        self.assertFalse(os.path.exists(marker), "the program ran anyway")

    def test_force_overwrites_an_existing_trace(self):
        d = scratch_dir("record_force")
        path = os.path.join(d, "existing.htr")
        with open(path, "w") as f:
            f.write("old\n")
        p, _ = record([target("report_page")], None, output=path, flags=["-q", "--force"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(analyze("info", path)["events"]["alloc"], 8665)

    def test_force_does_not_write_through_a_symlink(self):
        d = scratch_dir("record_force_symlink")
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("keep\n")
        link = os.path.join(d, "link.htr")
        os.symlink(victim, link)
        p, _ = record(["true"], None, output=link, flags=["--force"])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(open(victim).read(), "keep\n")

    def test_refuses_to_write_through_a_symlink(self):
        d = scratch_dir("record_symlink")
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("keep\n")
        link = os.path.join(d, "link.htr")
        os.symlink(victim, link)
        p, _ = record(["true"], None, output=link)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(open(victim).read(), "keep\n")

    def test_default_name_and_pid_pattern(self):
        d = scratch_dir("record_names")
        p = run([HEAPTRAIL, "record", "-q", "--", "sh", "-c", "echo $$"], cwd=d)
        self.assertEqual(p.returncode, 0, p.stderr)
        pid = int(p.stdout)
        self.assertEqual(os.listdir(d), [f"heaptrail.sh.{pid}.htr"])
        st = os.stat(os.path.join(d, f"heaptrail.sh.{pid}.htr"))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        p = run([HEAPTRAIL, "record", "-q", "-o", "t.%p.htr", "--", "sh", "-c", "echo $$"],
                cwd=d)
        pid = int(p.stdout)
        self.assertTrue(os.path.exists(os.path.join(d, f"t.{pid}.htr")))

    def test_output_pattern_from_the_environment(self):
        d = scratch_dir("record_env_output")
        p = run([HEAPTRAIL, "record", "-q", "--", "sh", "-c", "echo $$"], cwd=d,
                env={"HEAPTRAIL_OUTPUT": "mine.%p.htr"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(d), [f"mine.{int(p.stdout)}.htr"])

    def test_environment_contract(self):
        d = scratch_dir("record_env")
        path = os.path.join(d, "env.htr")
        script = ('echo "LD_PRELOAD=$LD_PRELOAD"; echo "PYTHONMALLOC=$PYTHONMALLOC"; '
                  'echo "PYTHONPATH=$PYTHONPATH"; echo "ROOT=$HEAPTRAIL_ROOT_PID"; '
                  'echo "PID=$$"; echo "FD_ID=$HEAPTRAIL_FD_ID"; '
                  'echo "FDPATH=$(readlink /proc/$$/fd/$HEAPTRAIL_FD)"; '
                  'echo "DEPTH=$HEAPTRAIL_DEPTH"; echo "FORK=$HEAPTRAIL_FOLLOW_FORK"; '
                  'echo "EVERY=$HEAPTRAIL_SNAPSHOT_EVERY"')
        p, _ = record(["sh", "-c", script], None, output=path,
                      flags=["-q", "--depth", "7", "--follow-fork", "--snapshot-every", "0.5"],
                      env={"LD_PRELOAD": "libc.so.6", "PYTHONPATH": "/somewhere"})
        self.assertEqual(p.returncode, 0, p.stderr)
        env = dict(line.split("=", 1) for line in p.stdout.decode().splitlines())
        self.assertEqual(env["LD_PRELOAD"].replace(" ", ":").split(":"),
                         [os.path.realpath(LIB), "libc.so.6"])
        self.assertEqual(env["PYTHONMALLOC"], "malloc")
        self.assertEqual(env["PYTHONPATH"], os.path.join(BUILD, "python") + ":/somewhere")
        self.assertEqual(env["ROOT"], env["PID"])
        st = os.stat(path)
        self.assertEqual(env["FD_ID"], f"{st.st_dev}:{st.st_ino}")
        self.assertEqual(env["FDPATH"], path)
        self.assertEqual(env["DEPTH"], "7")
        self.assertEqual(env["FORK"], "1")
        self.assertEqual(env["EVERY"], "0.5")

    def test_no_python_malloc(self):
        p, _ = record(["sh", "-c", 'echo "[$PYTHONMALLOC]"'], "record_nopymalloc",
                      flags=["-q", "--no-python-malloc"], env={"PYTHONMALLOC": ""})
        self.assertEqual(p.stdout, b"[]\n")

    def test_summary_line_names_the_trace_and_its_event_count(self):
        p, path = record([target("leaks")], "record_summary")
        self.assertEqual(p.returncode, 0)
        end = read_end(path)
        self.assertIsNotNone(end, "no END record")
        lines = p.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertEqual(lines[0], f"heaptrail: wrote {path} ({end[0]:,} events); "
                                   f"next: heaptrail report {path}")

    def test_summary_of_a_killed_program_says_why_the_trace_is_truncated(self):
        p, path = record(["sh", "-c", "kill -KILL $$"], "record_summary_killed")
        self.assertEqual(p.returncode, -signal.SIGKILL)
        self.assertEqual(p.stderr.decode().splitlines()[-1],
                         f"heaptrail: wrote {path}, truncated (no end record: the program was "
                         f"killed by SIGKILL); next: heaptrail info {path}")

    def test_summary_of_a_crashed_program_says_the_trace_is_complete(self):
        p, path = record([target("crasher"), "segv"], "record_summary_crashed")
        self.assertEqual(p.returncode, -signal.SIGSEGV)
        end = read_end(path)
        self.assertIsNotNone(end, "no END record after the crash")
        self.assertEqual(p.stderr.decode().splitlines()[-1],
                         f"heaptrail: wrote {path} ({end[0]:,} events; complete up to SIGSEGV, "
                         f"which killed the program); next: heaptrail report {path}")

    def test_quiet_prints_nothing(self):
        p, _ = record([target("leaks")], "record_quiet", flags=["--quiet"])
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, b"")


class RecordSignals(unittest.TestCase):
    SLOW = 1

    def setUp(self):
        require_tools()

    def start_sleeper(self, name):
        path = trace_path(name)
        proc = subprocess.Popen([HEAPTRAIL, "record", "-q", "-o", path, "--",
                                 target("sleeper")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        line = readline(proc).split()
        self.assertEqual(line[:1], [b"ready"], proc.stderr.read() if not line else line)
        return proc, int(line[1]), path

    def test_sigterm_to_the_wrapper_reaches_the_program(self):
        proc, child, _ = self.start_sleeper("signal_term")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(TIMEOUT), -signal.SIGTERM)

    def test_sigusr1_is_forwarded(self):
        proc, child, _ = self.start_sleeper("signal_usr1")
        proc.send_signal(signal.SIGUSR1)
        self.assertEqual(proc.wait(TIMEOUT), -signal.SIGUSR1)

    def start_counter(self, name):
        proc = subprocess.Popen([HEAPTRAIL, "record", "-q", "-o", trace_path(name), "--",
                                 target("sigcount")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        line = readline(proc).split()
        self.assertEqual(line[:1], [b"ready"], proc.stderr.read() if not line else line)
        return proc

    def test_sigint_and_sigquit_sent_to_the_wrapper_reach_the_program_once(self):
        # `kill -INT <wrapper pid>`, as a supervisor or a script sends it.
        for sig, want in ((signal.SIGINT, b"int 1 quit 0\n"), (signal.SIGQUIT, b"int 0 quit 1\n")):
            proc = self.start_counter(f"signal_fwd_{sig.name}")
            proc.send_signal(sig)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            self.assertEqual((proc.returncode, out), (0, want), err)

    def test_ctrl_c_on_a_terminal_reaches_the_program_once(self):
        # The terminal signals the whole foreground process group (the
        # wrapper and the program): the wrapper must not add a second one.
        import pty
        import select
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execv(HEAPTRAIL, [HEAPTRAIL, "record", "-q", "-o",
                                     trace_path("signal_ctrl_c"), "--", target("sigcount")])
            finally:
                os._exit(127)
        out = b""
        deadline = time.monotonic() + TIMEOUT
        try:
            while b"ready" not in out and time.monotonic() < deadline:
                if select.select([fd], [], [], 1)[0]:
                    out += os.read(fd, 4096)
            self.assertIn(b"ready", out)
            os.write(fd, b"\x03")  # ^C: VINTR in the default termios
            while b"quit" not in out and time.monotonic() < deadline:
                if select.select([fd], [], [], 1)[0]:
                    try:
                        out += os.read(fd, 4096)
                    except OSError:
                        break
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        self.assertIn(b"int 1 quit 0", out)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)

    def test_program_killed_by_signal_kills_the_wrapper_the_same_way(self):
        for mode, sig in (("segv", signal.SIGSEGV), ("abort", signal.SIGABRT)):
            plain = run([target("crasher"), mode])
            self.assertEqual(plain.returncode, -sig)
            p, path = record([target("crasher"), mode], f"signal_{mode}", flags=["-q"])
            self.assertEqual(p.returncode, -sig, f"{mode}: {p.stderr!r}")
            self.assertEqual(p.stderr, plain.stderr)
            self.assertEqual(heaptrail("info", path).returncode, 0)


class RecordInheritedState(unittest.TestCase):
    def setUp(self):
        require_tools()

    def test_ignored_sigchld_keeps_the_exit_status_and_the_disposition(self):
        def ignore_chld():
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        script = "grep SigIgn /proc/$$/status; exit 42"
        plain = subprocess.run(["sh", "-c", script], stdout=subprocess.PIPE,
                               preexec_fn=ignore_chld, timeout=TIMEOUT)
        path = trace_path("record_sigchld")
        p = subprocess.run([HEAPTRAIL, "record", "-q", "-o", path, "--", "sh", "-c", script],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=ignore_chld, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 42, p.stderr)
        self.assertEqual(p.stdout, plain.stdout)

    def run_with_closed_stderr(self, argv, name):
        r, w = os.pipe()
        os.close(r)
        try:
            path = trace_path(name)
            return subprocess.run([HEAPTRAIL, "record", "-o", path, "--", *argv],
                                  stderr=w, timeout=TIMEOUT)
        finally:
            os.close(w)

    def test_closed_stderr_does_not_change_the_status(self):
        # The wrapper's summary line hits EPIPE; it must still exit 0.
        p = self.run_with_closed_stderr([target("leaks")], "record_epipe")
        self.assertEqual(p.returncode, 0)

    # The recorder's own messages go to the program's stderr: a closed pipe
    # there must not kill the program with SIGPIPE (`true` allocates
    # nothing, so the recorder says so at exit).
    def test_recorder_message_on_closed_stderr_does_not_kill_the_program(self):
        p = self.run_with_closed_stderr(["true"], "record_epipe_true")
        self.assertEqual(p.returncode, 0)


class Sanitizers(unittest.TestCase):
    """Issue 20, defect 3: an AddressSanitizer program did not run at all
    under `heaptrail record` (ASan: "runtime does not come first in initial
    library list", exit 1).  Sanitizer runtimes bring their own malloc and
    must load first, so the hooks could never see an allocation: the
    wrapper refuses them, saying why, and does not start the program."""

    def build(self, flag):
        out = trace_path(f"sanitized_{flag}", ext="")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "targets", "one_alloc.c")
        p = subprocess.run(["cc", f"-fsanitize={flag}", "-g", "-o", out, src],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.skipTest(f"cc -fsanitize={flag} failed: {p.stderr.decode(errors='replace')}")
        return out

    def test_sanitized_programs_are_refused_with_the_reason(self):
        for flag, name in (("address", "AddressSanitizer"), ("thread", "ThreadSanitizer")):
            with self.subTest(sanitizer=name):
                prog = self.build(flag)
                path = trace_path(f"sanitized_{flag}_trace")
                p = subprocess.run([HEAPTRAIL, "record", "-o", path, "--", prog],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=TIMEOUT)
                self.assertEqual((p.returncode, p.stdout, p.stderr.decode()),
                                 (2, b"", f"heaptrail: {prog} is built with {name}, which "
                                  "replaces malloc and must be the first library loaded, so "
                                  "heaptrail cannot record it; record a build without "
                                  "-fsanitize\n"))
                self.assertFalse(os.path.exists(path))
