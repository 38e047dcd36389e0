"""pytest plugin: `pytest --heaptrail` under `heaptrail record`.

    heaptrail record -- python3 -m pytest --heaptrail tests/

Each test is bracketed by two snapshot marks ("test start: NODEID" and
"test end: NODEID", so `heaptrail diff TRACE --from ... --to ...` compares
them) and measured with the recorder's own heap counters
(heaptrail.heap_bytes, heap_peak, heap_peak_reset):

    allocated  bytes allocated and still live when the test's call ended,
               before the garbage collector ran (its heap minus the start)
    peak       the highest heap during the call, above the start
    leaked     what is still live after a gc.collect(), above the start

A table of them is printed at the end.  Markers fail a test that exceeds a
limit (sizes as "24 MB", "1.5MiB", "4096"; kB/MB/GB are powers of 1000,
KiB/MiB/GiB of 1024):

    @pytest.mark.limit_memory("24 MB")   peak above the start
    @pytest.mark.limit_leaks("1 MB")     leaked

Only the test function's call is measured (not its fixtures' setup and
teardown), in the process that runs it.  Counters are process-wide: other
threads allocating meanwhile count too.  Without the recorder --heaptrail
says so once and checks nothing.  Registered through the `pytest11` entry
point of the heaptrail distribution (make install, pip install, or the
build tree that `heaptrail record` puts on PYTHONPATH).
"""

import gc
import re

import pytest

import heaptrail

_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3,
          "tb": 1000 ** 4, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3,
          "tib": 1024 ** 4, "k": 1000, "m": 1000 ** 2, "g": 1000 ** 3}


def parse_size(text):
    """Bytes in "24 MB", "1.5MiB", "4096" (int); ValueError when invalid."""
    if isinstance(text, int):
        return text
    m = re.match(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*$", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError("not a size: %r (try \"24 MB\" or \"512 KiB\")" % (text,))
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n):
    """1234567 -> "1.2 MiB" (as the analyzer prints sizes)."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            if unit == "B":
                return "%s%d B" % (sign, n)
            return "%s%.1f %s" % (sign, n, unit) if n < 100 else "%s%.0f %s" % (sign, n, unit)
        n /= 1024.0


def pytest_addoption(parser):
    group = parser.getgroup("heaptrail")
    group.addoption("--heaptrail", action="store_true", default=False,
                    help="measure each test's heap with the heaptrail recorder "
                         "(run pytest under `heaptrail record`)")
    group.addoption("--heaptrail-top", type=int, default=None, metavar="N",
                    help="show the N tests with the highest peak (default: all)")


def pytest_configure(config):
    config.addinivalue_line("markers", "limit_memory(size): fail the test when its "
                            "heap peak above its start exceeds size (--heaptrail)")
    config.addinivalue_line("markers", "limit_leaks(size): fail the test when it "
                            "leaves more than size live (--heaptrail)")
    if config.getoption("heaptrail"):
        config.pluginmanager.register(_Plugin(config), "heaptrail-measure")


class _Plugin(object):
    def __init__(self, config):
        self.config = config
        self.on = heaptrail.recording()
        self.results = {}  # nodeid -> (allocated, peak, leaked)
        self.failures = {}  # nodeid -> message

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        if not self.on:
            yield
            return
        nodeid = item.nodeid
        gc.collect()
        heaptrail.snapshot("test start: " + nodeid)
        start = heaptrail.heap_bytes()
        heaptrail.heap_peak_reset()
        outcome = yield
        peak = heaptrail.heap_peak() - start
        allocated = heaptrail.heap_bytes() - start
        gc.collect()
        leaked = heaptrail.heap_bytes() - start
        heaptrail.snapshot("test end: " + nodeid)
        self.results[nodeid] = (allocated, peak, leaked)
        problems = []
        for name, value, what in (("limit_memory", peak, "peak"),
                                  ("limit_leaks", leaked, "leaked")):
            mark = item.get_closest_marker(name)
            if mark is None or not mark.args:
                continue
            limit = parse_size(mark.args[0])
            if value > limit:
                problems.append("%s %s (%d bytes) exceeds %s(%r) = %d bytes"
                                % (what, format_size(value), value, name,
                                   mark.args[0], limit))
        if problems and outcome.excinfo is None:
            # Reported as the call's failure in pytest_runtest_makereport
            # (works with every pytest and pluggy version).
            self.failures[nodeid] = "heaptrail: " + "; ".join(problems)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        msg = self.failures.get(item.nodeid)
        if msg and call.when == "call":
            rep = outcome.get_result()
            if rep.passed:
                rep.outcome = "failed"
                rep.longrepr = msg

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        tr.section("heaptrail")
        if not self.on:
            tr.write_line("heaptrail: not recording: nothing was measured; run "
                          "`heaptrail record -- python3 -m pytest --heaptrail ...`")
            return
        rows = sorted(self.results.items(), key=lambda kv: -kv[1][1])
        top = self.config.getoption("heaptrail_top")
        if top is not None:
            rows = rows[:top]
        if not rows:
            tr.write_line("no test was measured")
            return
        width = max(len("test"), max(len(k) for k, _ in rows))
        tr.write_line("%-*s %12s %12s %12s" % (width, "test", "allocated", "peak", "leaked"))
        for nodeid, (allocated, peak, leaked) in rows:
            line = "%-*s %12s %12s %12s" % (width, nodeid, format_size(allocated),
                                            format_size(peak), format_size(leaked))
            if nodeid in self.failures:
                line += "  FAILED limit"
            tr.write_line(line)
        tr.write_line("(heap above each test's start, measured by the recorder; "
                      "snapshots 'test start: ...' / 'test end: ...' mark each test)")
