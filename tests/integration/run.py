#!/usr/bin/env python3
"""Runs the integration tests (tests/integration/test_*.py) two test classes
at a time and prints a final line `N passed, N failed[, N skipped]`; exits 1
on any failure.  Needs HEAPTRAIL_BUILD (absolute build directory; the
Makefile sets it).  Traces go to $HEAPTRAIL_BUILD/it/run-<pid>/ (earlier runs' are removed).

  run.py [-j N] [-k PATTERN] [-v]
    -j N        test classes run in parallel (1 or 2; default 2)
    -k PATTERN  only tests whose id contains PATTERN
"""

import argparse
import concurrent.futures
import faulthandler
import io
import os
import shutil
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class Result(unittest.TestResult):
    """Collects outcomes and prints one line per test as it finishes."""

    def __init__(self, lock, verbose):
        super().__init__()
        self.lock = lock
        self.verbose = verbose
        self.passed = []
        self.started = {}

    def startTest(self, test):
        super().startTest(test)
        self.started[test.id()] = time.monotonic()

    def _line(self, test, word, detail=""):
        took = time.monotonic() - self.started.get(test.id(), time.monotonic())
        with self.lock:
            print(f"{word:5} {test.id()} ({took:.1f}s){detail}", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)
        self._line(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, "skip", f": {reason}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, "xfail")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, "XPASS", ": marked expectedFailure but passed; remove the mark")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", type=int, default=2, choices=(1, 2))
    ap.add_argument("-k", default=None)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()

    build = os.environ.get("HEAPTRAIL_BUILD")
    if not build or not os.path.isabs(build):
        print("run.py: set HEAPTRAIL_BUILD to the absolute build directory "
              "(make integration does)", file=sys.stderr)
        return 2
    it = os.path.join(build, "it")
    os.makedirs(it, exist_ok=True)
    # Traces of earlier runs go; those of runs still going (another user of
    # this tree) stay.
    for name in os.listdir(it):
        path = os.path.join(it, name)
        if name.startswith("run-") and name[4:].isdigit() and pid_alive(int(name[4:])):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    os.environ["HEAPTRAIL_IT"] = os.path.join(it, f"run-{os.getpid()}")
    os.makedirs(os.environ["HEAPTRAIL_IT"])

    # Safety net: a hang anywhere ends the run with every thread's stack.
    faulthandler.dump_traceback_later(int(os.environ.get("HEAPTRAIL_IT_TIMEOUT", "900")),
                                      exit=True)
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = list(flatten(suite))
    if args.k:
        tests = [t for t in tests if args.k in t.id()]
    # Import errors surface as _FailedTest cases: they count as failures.
    groups = {}
    for t in tests:
        groups.setdefault(type(t), []).append(t)

    import threading
    lock = threading.Lock()
    results = []
    start = time.monotonic()

    def run_group(cases):
        r = Result(lock, args.v)
        # A fresh result per group: the suite treats the run as top level
        # and runs the class fixtures itself.
        unittest.TestSuite(cases).run(r)
        return r

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        # Slowest classes first so the two workers finish together.
        order = sorted(groups.values(), key=lambda cs: -getattr(type(cs[0]), "SLOW", 0))
        for r in pool.map(run_group, order):
            results.append(r)

    passed = failed = skipped = 0
    xfails = []
    for r in results:
        for test, tb in r.failures + r.errors:
            failed += 1
            print(f"\n===== FAIL: {test.id()}\n{tb}", flush=True)
        for test in r.unexpectedSuccesses:
            failed += 1
        skipped += len(r.skipped)
        passed += len(r.passed)
        for test, _ in r.expectedFailures:
            passed += 1
            xfails.append(test.id())
    if xfails:
        print("\nexpected failures (known bugs, see the comments in the tests):")
        for x in xfails:
            print("  " + x)
    print(f"\nintegration: {time.monotonic() - start:.0f}s")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
