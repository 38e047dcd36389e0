"""Shared helpers for the integration tests: where the build is, recording a
program, running analyzer commands with --json, finding call sites by their
`@site:NAME` markers, and an independent decoder of the .htr format (so the
tests can check the recorder's output without trusting the analyzer)."""

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("HEAPTRAIL_BUILD") or os.path.join(REPO, "build")
HEAPTRAIL = os.path.join(BUILD, "heaptrail")
LIB = os.path.join(BUILD, "libheaptrail.so")
TARGETS = os.path.join(BUILD, "targets")
TARGET_SRC = os.path.join(HERE, "targets")
# run.py gives each run its own directory under $BUILD/it, so that runs
# started by different people in one tree do not delete each other's traces.
IT = os.environ.get("HEAPTRAIL_IT") or os.path.join(BUILD, "it")

# Generous: the machine is shared, and a hang must fail, not block the run.
TIMEOUT = 120


def target(name):
    """Path of a built target program (skips the test if it is missing)."""
    path = os.path.join(TARGETS, name)
    if not os.path.exists(path):
        raise unittest.SkipTest(f"{path} not built (make targets)")
    return path


def require_tools():
    for path in (HEAPTRAIL, LIB):
        if not os.path.exists(path):
            raise unittest.SkipTest(f"{path} not built")


_site_cache = {}


def site(source, tag):
    """(file basename, line) of the line marked `@site:TAG` in a target
    source file."""
    key = (source, tag)
    if key not in _site_cache:
        path = os.path.join(TARGET_SRC, source)
        pat = re.compile(r"@site:" + re.escape(tag) + r"\b")
        lines = [i + 1 for i, text in enumerate(open(path)) if pat.search(text)]
        if len(lines) != 1:
            raise AssertionError(f"{path}: marker @site:{tag} found {len(lines)} times")
        _site_cache[key] = (source, lines[0])
    return _site_cache[key]


def trace_path(name, ext=".htr"):
    """A fresh path under $BUILD/it for a trace named after the test."""
    os.makedirs(IT, exist_ok=True)
    path = os.path.join(IT, name + ext)
    if os.path.lexists(path):
        os.unlink(path)
    return path


def scratch_dir(name):
    """An empty directory under $BUILD/it."""
    path = os.path.join(IT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def run(argv, env=None, timeout=TIMEOUT, input=None, cwd=None):
    """Runs argv, capturing stdout/stderr as bytes."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, timeout=timeout, input=input, cwd=cwd)


def record(argv, name, flags=(), env=None, timeout=TIMEOUT, input=None, cwd=None,
           output=None):
    """Runs `heaptrail record -o TRACE [flags] -- argv`.  Returns
    (CompletedProcess, trace path)."""
    require_tools()
    path = output or trace_path(name)
    cmd = [HEAPTRAIL, "record", "-o", path, *flags, "--", *argv]
    return run(cmd, env=env, timeout=timeout, input=input, cwd=cwd), path


def readline(proc, timeout=TIMEOUT):
    """One line from proc.stdout, or AssertionError after `timeout` seconds
    (a hung recorder must fail the test, not block the run).  The program
    must flush whole lines."""
    import select
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError(f"no output from {proc.args} within {timeout}s")
    return proc.stdout.readline()


def heaptrail(*args, timeout=TIMEOUT, env=None):
    """Runs `heaptrail ARGS...` and returns the CompletedProcess."""
    require_tools()
    return run([HEAPTRAIL, *args], timeout=timeout, env=env)


def analyze(cmd, trace, *extra, timeout=TIMEOUT):
    """`heaptrail CMD --json EXTRA... TRACE`, checked and parsed."""
    p = heaptrail(cmd, "--json", *extra, trace, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(
            f"heaptrail {cmd} {' '.join(extra)} {trace} exited {p.returncode}:\n"
            + p.stderr.decode(errors="replace"))
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError(f"heaptrail {cmd} --json printed invalid JSON ({e}):\n"
                             + p.stdout.decode(errors="replace")[:2000])


def function_is(name, function):
    """C names match exactly; C++ names may carry their parameter list
    ("make_objects()") or a class ("Tls::~Tls()"): `function` then matches
    the name before the "(".  None matches anything."""
    if function is None:
        return True
    name = name or ""
    return name == function or name.split("(")[0] == function


def frame_is(frame, function, where):
    """Does a JSON frame name `function` at (file basename, line)?"""
    file, line = where
    return (function_is(frame.get("function"), function)
            and os.path.basename(frame.get("file") or "") == file
            and frame.get("line") == line)


def site_totals(stats, function, where, anywhere=False):
    """(count, bytes) summed over the stats whose innermost frame (or, with
    anywhere, any frame) is `function` at `where`."""
    count = total = 0
    for st in stats:
        frames = st.get("frames") or []
        frames = frames if anywhere else frames[:1]
        if any(frame_is(f, function, where) for f in frames):
            count += st["count"]
            total += st["bytes"]
    return count, total


def describe(stats, limit=15):
    """A short text of stats for assertion messages."""
    out = []
    for st in stats[:limit]:
        fr = (st.get("frames") or [{}])[0]
        out.append(f"  {st.get('count')} blocks {st.get('bytes')} B at "
                   f"{fr.get('function')} {os.path.basename(fr.get('file') or '?')}:"
                   f"{fr.get('line')} ({os.path.basename(fr.get('module') or '?')})")
    return "\n".join(out)


def signal_status(returncode):
    """'signal SIGSEGV' / 'exit 3' for messages."""
    if returncode < 0:
        return "signal " + signal.Signals(-returncode).name
    return f"exit {returncode}"


# ---------------------------------------------------------------------------
# Independent trace decoder (include/heaptrail_format.h), for checks that must
# not depend on the analyzer: global event order, END record, file layout.

MAGIC = b"\x89HTR\r\n\x1a\n"
OP_FREE, OP_MALLOC, OP_REALLOC, OP_ALLOC, OP_THREAD, OP_TIME, OP_RECORD = 0, 1, 2, 3, 4, 5, 7
REC_PROCESS, REC_MODULES, REC_STACK, REC_SNAPSHOT, REC_EXEC, REC_END = 1, 2, 3, 6, 9, 11
REC_SIGNAL = 12
KINDS_WITH_ALIGN = (4, 5, 6)
END_LEN = 34


class TraceError(Exception):
    pass


def _addr(code, prev):
    z = code >> 1
    delta = (z >> 1) ^ -(z & 1)
    if not code & 1:
        delta *= 16
    return (prev + delta) & 0xFFFFFFFFFFFFFFFF


def event_times(path):
    """[(kind, size, time_us)] of every alloc and free of a one-image trace,
    time_us being the trace's clock at the event (its last TIME)."""
    out, now = [], 0
    for ev in decode_events(path, times=True):
        if ev[0] == "time":
            now += ev[1]
        elif ev[0] == "alloc":
            out.append(("alloc", ev[2], now))
        elif ev[0] == "free":
            out.append(("free", 0, now))
    return out


def read_end(path):
    """The END record's (events, lost) from the file's last bytes, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16 + END_LEN:
        return None
    tail = data[-END_LEN:]
    if tail[0] != (REC_END << 3 | OP_RECORD) or tail[1] != 32 or tail[26:34] != b"HTR-END\0":
        return None
    events, lost, _ = struct.unpack_from("<QQQ", tail, 2)
    return events, lost


def decode_events(path, times=False):
    """Yields events in file order:
       ("alloc", addr, size, stack) / ("free", addr) /
       ("realloc", old, new, size, stack) / ("record", type, body bytes),
       and with `times` ("time", microseconds since the previous TIME)
    Raises TraceError on a malformed file (a torn last record is reported as
    ("torn",))."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        raise TraceError("bad magic")
    pos, end, prev = 16, len(data), 0
    # Version 2's address model (include/heaptrail_format.h): allocation
    # ordinals, the last AGE_WINDOW allocations, and per (thread slot, size
    # class) lists of addresses freed by age.
    model = struct.unpack_from("<I", data, 8)[0] >= 2
    AGE_WINDOW, LIFO_THREADS, LIFO_DEPTH = 1 << 20, 64, 8
    ord_, thread, window, lifo = 0, 0, {}, {}

    def size_class(size):
        if size > 1032:
            return None
        return 0 if size <= 24 else ((size + 23) >> 4) - 2

    def new_block(addr, size):
        nonlocal ord_
        window[ord_ % AGE_WINDOW] = (addr, size_class(size))
        ord_ += 1

    def free_addr(payload):
        if not model:
            return _addr(payload, prev)
        if not payload & 1:
            return _addr(payload >> 1, prev)
        age = payload >> 1
        if age == 0 or age > ord_ or age > AGE_WINDOW:
            raise TraceError(f"FREE by age {age} with {ord_} allocations")
        addr, cls = window[(ord_ - age) % AGE_WINDOW]
        if cls is not None:
            row = lifo.setdefault((thread % LIFO_THREADS, cls), [])
            row.insert(0, addr)
            del row[LIFO_DEPTH:]
        return addr

    def alloc_addr(payload, size):
        if not model:
            return _addr(payload, prev)
        if not payload & 1:
            return _addr(payload >> 1, prev)
        row = lifo.get((thread % LIFO_THREADS, size_class(size)), [])
        if payload >> 1 >= len(row):
            raise TraceError(f"allocation names lifo entry {payload >> 1} of {len(row)}")
        return row.pop(payload >> 1)

    def varint():
        nonlocal pos
        v = shift = 0
        while True:
            if pos >= end:
                raise IndexError
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v
            shift += 7
            if shift > 63:
                raise TraceError(f"varint too long at {pos}")

    while pos < end:
        start = pos
        try:
            head = varint()
            op, payload = head & 7, head >> 3
            if op == OP_FREE:
                prev = free_addr(payload)
                yield ("free", prev)
            elif op == OP_MALLOC:
                size = varint()
                stack = varint()
                prev = alloc_addr(payload, size)
                new_block(prev, size)
                yield ("alloc", prev, size, stack)
            elif op == OP_REALLOC:
                old = _addr(payload, prev)
                new = _addr(varint(), old)
                prev = new
                size = varint()
                stack = varint()
                new_block(new, size)
                yield ("realloc", old, new, size, stack)
            elif op == OP_ALLOC:
                if pos >= end:
                    raise IndexError
                kind = data[pos]
                pos += 1
                size = varint()
                stack = varint()
                if kind in KINDS_WITH_ALIGN:
                    varint()
                prev = alloc_addr(payload, size)
                new_block(prev, size)
                yield ("alloc", prev, size, stack)
            elif op == OP_THREAD:
                thread = payload
            elif op == OP_TIME:
                if times:
                    yield ("time", payload)
            elif op == OP_RECORD:
                n = varint()
                if pos + n > end:
                    raise IndexError
                body = data[pos:pos + n]
                pos += n
                if payload == REC_PROCESS:
                    prev, ord_, thread = 0, 0, 0
                    lifo.clear()
                yield ("record", payload, body)
            else:
                raise TraceError(f"unknown op {op} at offset {start}")
        except IndexError:
            yield ("torn", start)
            return
