"""8 threads handing blocks to each other (threads_handoff.c): exact totals,
and the global event order never allocates an address that is still live."""

import sys
import unittest

from helpers import (analyze, decode_events, describe, read_end, record, require_tools,
                     run, site, site_totals, target)

N = 100000
KEEP = 100
NTHREADS = 8


def block_size(k):
    return 16 + (k % 64) * 8


class ThreadHandoff(unittest.TestCase):
    SLOW = 10
    trace = None

    @classmethod
    def setUpClass(cls):
        require_tools()
        argv = [target("threads_handoff"), str(N)]
        cls.plain = run(argv)
        cls.rec, cls.trace = record(argv, "threads_handoff", flags=["-q"])
        cls.base, cls.base_trace = record([target("threads_handoff"), str(KEEP)],
                                          "threads_handoff_base", flags=["-q"])

    def test_behaves_the_same(self):
        self.assertEqual((self.rec.returncode, self.rec.stdout, self.rec.stderr),
                         (self.plain.returncode, self.plain.stdout, self.plain.stderr))

    def test_live_blocks_at_the_site_exact(self):
        # At the end: top defaults to the peak, when up to 256 blocks per
        # queue may be in flight between threads (timing-dependent).
        stats = analyze("top", self.trace, "-n", "0", "--at", "end")["stats"]
        want = (NTHREADS * KEEP,
                NTHREADS * sum(block_size(k) for k in range(N - KEEP, N)))
        got = site_totals(stats, "worker", site("threads_handoff.c", "handoff_alloc"))
        self.assertEqual(got, want, describe(stats))

    def test_event_totals_exact(self):
        """Against the same program run with N=KEEP: the difference is
        exactly the extra hand-offs."""
        info = analyze("info", self.trace)
        base = analyze("info", self.base_trace)
        self.assertEqual(info["lost_events"], 0)
        extra = NTHREADS * (N - KEEP)
        self.assertEqual(info["events"]["alloc"] - base["events"]["alloc"], extra)
        self.assertEqual(info["events"]["free"] - base["events"]["free"], extra)
        self.assertEqual(info["events"]["realloc"], base["events"]["realloc"])

    def test_global_order_never_reallocates_a_live_address(self):
        live = {}
        counts = {"alloc": 0, "free": 0, "realloc": 0}
        n = 0
        for ev in decode_events(self.trace):
            kind = ev[0]
            n += 1
            if kind == "alloc":
                self.assertNotIn(ev[1], live, f"event {n}: alloc of live {ev[1]:#x}")
                live[ev[1]] = ev[2]
            elif kind == "free":
                live.pop(ev[1], None)
            elif kind == "realloc":
                live.pop(ev[1], None)
                self.assertNotIn(ev[2], live, f"event {n}: realloc onto live {ev[2]:#x}")
                live[ev[2]] = ev[3]
            elif kind == "torn":
                self.fail(f"torn record at offset {ev[1]}")
            if kind in counts:
                counts[kind] += 1
        info = analyze("info", self.trace)
        self.assertEqual(info.get("anomalies", {}).get("allocs_on_live_address"), 0)
        self.assertEqual(counts, {k: info["events"].get(k) for k in counts},
                         "independent decoder vs heaptrail info")
        end = read_end(self.trace)
        self.assertIsNotNone(end)
        self.assertEqual(end, (sum(counts.values()), 0), "END record's counts")


POOL = """
import threading
from concurrent.futures import ThreadPoolExecutor
n = 32
gate = threading.Barrier(n)   # every worker must exist at once
def work(i):
    gate.wait()
    return len([bytes(100) for _ in range(200)])
with ThreadPoolExecutor(max_workers=n) as ex:
    print(sum(ex.map(work, range(n))))
"""


class ThreadCount(unittest.TestCase):
    """One thread index per OS thread (issue 20.6: a 32-worker pool showed
    61 threads, each worker's tid under two indexes), the writer never."""

    def setUp(self):
        require_tools()

    def threads(self, trace):
        return analyze("info", trace)["threads"]

    def test_c_threads_whose_destructors_allocate_count_once(self):
        p, trace = record([target("thread_count"), "12"], "thread_count_c", flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"12 threads\n")
        self.assertEqual(self.threads(trace), 13)

    def test_python_thread_pool_counts_each_worker_once(self):
        p, trace = record([sys.executable, "-c", POOL], "thread_count_py", flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"6400\n")
        self.assertEqual(self.threads(trace), 33)

