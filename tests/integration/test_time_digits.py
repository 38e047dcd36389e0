"""Times in the HTML page and in the exports show only the precision the
trace's clock has, rounded as the text reports round them (fmt_seconds):
the page's marks, peak and points carry the text's own strings and the
decimals for the times the page makes itself; massif's time= is rounded to
the millisecond (to the resolution when that is coarser), not cut; pprof's
duration is the run time at the resolution.

Bug (issue 12): the page printed every time with three decimals (a 26 us
clock has four, a 10 ms one two), massif cut times to the millisecond
below, and pprof claimed the run time to the nanosecond.

The coarse case is the same trace with its CLOCK record saying 2 ms (so
two decimals, 10 ms units): the times must then all be multiples of 10 ms,
which a cut or a finer print almost never gives by chance."""

import gzip
import json
import re
import unittest

from helpers import analyze, decode_events, heaptrail, record, require_tools, \
    target, trace_path


REC_CLOCK = 15  # include/heaptrail_format.h


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def with_resolution(src, dst, ns):
    """A copy of trace src whose CLOCK record states ns (same varint
    length as the one it replaces, so nothing else moves)."""
    body = next(ev[2] for ev in decode_events(src) if ev[0] == "record" and ev[1] == REC_CLOCK)
    new = varint(ns)
    assert len(new) == len(body), (body, new)
    with open(src, "rb") as f:
        data = f.read()
    old = bytes([REC_CLOCK << 3 | 7, len(body)]) + body
    assert data.count(old) == 1, "the CLOCK record is not unique in the file"
    with open(dst, "wb") as f:
        f.write(data.replace(old, bytes([REC_CLOCK << 3 | 7, len(body)]) + new))


def unit_us(resolution_us):
    """The power of ten (us) that text reports round to, and its decimals."""
    unit, d = 1, 6
    while unit < resolution_us and d > 0:
        unit, d = unit * 10, d - 1
    return unit, d


def rounded(us, unit):
    return (us + unit // 2) // unit * unit


def seconds(us, resolution_us):
    unit, d = unit_us(resolution_us)
    r = rounded(us, unit)
    if not d:
        return f"{r // 1000000}s"
    return f"{r // 1000000}.{r % 1000000:06d}"[:len(str(r // 1000000)) + 1 + d] + "s"


def page_data(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'<script id="heaptrail-data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "no data element"
    return json.loads(m.group(1))


def pb_fields(buf):
    """Top-level (field, value) pairs of a protobuf message: varints as
    ints, length-delimited fields as bytes."""
    pos, out = 0, []

    def vi():
        nonlocal pos
        v = shift = 0
        while True:
            b = buf[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v
            shift += 7

    while pos < len(buf):
        key = vi()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out.append((field, vi()))
        elif wire == 2:
            n = vi()
            out.append((field, buf[pos:pos + n]))
            pos += n
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"wire type {wire}")
    return out


class TimeDigits:
    """Run for the recorded trace (fine clock) and its coarse copy."""
    coarse = False

    @classmethod
    def setUpClass(cls):
        require_tools()
        p, fine = record([target("export_mix")], f"time_digits_{int(cls.coarse)}", flags=["-q"])
        assert p.returncode == 0, p.stderr
        cls.trace = fine
        if cls.coarse:
            cls.trace = trace_path("time_digits_coarse")
            with_resolution(fine, cls.trace, 2000000)
        cls.info = analyze("info", cls.trace)
        cls.res = cls.info["time_resolution_us"]
        cls.snaps = analyze("snapshots", cls.trace)["snapshots"]

    def export(self, fmt):
        out = trace_path(f"time_digits_{self.coarse}_{fmt}", ".out")
        p = heaptrail("export", self.trace, "--format", fmt, "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        return out

    def test_the_resolution_is_the_one_the_trace_states(self):
        if self.coarse:
            self.assertEqual(self.res, 2000)
        else:
            self.assertLess(self.res, 1000)

    def test_html_prints_the_times_text_reports_print(self):
        out = trace_path(f"time_digits_{self.coarse}", ".html")
        p = heaptrail("html", self.trace, "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        d = page_data(out)
        unit, dec = unit_us(self.res)
        self.assertEqual(d["time_resolution_us"], self.res)
        self.assertEqual(d["time_decimals"], dec)
        # The peak as `info` prints it.
        text = heaptrail("info", self.trace).stdout.decode()
        m = re.search(r"^peak heap: .* at (\S+)$", text, re.M)
        self.assertEqual(d["peak"]["time"], m.group(1), text)
        self.assertEqual(d["peak"]["time"], seconds(self.info["peak_time_us"], self.res))
        # The marks as `snapshots` prints them.
        table = heaptrail("snapshots", self.trace).stdout.decode()
        self.assertEqual([m["time"] for m in d["marks"]],
                         re.findall(r"^\s+\d+\s+\S+\s+\S+\s+(\S+s)\s", table, re.M), table)
        self.assertEqual(len(d["marks"]), 3)
        for p in d["points"]:
            self.assertEqual(p["time"], seconds(p["time_us"], self.res), p["name"])
            self.assertRegex(p["time"], r"^\d+\.\d{%d}s$" % dec if dec else r"^\d+s$")
            if p["name"].startswith("time "):
                # The page's evenly spaced times are on the clock's digits.
                self.assertEqual(p["time_us"] % unit, 0, p["name"])
                self.assertRegex(p["name"], r"^time \d+(\.\d{1,%d})?s$" % dec, p["name"])

    def test_massif_rounds_to_the_millisecond_or_the_resolution(self):
        with open(self.export("massif")) as f:
            times = [int(t) for t in re.findall(r"^time=(\d+)$", f.read(), re.M)]
        unit = max(unit_us(self.res)[0], 1000)
        # The marks and the peak (placed before the first mark not earlier).
        want = sorted([rounded(s["time_us"], unit) // 1000 for s in self.snaps] +
                      [rounded(self.info["peak_time_us"], unit) // 1000])
        self.assertEqual(times, want)
        if self.coarse:
            self.assertTrue(all(t % 10 == 0 for t in times), times)

    def test_pprof_duration_is_the_run_time_at_the_resolution(self):
        with gzip.open(self.export("pprof")) as f:
            fields = dict((k, v) for k, v in pb_fields(f.read()) if k in (9, 10))
        unit = unit_us(self.res)[0]
        self.assertEqual(fields[10], rounded(self.info["duration_us"], unit) * 1000)
        self.assertEqual(fields[10] % (unit * 1000), 0)


class FineClock(TimeDigits, unittest.TestCase):
    coarse = False


class CoarseClock(TimeDigits, unittest.TestCase):
    coarse = True


if __name__ == "__main__":
    unittest.main()
