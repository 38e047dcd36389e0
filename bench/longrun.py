#!/usr/bin/env python3
"""The long-running benchmark (bench.py's "Long-running" table; also runs
on its own): bench/server.c, a server-like request loop at its full
allocation rate, for BENCH_LONG_SECONDS (default 60) with a snapshot every
second, uninstrumented, under `heaptrail record` (full trace) and under
`heaptrail record --aggregate`.  Reports trace bytes per hour, the
recorder's overhead (the loop runs for a fixed time, so the cost shows as
CPU time per request served, the recorder's writer thread included:
overhead = CPU/request recorded / CPU/request uninstrumented; the
throughput ratio is printed too) and the analyzer's time
(`info` + `top`, no trace index) on each trace.

  longrun.py --build ABS_BUILD [--server PATH] [--seconds S] [--out DIR]
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

TARGET_AGG_MB_PER_HOUR = 100.0   # at ~1M events/s


def run(argv, env=None):
    """(CompletedProcess-like, wall s, CPU s of the whole process tree)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return p, wall, cpu


def human(n):
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return "%.1f %s" % (n / div, unit)
    return "%d B" % n


def requests(out):
    m = re.search(rb"requests (\d+) allocations (\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def long_running(build, server, seconds, tmp, log=print):
    """Runs the three modes once each, returns (rows, results)."""
    ht = os.path.join(build, "heaptrail")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPTRAIL_")}
    env["HEAPTRAIL_NO_INDEX"] = "1"
    res = {"seconds": seconds}
    modes = [("base", None), ("full", []), ("aggregate", ["--aggregate"])]
    for name, flags in modes:
        log("bench: long-running %s, %g s" % (name, seconds))
        if flags is None:
            p, wall, cpu = run([server, str(seconds)], env)
            trace = None
        else:
            trace = os.path.join(tmp, "longrun-%s.htr" % name)
            if os.path.exists(trace):
                os.unlink(trace)
            p, wall, cpu = run([ht, "record", "-q", "--force", "-o", trace, "--snapshot-every", "1",
                           *flags, "--", server, str(seconds)], env)
        if p.returncode != 0:
            log("bench: long-running %s failed (%d): %s" % (name, p.returncode,
                                                            p.stderr.decode()[-300:]))
            res[name] = {"failed": p.returncode}
            continue
        nreq, nalloc = requests(p.stdout)
        r = {"wall_s": wall, "cpu_s": cpu, "requests": nreq, "allocations": nalloc,
             "events_per_s": 2 * nalloc / seconds,
             "cpu_per_request_us": cpu / nreq * 1e6 if nreq else None}
        if trace:
            size = os.path.getsize(trace)
            r["trace_bytes"] = size
            r["bytes_per_hour"] = size / seconds * 3600
            t = time.perf_counter()
            pi = subprocess.run([ht, "info", "--json", trace], stdout=subprocess.PIPE, env=env)
            pt = subprocess.run([ht, "top", trace], stdout=subprocess.DEVNULL, env=env)
            r["analyzer_s"] = time.perf_counter() - t
            if pi.returncode == 0 and pt.returncode == 0:
                info = json.loads(pi.stdout)
                r["events"] = info["events"]["alloc"] + info["events"]["free"] + \
                    info["events"]["realloc"]
                r["snapshots"] = len(info.get("snapshots", []))
                r["lost"] = info["lost_events"]
            os.unlink(trace)
        res[name] = r
    base = res.get("base", {})
    rows = [["mode", "events/s", "requests", "CPU/request", "overhead", "throughput", "trace",
             "bytes/hour", "snapshots", "analyzer"]]
    for name, _ in modes:
        r = res.get(name, {})
        if "requests" not in r:
            rows.append([name] + ["failed"] * 9)
            continue
        over = (r["cpu_per_request_us"] / base["cpu_per_request_us"]
                if base.get("cpu_per_request_us") and r["cpu_per_request_us"] else None)
        thr = base["requests"] / r["requests"] if base.get("requests") and r["requests"] else None
        r["overhead"] = over
        r["throughput_ratio"] = thr
        rows.append([
            name,
            "%.2fM" % (r["events_per_s"] / 1e6),
            str(r["requests"]),
            "%.1f us" % r["cpu_per_request_us"] if r["cpu_per_request_us"] else "n/a",
            "%.2fx" % over if over else "n/a",
            "%.2fx" % thr if thr else "n/a",
            "-" if "trace_bytes" not in r else human(r["trace_bytes"]),
            "-" if "bytes_per_hour" not in r else human(r["bytes_per_hour"]),
            str(r.get("snapshots", "-")),
            "-" if "analyzer_s" not in r else "%.2f s" % r["analyzer_s"],
        ])
    agg = res.get("aggregate", {})
    if "bytes_per_hour" in agg:
        # Scaled to 1M events/s, the target's rate.
        per_hour_1m = agg["bytes_per_hour"] / max(agg["events_per_s"], 1) * 1e6
        res["aggregate_mb_per_hour_at_1m"] = per_hour_1m / 1e6
        res["target_ok"] = per_hour_1m / 1e6 < TARGET_AGG_MB_PER_HOUR
    return rows, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--server", help="server binary (default BUILD/bench/server)")
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("BENCH_LONG_SECONDS", "60")))
    ap.add_argument("--out", help="scratch directory (default BUILD/bench/results/tmp)")
    a = ap.parse_args()
    server = a.server or os.path.join(a.build, "bench", "server")
    tmp = a.out or os.path.join(a.build, "bench", "results", "tmp")
    os.makedirs(tmp, exist_ok=True)
    rows, res = long_running(a.build, server, a.seconds, tmp,
                             log=lambda m: print(m, file=sys.stderr))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)))
    if "aggregate_mb_per_hour_at_1m" in res:
        print("aggregated at 1M events/s: %.1f MB/hour (target < %.0f): %s" % (
            res["aggregate_mb_per_hour_at_1m"], TARGET_AGG_MB_PER_HOUR,
            "ok" if res["target_ok"] else "MISSED"))


if __name__ == "__main__":
    main()
