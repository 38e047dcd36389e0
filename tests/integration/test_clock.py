"""Issue 12, "time that means what it says": each thread stamps its events
with its own clock, so event times are as fine as the resolution the trace
states, and printed times show only that precision.

tick_allocs allocates 1000 bytes every millisecond, 20 times, with a 1 MiB
spike after the 12th, and prints its own CLOCK_REALTIME reading right after
each allocation.  An event happened between the program's previous reading
and its own, and the trace dates it at most one resolution early, so in
wall-clock terms (start_unix_ns + time_us) its time lies in
[previous reading - resolution, reading].  Before the stamps, events were
dated by the writer's cycle (up to 10 ms early: several allocations shared
one time)."""

import re
import unittest

from helpers import analyze, event_times, heaptrail, record, require_tools, target

NTICKS = 20
# Rounding of the trace's microseconds and of start_unix_ns, and the
# recorder's TSC-to-CLOCK_MONOTONIC conversion (a few us).
SLACK_US = 10
# The resolution we claim (the recorder states its own, which must be at
# least this fine; the checks use the finer of the two).
CLAIM_US = 100


class EventClock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.trace = record([target("tick_allocs")], "clock_ticks", flags=["-q"])
        assert p.returncode == 0, p.stderr
        ticks, cls.spike_ns = [], None
        for line in p.stdout.decode().splitlines():
            word, *rest = line.split()
            if word == "tick":
                ticks.append(int(rest[1]))
            elif word == "spike":
                cls.spike_ns = int(rest[0])
        assert len(ticks) == NTICKS, p.stdout
        cls.info = analyze("info", cls.trace)
        start_us = cls.info["start_unix_ns"] / 1000
        # The program's readings on the trace's clock (us since the start).
        cls.at = [t / 1000 - start_us for t in ticks]
        cls.spike_at = cls.spike_ns / 1000 - start_us
        # Traces without a CLOCK record: the writer cycle (10 ms).
        cls.stated = cls.info.get("time_resolution_us", 10000)
        cls.res = min(cls.stated, CLAIM_US)

    def test_the_trace_states_a_resolution_finer_than_a_millisecond(self):
        self.assertGreaterEqual(self.stated, 1)
        self.assertLessEqual(self.stated, CLAIM_US)

    def tick_times(self):
        return [t for kind, size, t in event_times(self.trace) if kind == "alloc" and size == 1000]

    def test_each_event_is_dated_within_the_resolution(self):
        times = self.tick_times()
        self.assertEqual(len(times), NTICKS)
        for i, t in enumerate(times):
            lo = (self.at[i - 1] if i else 0) - self.res - SLACK_US
            hi = self.at[i] + SLACK_US
            self.assertTrue(lo <= t <= hi, f"event {i} at {t} us, program says ({lo}, {hi}]; "
                                           f"times {times}, program {self.at}")

    def test_times_one_millisecond_apart_are_distinct_and_increasing(self):
        times = self.tick_times()
        steps = [b - a for a, b in zip(times, times[1:])]
        # Each allocation follows a 1 ms sleep after the previous one.
        self.assertTrue(all(s >= 1000 - self.res - SLACK_US for s in steps), f"steps {steps}")

    def test_the_peak_time_is_the_spike_within_the_resolution(self):
        # The peak: the 13th block, allocated while the spike is live.
        peak = self.info["peak_time_us"]
        self.assertEqual(self.info["peak_bytes"], 13 * 1000 + (1 << 20))
        lo, hi = self.spike_at - self.res - SLACK_US, self.at[12] + SLACK_US
        self.assertTrue(lo <= peak <= hi, f"peak at {peak} us, the 13th block between {lo} and {hi}")
        self.assertEqual(peak, self.tick_times()[12])

    def test_top_at_a_time_between_two_events_sees_the_blocks_before_it(self):
        times = self.tick_times()
        for i in (3, 7, 15):
            mid = (times[i] + times[i + 1]) // 2
            out = analyze("top", self.trace, "--at", f"{mid}us")
            self.assertEqual(out["heap_bytes"], 1000 * (i + 1), f"at {mid} us")
            self.assertEqual(out["heap_blocks"], i + 1, f"at {mid} us")


class PrintedPrecision(unittest.TestCase):
    """Text output rounds times to the trace's resolution: a 26 us resolution
    prints four decimals of a second, a 10 ms one (old traces) two."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        p, cls.trace = record([target("tick_allocs")], "clock_print", flags=["-q"])
        assert p.returncode == 0, p.stderr
        cls.info = analyze("info", cls.trace)

    def decimals(self):
        unit, d = 1, 6
        while unit < self.info["time_resolution_us"]:
            unit, d = unit * 10, d - 1
        return d

    def test_info_prints_times_to_the_resolution(self):
        p = heaptrail("info", self.trace)
        out = p.stdout.decode()
        d = self.decimals()
        self.assertIn(f"times:        to {self.info['time_resolution_us']} us", out)
        m = re.search(r"^peak heap: .* at (\d+)\.(\d+)s$", out, re.M)
        self.assertIsNotNone(m, out)
        self.assertEqual(len(m.group(2)), d, out)
        unit = 10 ** (6 - d)
        want = (self.info["peak_time_us"] + unit // 2) // unit * unit
        self.assertEqual(int(m.group(1)) * 1000000 + int(m.group(2)) * unit, want)

    def test_top_header_and_timeline_use_the_same_digits(self):
        d = self.decimals()
        head = heaptrail("top", self.trace).stdout.decode().splitlines()[0]
        self.assertRegex(head, r"at peak \(\d+\.\d{%d}s\)" % d)
        tl = heaptrail("timeline", self.trace).stdout.decode()
        self.assertRegex(tl, r"peak \(#\) \S+ \S+ at \d+\.\d{%d}s;" % d)

    def test_json_keeps_integer_microseconds(self):
        self.assertIsInstance(self.info["peak_time_us"], int)
        self.assertIsInstance(self.info["time_resolution_us"], int)


if __name__ == "__main__":
    unittest.main()
