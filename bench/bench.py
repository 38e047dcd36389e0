#!/usr/bin/env python3
"""heaptrail benchmark driver: recorder and analyzer against heaptrack.

Called by scripts/bench.sh (which builds the workloads first); see the top of
that script for the knobs.  Standard library only.

For every workload, each round runs the program uninstrumented ("base"),
under `heaptrail record` and under heaptrack, in an order that rotates from
round to round, so that slow drifts of a shared machine hit all three
alike.  Every run gets a fresh output file, an address-space limit (the
machine is shared: a profiler that runs away dies instead of taking the
machine's memory) and a time limit.  Wall time comes from a monotonic clock
around fork..wait; peak RSS from wait4()'s rusage, which covers the process
and every descendant it reaped, i.e. the largest single process of the
tool's tree (for heaptrack that includes heaptrack_interpret and zstd).

Then the analyzers: `heaptrail info` + `heaptrail top` against
heaptrack_print's default report, on the traces of the last round.

Compression (`record --compress`): on a few workloads, pairs of heaptrail
runs without and with compression, the order alternating from pair to
pair: trace bytes (ratio), the writer thread's CPU and libzstd's share of
it (HEAPTRAIL_WRITERSTATS), and the program's wall time with / without.
`--compress-only` runs just that table.

Results: a text table on stdout, and OUT/bench.md (the same tables, in
Markdown) and OUT/bench.json (every raw sample).
"""
import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

TARGET_RATIO = 1.5        # heaptrail wall / uninstrumented wall
TARGET_REL = 0.3          # (heaptrail - 1) / (heaptrack - 1)
TARGET_PAIR_BYTES = 8.0   # trace bytes per malloc/free pair on churn
TARGET_ANALYZER = 3.0     # heaptrack_print time / heaptrail info+top time
TARGET_END_TO_END = 0.5   # (record + info + top) / (heaptrack + heaptrack_print)

# The parameterised churn (bench/sweep.c): a base point and one dimension
# changed at a time, so that no single shape can be tuned for.  Each row
# is (name, dimension changes); the base is mixed sizes, depth 5-30,
# 50 sites, 100k live blocks, random order, frame pointers.
SWEEP_BASE = {"sizes": "mixed", "depth": "mixed", "sites": 50, "live": 100000,
              "order": "random", "fp": True}
SWEEP = [("sw-base", {})] + [
    ("sw-%s-%s" % (dim, v if not isinstance(v, bool) else ("fp" if v else "nofp")), {dim: v})
    for dim, values in (("sizes", ["fixed", "classes", "heavy"]),
                        ("depth", ["shallow", "deep"]),
                        ("sites", [10, 500, 5000]),
                        ("live", [1000, 1000000]),
                        ("order", ["fifo", "lifo"]),
                        ("fp", [False]))
    for v in values]
SWEEP_DEPTHS = {"shallow": "3-6", "mixed": "5-30", "deep": "40-80"}


# The workloads of the compression table (the sweep rows: its base, the
# fixed-size and the many-live shapes).
COMPRESS_WORKLOADS = ("churn-fp", "threads", "python", "sw-base", "sw-sizes-fixed",
                      "sw-live-1000000")
COMPRESS_STATS = re.compile(r"writer thread cpu (\d+) us, zstd cpu (\d+) us, (\d+) bytes "
                            r"compressed to (\d+)")


def is_sweep(wname):
    return wname.startswith("sw-")


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    prod = 1.0
    for x in xs:
        prod *= x
    return prod ** (1.0 / len(xs))
# The workload also run under `python3 -X tracemalloc=25`: the cost of
# heaptrail's Python frames next to Python's own tracer, same script.
TRACEMALLOC_WORKLOAD = "python"

REL_DEFINITION = ("rel = (heaptrail ratio - 1) / (heaptrack ratio - 1): the time "
                  "heaptrail adds, as a fraction of the time heaptrack adds")


# A workload's extra env may carry this key: the CPUs (comma-separated) its
# runs are pinned to, every tool alike (not passed to the program).
CPUS_KEY = "_BENCH_CPUS"


def human_count(n):
    return "%dM" % (n // 1000000) if n >= 1000000 and n % 1000000 == 0 else (
        "%dk" % (n // 1000) if n >= 1000 and n % 1000 == 0 else str(n))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def event_counts(info):
    """{alloc, free, realloc} from `heaptrail info --json` (events.alloc etc.;
    plural key spellings accepted too)."""
    ev = info.get("events", {})
    if not isinstance(ev, dict):
        ev = {}
    out = {}
    for k in ("alloc", "free", "realloc"):
        v = ev.get(k, ev.get(k + "s"))
        if isinstance(v, dict):  # {"count": N, ...}
            v = v.get("count")
        out[k] = int(v) if isinstance(v, (int, float)) else None
    return out


class Run:
    """One timed execution of a command."""

    def __init__(self, argv, env, stdin_path, log_path, mem_mb, timeout):
        self.argv = argv
        self.env = env
        self.stdin_path = stdin_path
        self.log_path = log_path
        self.mem_mb = mem_mb
        self.timeout = timeout

    def go(self):
        """Returns (rc, wall seconds, peak RSS KiB, timed_out); self.cpu is
        set to the user+system CPU seconds of the whole process tree."""
        mem = self.mem_mb * 1024 * 1024

        cpus = self.env.get(CPUS_KEY)

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            if cpus:
                os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})

        stdin = open(self.stdin_path, "rb") if self.stdin_path else subprocess.DEVNULL
        out = open(self.log_path, "wb")
        try:
            t0 = time.perf_counter()
            env = {k: v for k, v in self.env.items() if k != CPUS_KEY}
            p = subprocess.Popen(self.argv, env=env, stdin=stdin, stdout=out,
                                 stderr=subprocess.STDOUT, preexec_fn=limit,
                                 start_new_session=True)
            timed_out = []

            def kill():
                timed_out.append(1)
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(self.timeout, kill)
            timer.start()
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            timer.cancel()
            self.cpu = ru.ru_utime + ru.ru_stime
            p.returncode = os.waitstatus_to_exitcode(status)
            # Leftover descendants (none expected) must not outlive the run.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return p.returncode, wall, ru.ru_maxrss, bool(timed_out)
        finally:
            out.close()
            if self.stdin_path:
                stdin.close()


def tail(path, n=5):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return " | ".join(lines[-n:])
    except OSError:
        return ""


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec, suffix="", none="n/a"):
    return none if x is None else format(x, spec) + suffix


class Bench:
    def __init__(self, a):
        self.a = a
        self.build = a.build
        self.bdir = os.path.join(a.build, "bench")
        self.out = a.out
        self.tmp = os.path.join(self.out, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.heaptrail = os.path.join(a.build, "heaptrail")
        self.have_heaptrail = (os.access(self.heaptrail, os.X_OK)
                               and os.path.exists(os.path.join(a.build, "libheaptrail.so")))
        self.have_heaptrack = shutil.which("heaptrack") is not None
        self.have_print = shutil.which("heaptrack_print") is not None
        self.results = {"rounds": a.rounds, "quick": a.quick, "workloads": {},
                        "analyzer": {}, "verify": {}, "started": time.strftime(
                            "%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("HEAPTRAIL_") and k != "LD_PRELOAD"}
        base_env["PYTHONHASHSEED"] = "0"
        base_env["LC_ALL"] = "C"
        self.env = base_env

    # -- workloads ------------------------------------------------------
    def workloads(self):
        q = self.a.quick
        ops = 1000000 if q else 4000000
        tops = 1500000 if q else 6000000
        b = self.bdir
        py_env = {"PYTHONMALLOC": "malloc"}
        ws = [
            # name, argv, extra env, stdin, heaptrack mode, note
            ("churn-fp", [os.path.join(b, "churn-fp"), "churn", str(ops)], {}, None, "raw",
             "1 thread, 50 call sites at depth 5-30, -fno-omit-frame-pointer"),
            ("churn-nofp", [os.path.join(b, "churn-nofp"), "churn", str(ops)], {}, None, "raw",
             "same, -fomit-frame-pointer"),
            # The writer thread shares the program's only core: what the
            # writer costs when there is no second core to hide it on.
            ("churn-fp-1cpu", [os.path.join(b, "churn-fp"), "churn", str(ops)], {CPUS_KEY: "0"}, None,
             "raw", "churn-fp with every run pinned to one CPU (sched_setaffinity): the writer "
             "thread and heaptrack's compressor share the program's core"),
            ("threads", [os.path.join(b, "churn-nofp"), "threads", str(tops)], {}, None, "raw",
             "8 threads: churn, realloc chains, cross-thread frees"),
            ("python", [self.a.python, os.path.join(self.a.src, "pywork.py"),
                        "2" if q else "8"], py_env, None, "full",
             "pure Python, PYTHONMALLOC=malloc"),
            # heaptrack sees native frames only; so does heaptrail with
            # Python frame capture off.  No heaptrack runs: same as "python".
            ("python-native", [self.a.python, os.path.join(self.a.src, "pywork.py"),
                               "2" if q else "8"], dict(py_env, HEAPTRAIL_PYTHON_FRAMES="0"), None,
             "none", "the python workload with HEAPTRAIL_PYTHON_FRAMES=0 (native frames only, "
             "like heaptrack); heaptrack not run again"),
            ("sqlite", ["sqlite3", ":memory:"], {}, os.path.join(b, "rows-quick.sql" if q else "rows.sql"),
             "full", "sqlite3 CLI: insert %s rows, 2 indexes" % ("50k" if q else "200k")),
            ("cxx-text", [os.path.join(b, "textproc"), "40000" if q else "150000"], {}, None, "full",
             "C++ text processing: std::string, std::vector, std::map, ostringstream "
             "(bench/textproc.cpp)"),
        ]
        ws += self.sweep_workloads()
        if self.a.only:
            keep = set(self.a.only.split(","))
            ws = [w for w in ws if w[0] in keep or ("sweep" in keep and is_sweep(w[0]))]
        return ws

    def sweep_workloads(self, ops=None):
        """The sweep's rows, as workloads() tuples (heaptrack -r: its
        interpreter runs out of memory on many (size, stack) pairs)."""
        if ops is None:
            ops = 1000000 if self.a.quick else 4000000
        ws = []
        for name, change in SWEEP:
            sh = dict(SWEEP_BASE, **change)
            exe = os.path.join(self.bdir, "sweep-fp" if sh["fp"] else "sweep-nofp")
            argv = [exe, sh["sizes"], sh["depth"], str(sh["sites"]), str(sh["live"]),
                    sh["order"], str(ops)]
            note = "sizes %s, depth %s, %d sites, %s live, %s order, %s" % (
                sh["sizes"], SWEEP_DEPTHS[sh["depth"]], sh["sites"], human_count(sh["live"]),
                sh["order"], "frame pointers" if sh["fp"] else "no frame pointers")
            ws.append((name, argv, {}, None, "raw", note))
        return ws

    def tool_argv(self, tool, argv, wname, hk_mode):
        if tool == "base":
            return argv
        if tool == "heaptrail":
            return [self.heaptrail, "record", "-q", "-o", self.trace_path(wname), "--"] + argv
        if tool == "heaptrack":
            pre = ["heaptrack"] + (["-r"] if hk_mode == "raw" else [])
            return pre + ["-o", os.path.join(self.tmp, wname + ".hk")] + argv
        if tool == "tracemalloc":
            # Python's own tracer, 25 frames deep, on the same script.
            return argv[:1] + ["-X", "tracemalloc=25"] + argv[1:]
        raise ValueError(tool)

    def trace_path(self, wname):
        return os.path.join(self.tmp, wname + ".htr")

    def hk_path(self, wname, hk_mode):
        return os.path.join(self.tmp, wname + (".hk.raw.zst" if hk_mode == "raw" else ".hk.zst"))

    def prepare(self, tool, wname):
        """Removes the previous run's output (heaptrail refuses to overwrite)."""
        for f in os.listdir(self.tmp):
            if f.startswith(wname + ".htr") and tool == "heaptrail":
                os.unlink(os.path.join(self.tmp, f))
            if f.startswith(wname + ".hk") and tool == "heaptrack":
                os.unlink(os.path.join(self.tmp, f))

    def run_once(self, tool, wname, argv, extra_env, stdin, hk_mode):
        self.prepare(tool, wname)
        env = dict(self.env)
        env.update(extra_env)
        logp = os.path.join(self.tmp, "%s.%s.log" % (wname, tool))
        r = Run(self.tool_argv(tool, argv, wname, hk_mode), env, stdin, logp,
                self.a.mem_mb, self.a.timeout)
        rc, wall, rss, to = r.go()
        cpu = r.cpu
        ok = rc == 0 and not to
        why = ""
        if to:
            why = "timed out after %ds" % self.a.timeout
        elif rc != 0:
            why = "exit %d: %s" % (rc, tail(logp))
        if ok and tool == "heaptrack":
            text = tail(logp, 40)
            if re.search(r"bad_alloc|terminate called|Killed", text):
                ok, why = False, "heaptrack reported: " + tail(logp, 3)
            elif not os.path.exists(self.hk_path(wname, hk_mode)):
                ok, why = False, "no heaptrack output file"
        if ok and tool == "heaptrail" and not os.path.exists(self.trace_path(wname)):
            ok, why = False, "no trace written"
        return {"ok": ok, "wall": wall, "cpu": cpu, "rss_kb": rss, "why": why, "log": logp}

    def measure(self):
        tools = ["base"]
        want = set((self.a.tools or "base,heaptrail,heaptrack,tracemalloc").split(","))
        if "heaptrail" not in want:
            self.have_heaptrail = False
        if "heaptrack" not in want:
            self.have_heaptrack = False
        if self.have_heaptrail:
            tools.append("heaptrail")
        else:
            log("bench: %s or libheaptrail.so missing (or heaptrail not selected): "
                "heaptrail columns will be empty" % self.heaptrail)
        if self.have_heaptrack:
            tools.append("heaptrack")
        else:
            log("bench: heaptrack not installed or not selected: heaptrack columns will be empty")
        if "tracemalloc" in want:
            tools.append("tracemalloc")
        for wname, argv, extra, stdin, hk_mode, note in self.workloads():
            res = {"argv": argv, "note": note, "heaptrack_mode": hk_mode,
                   "samples": {t: [] for t in tools}, "failed": {}}
            self.results["workloads"][wname] = res
            # Warm the page cache and the dynamic loader's files once.
            Run(argv, dict(self.env, **extra), stdin, os.path.join(self.tmp, "warmup.log"),
                self.a.mem_mb, self.a.timeout).go()
        for rnd in range(self.a.rounds):
            for wname, argv, extra, stdin, hk_mode, _ in self.workloads():
                res = self.results["workloads"][wname]
                order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
                line = []
                for tool in order:
                    if tool in res["failed"] or (tool == "heaptrack" and hk_mode == "none"):
                        continue
                    if tool == "tracemalloc" and wname != TRACEMALLOC_WORKLOAD:
                        continue
                    s = self.run_once(tool, wname, argv, extra, stdin, hk_mode)
                    s["round"] = rnd
                    if not s["ok"]:
                        res["failed"][tool] = s["why"]
                        log("bench: %s under %s FAILED: %s" % (wname, tool, s["why"]))
                        continue
                    res["samples"][tool].append(s)
                    line.append("%s %.2fs %dMB" % (tool, s["wall"], s["rss_kb"] // 1024))
                log("bench: round %d/%d %-10s %s" % (rnd + 1, self.a.rounds, wname, ", ".join(line)))
            # keep the last round's outputs for the analyzer comparison
        for wname, _, _, _, hk_mode, _ in self.workloads():
            res = self.results["workloads"][wname]
            self.summarize(wname, res, hk_mode)

    def heaptrail_info(self, path):
        try:
            p = subprocess.run([self.heaptrail, "info", "--json", path], capture_output=True,
                               timeout=300)
            if p.returncode != 0:
                return None, p.stderr.decode("utf-8", "replace").strip()
            return json.loads(p.stdout), ""
        except (subprocess.TimeoutExpired, ValueError) as e:
            return None, str(e)

    def summarize(self, wname, res, hk_mode):
        base = {s["round"]: s for s in res["samples"].get("base", [])}
        res["base_s"] = median([s["wall"] for s in base.values()])
        for tool in ("base", "heaptrail", "heaptrack", "tracemalloc"):
            ss = res["samples"].get(tool, [])
            res[tool + "_rss_mb"] = median([s["rss_kb"] / 1024 for s in ss])
            if tool == "base":
                continue
            ratios = [s["wall"] / base[s["round"]]["wall"] for s in ss if s["round"] in base]
            res[tool + "_ratio"] = median(ratios)
            res[tool + "_s"] = median([s["wall"] for s in ss])
            res[tool + "_cpu_ratio"] = median([s["cpu"] / base[s["round"]]["cpu"] for s in ss
                                               if s["round"] in base and base[s["round"]]["cpu"] > 0])
        a, k = res.get("heaptrail_ratio"), res.get("heaptrack_ratio")
        res["rel"] = (a - 1) / (k - 1) if a is not None and k is not None and k > 1 else None
        # trace size of the last heaptrail run
        tp = self.trace_path(wname)
        res["events"] = res["bytes_per_event"] = res["lost"] = None
        if res["samples"].get("heaptrail") and os.path.exists(tp):
            info, err = self.heaptrail_info(tp)
            res["trace_bytes"] = os.path.getsize(tp)
            if info is None:
                res["info_error"] = err
                log("bench: heaptrail info --json %s failed: %s" % (tp, err))
            else:
                counts = event_counts(info)
                n = sum(v or 0 for v in counts.values())
                res["events"] = n
                res["event_counts"] = counts
                res["lost"] = info.get("lost_events", info.get("lost"))
                if n:
                    res["bytes_per_event"] = res["trace_bytes"] / n
        hp = self.hk_path(wname, hk_mode)
        res["heaptrack_file_bytes"] = os.path.getsize(hp) if os.path.exists(hp) else None
        if res["samples"].get("heaptrack"):
            m = re.search(r"allocations:\s+(\d+)", tail(res["samples"]["heaptrack"][-1]["log"], 40))
            res["heaptrack_allocs"] = int(m.group(1)) if m else None

    # -- analyzers ------------------------------------------------------
    def analyzers(self):
        if not self.have_heaptrail:
            return
        for wname, _, extra, _, hk_mode, _ in self.workloads():
            tp = self.trace_path(wname)
            if is_sweep(wname) or CPUS_KEY in extra or not os.path.exists(tp):
                continue  # the sweep measures the recorder only
            hp = self.hk_path(wname, hk_mode)
            use_hk = hk_mode == "full" and self.have_print and os.path.exists(hp)
            r = {"heaptrail": [], "heaptrail_warm": [], "heaptrack_print": [], "failed": {}}
            self.results["analyzer"][wname] = r
            ht = [[self.heaptrail, "info", tp], [self.heaptrail, "top", tp]]
            for rnd in range(self.a.rounds):
                # "heaptrail" is the cold case: no index (TRACE.htri) yet, so
                # `info` replays the trace and writes the index, `top` reads
                # it.  "heaptrail_warm" repeats both with the index in place.
                jobs = [("heaptrack_print", [["heaptrack_print", hp]])] if use_hk else []
                trail = [("heaptrail", ht), ("heaptrail_warm", ht)]
                jobs = jobs + trail if rnd % 2 else trail + jobs
                for name, cmds in jobs:
                    if name in r["failed"]:
                        continue
                    if name == "heaptrail":
                        self.drop_index(tp)
                    total, rss = 0.0, 0
                    for c in cmds:
                        logp = os.path.join(self.tmp, "%s.%s.analyze.log" % (wname, name))
                        rc, wall, kb, to = Run(c, self.env, None, logp, self.a.mem_mb,
                                               self.a.timeout).go()
                        if rc != 0 or to:
                            r["failed"][name] = "%s: exit %d %s" % (" ".join(c[:2]), rc, tail(logp, 2))
                            log("bench: analyzer %s on %s FAILED: %s" % (name, wname, r["failed"][name]))
                            break
                        total += wall
                        rss = max(rss, kb)
                    else:
                        r[name].append({"wall": total, "rss_kb": rss})
            r["heaptrail_s"] = median([s["wall"] for s in r["heaptrail"]])
            r["heaptrail_rss_mb"] = median([s["rss_kb"] / 1024 for s in r["heaptrail"]])
            r["heaptrail_warm_s"] = median([s["wall"] for s in r["heaptrail_warm"]])
            r["heaptrack_print_s"] = median([s["wall"] for s in r["heaptrack_print"]])
            r["heaptrack_print_rss_mb"] = median([s["rss_kb"] / 1024 for s in r["heaptrack_print"]])
            r["speedup"] = (r["heaptrack_print_s"] / r["heaptrail_s"]
                            if r["heaptrail_s"] and r["heaptrack_print_s"] else None)
            r["speedup_warm"] = (r["heaptrack_print_s"] / r["heaptrail_warm_s"]
                                 if r["heaptrail_warm_s"] and r["heaptrack_print_s"] else None)
            r["heaptrack_note"] = ("" if use_hk else
                                   "heaptrack -r only"
                                   if hk_mode == "raw" else "no heaptrack data")
            log("bench: analyzer %-10s heaptrail %s s cold, %s s warm, heaptrack_print %s s" % (
                wname, fmt(r["heaptrail_s"], ".3f"), fmt(r["heaptrail_warm_s"], ".3f"),
                fmt(r["heaptrack_print_s"], ".3f")))

    def compression(self):
        """Plain and compressed heaptrail runs in interleaved pairs on
        COMPRESS_WORKLOADS (or --only): results["compression"]."""
        C = self.results["compression"] = {}
        ws = [w for w in self.workloads() if w[0] in COMPRESS_WORKLOADS or self.a.only]
        pairs = self.a.pairs
        for wname, argv, extra, stdin, _hk, _note in ws:
            runs = {"plain": [], "zstd": []}
            for i in range(pairs):
                order = ("plain", "zstd") if i % 2 == 0 else ("zstd", "plain")
                for mode in order:
                    tp = self.trace_path(wname)
                    stats = os.path.join(self.tmp, wname + ".writerstats")
                    for f in (tp, stats):
                        if os.path.exists(f):
                            os.unlink(f)
                    env = dict(self.env, **extra)
                    env["HEAPTRAIL_WRITERSTATS"] = stats
                    cmd = [self.heaptrail, "record", "-q", "-o", tp,
                           "--compress" if mode == "zstd" else "--no-compress", "--"] + argv
                    logp = os.path.join(self.tmp, "%s.compress-%s.log" % (wname, mode))
                    r = Run(cmd, env, stdin, logp, self.a.mem_mb, self.a.timeout)
                    rc, wall, _rss, to = r.go()
                    m = None
                    if os.path.exists(stats):
                        with open(stats) as f:
                            m = COMPRESS_STATS.search(f.read())
                    if rc != 0 or to or not m or not os.path.exists(tp):
                        log("bench: compression %s %s failed: %s" % (wname, mode, tail(logp)))
                        continue
                    runs[mode].append({"wall": wall, "cpu": r.cpu,
                                       "bytes": os.path.getsize(tp),
                                       "writer_s": int(m.group(1)) / 1e6,
                                       "zstd_s": int(m.group(2)) / 1e6,
                                       "raw_bytes": int(m.group(3))})
                log("bench: compression %s pair %d/%d done" % (wname, i + 1, pairs))
            P, Z = runs["plain"], runs["zstd"]
            n = min(len(P), len(Z))
            res = {"runs": runs}
            if n:
                res.update({
                    "plain_bytes": median([x["bytes"] for x in P]),
                    "zstd_bytes": median([x["bytes"] for x in Z]),
                    "writer_plain_s": median([x["writer_s"] for x in P]),
                    "writer_zstd_s": median([x["writer_s"] for x in Z]),
                    "zstd_s": median([x["zstd_s"] for x in Z]),
                    "wall_plain_s": median([x["wall"] for x in P]),
                    "wall_zstd_s": median([x["wall"] for x in Z]),
                    # Per pair, so that a slow moment of the machine hits
                    # both runs of a pair alike.
                    "wall_ratio": median([Z[k]["wall"] / P[k]["wall"] for k in range(n)]),
                    "cpu_ratio": median([Z[k]["cpu"] / P[k]["cpu"] for k in range(n)]),
                })
                res["ratio"] = res["plain_bytes"] / res["zstd_bytes"] if res["zstd_bytes"] else None
            C[wname] = res

    def compression_table(self):
        C = self.results.get("compression", {})
        t = [("workload", "trace MB plain / zstd", "ratio", "writer CPU s plain / zstd",
              "of it libzstd s", "program wall s plain / zstd", "wall zstd/plain (pairs)",
              "CPU zstd/plain")]
        for w, r in C.items():
            if "ratio" not in r:
                t.append((w, "FAILED", "", "", "", "", "", ""))
                continue
            t.append((w, "%.1f / %.1f" % (r["plain_bytes"] / 1e6, r["zstd_bytes"] / 1e6),
                      fmt(r["ratio"], ".2f", "x"),
                      "%.3f / %.3f" % (r["writer_plain_s"], r["writer_zstd_s"]),
                      "%.3f" % r["zstd_s"],
                      "%.2f / %.2f" % (r["wall_plain_s"], r["wall_zstd_s"]),
                      fmt(r["wall_ratio"], ".3f"), fmt(r["cpu_ratio"], ".3f")))
        return t

    def html_page(self):
        """The page of `heaptrail html` for the python workload's trace:
        its size and the time headless Chromium takes to make it
        interactive (bench/html_load.js; issue 13 asks for <= 5 MB and
        < 2 s)."""
        tp = self.trace_path("python")
        node_path = os.path.join(self.build, "npm", "node_modules")
        r = self.results["html"] = {}
        if not (self.have_heaptrail and os.path.exists(tp)):
            r["why"] = "no python trace"
            return
        if not (shutil.which("node") and os.path.isdir(node_path)):
            r["why"] = "no node or playwright-core (make html-test installs them)"
            return
        page = os.path.join(self.tmp, "python.html")
        t0 = time.time()
        p = subprocess.run([self.heaptrail, "html", tp, "-o", page], env=self.env,
                           capture_output=True, text=True, timeout=self.a.timeout)
        r["html_s"] = time.time() - t0
        if p.returncode != 0:
            r["why"] = "heaptrail html: " + p.stderr.strip()[-200:]
            return
        p = subprocess.run(["node", os.path.join(self.a.src, "html_load.js"), page, "3"],
                           env=dict(self.env, NODE_PATH=node_path), capture_output=True,
                           text=True, timeout=self.a.timeout)
        if p.returncode != 0:
            r["why"] = "html_load.js: " + p.stderr.strip()[-200:]
            return
        r.update(json.loads(p.stdout))
        log("bench: html page %.2f MB, interactive in %d ms" % (r["bytes"] / 1e6, r["ready_ms"]))

    def hyperfine_analyzers(self):
        """The analyzer comparison again, timed by hyperfine (its own runs,
        warmup and statistics), as a second opinion on analyzers()."""
        hf = shutil.which("hyperfine")
        if not hf or not self.have_heaptrail or not self.have_print:
            return
        for wname, _, _, _, hk_mode, _ in self.workloads():
            tp, hp = self.trace_path(wname), self.hk_path(wname, hk_mode)
            r = self.results["analyzer"].get(wname)
            if hk_mode != "full" or not r or not os.path.exists(tp) or not os.path.exists(hp):
                continue
            q = shlex.quote
            trail = "%s info %s >/dev/null && %s top %s >/dev/null" % (
                q(self.heaptrail), q(tp), q(self.heaptrail), q(tp))
            idx = tp[:-4] + ".htri" if tp.endswith(".htr") else tp + ".htri"
            out = os.path.join(self.tmp, "%s.hyperfine.json" % wname)
            # One --prepare per command: the cold one removes the index
            # before every run (warmup included); the warm one finds the
            # index the last cold run wrote.
            argv = [hf, "--style", "none", "--warmup", "1", "--runs", str(max(self.a.rounds, 3)),
                    "--export-json", out,
                    "--prepare", "rm -f %s" % q(idx), "-n", "heaptrail cold", trail,
                    "--prepare", "true", "-n", "heaptrail warm", trail,
                    "--prepare", "true", "-n", "heaptrack_print", "heaptrack_print %s >/dev/null" % q(hp)]
            logp = os.path.join(self.tmp, "%s.hyperfine.log" % wname)
            rc, _, _, to = Run(argv, self.env, None, logp, self.a.mem_mb,
                               self.a.timeout * 10).go()
            if rc != 0 or to:
                r["hyperfine"] = {"failed": "exit %d %s" % (rc, tail(logp, 2))}
                log("bench: hyperfine on %s FAILED: %s" % (wname, r["hyperfine"]["failed"]))
                continue
            with open(out) as f:
                res = {x["command"]: x for x in json.load(f)["results"]}
            h = {k: {"mean": v["mean"], "stddev": v.get("stddev"), "median": v.get("median")}
                 for k, v in res.items()}
            hp_s = h["heaptrack_print"]["mean"]
            h["speedup_cold"] = hp_s / h["heaptrail cold"]["mean"]
            h["speedup_warm"] = hp_s / h["heaptrail warm"]["mean"]
            r["hyperfine"] = h
            log("bench: hyperfine %-10s heaptrail %.3f s cold, %.3f s warm, heaptrack_print %.3f s" % (
                wname, h["heaptrail cold"]["mean"], h["heaptrail warm"]["mean"], hp_s))

    @staticmethod
    def drop_index(tp):
        """Removes the trace's index so the next command replays it (cold)."""
        idx = tp[:-4] + ".htri" if tp.endswith(".htr") else tp + ".htri"
        if os.path.exists(idx):
            os.unlink(idx)

    # -- unwind verification ------------------------------------------
    def verify(self):
        """Runs every workload once under HEAPTRAIL_UNWIND=verify.

        Contract (for the recorder): with HEAPTRAIL_UNWIND=verify the recorder
        unwinds every stack both ways (fast path and full libunwind) and
        reports the totals, either as one stderr line matching
          heaptrail: unwind verify: <N> stacks checked, <M> mismatches
        or in `heaptrail info --json` as {"unwind_verify": {"checked": N,
        "mismatches": M}}.  A recorder that reports neither is "not supported".
        """
        if not self.have_heaptrail:
            self.results["verify"]["status"] = "skipped: no heaptrail build"
            log("bench: verify skipped: no heaptrail build")
            return
        for wname, argv, extra, stdin, hk_mode, _ in self.workloads():
            if hk_mode == "none" or CPUS_KEY in extra:
                continue  # a variant of another workload
            if is_sweep(wname):
                # A quarter of the operations: every stack is checked
                # against libunwind, which is slow; the shapes are the same.
                argv = argv[:-1] + [str(max(int(argv[-1]) // 4, 1))]
            self.prepare("heaptrail", wname)
            env = dict(self.env, HEAPTRAIL_UNWIND="verify")
            env.update(extra)
            logp = os.path.join(self.tmp, wname + ".verify.log")
            rc, wall, _, to = Run([self.heaptrail, "record", "-o", self.trace_path(wname), "--"]
                                  + argv, env, stdin, logp, self.a.mem_mb, self.a.timeout).go()
            v = {"rc": rc, "wall": wall, "checked": None, "mismatches": None, "fallback": None}
            with open(logp, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            m = re.search(r"unwind verify:\s*(\d+)\s+stacks? checked,\s*(\d+)\s+mismatch", text)
            if m:
                v["checked"], v["mismatches"] = int(m.group(1)), int(m.group(2))
                f = re.search(r"unwind verify:.*?\((\d+) stacks? only libunwind", text)
                v["fallback"] = int(f.group(1)) if f else None
            elif rc == 0 and os.path.exists(self.trace_path(wname)):
                info, _ = self.heaptrail_info(self.trace_path(wname))
                uv = (info or {}).get("unwind_verify")
                if isinstance(uv, dict):
                    v["checked"], v["mismatches"] = uv.get("checked"), uv.get("mismatches")
            if rc != 0 or to:
                v["status"] = "run failed: " + tail(logp, 2)
            elif v["checked"] is None:
                v["status"] = "not supported by this recorder (no verify report)"
            else:
                v["status"] = "ok" if v["mismatches"] == 0 else "MISMATCHES"
            self.results["verify"][wname] = v
            log("bench: verify %-10s %s checked=%s mismatches=%s (%.2fs)" % (
                wname, v["status"], v["checked"], v["mismatches"], wall))

    # -- report ---------------------------------------------------------
    def targets(self):
        rows = []
        W = self.results["workloads"]
        A = self.results["analyzer"]

        def add(what, value, shown, limit_ok):
            verdict = "n/a" if value is None else ("PASS" if limit_ok(value) else "MISS")
            rows.append((what, shown, verdict))

        for w in ("churn-fp", "churn-nofp", "threads", "python"):
            if w in W:
                r = W[w]
                add("%s heaptrail <= %.1fx uninstrumented" % (w, TARGET_RATIO), r.get("heaptrail_ratio"),
                    fmt(r.get("heaptrail_ratio"), ".2f", "x"), lambda v: v <= TARGET_RATIO)
        S = self.sweep_summary()
        if "heaptrail_ratio" in S:
            v = S["heaptrail_ratio"]
            add("sweep: every shape heaptrail <= %.1fx uninstrumented (worst of %d; geometric mean %s)"
                % (TARGET_RATIO, v["rows"], fmt(v["geomean"], ".2f", "x")), v["worst"],
                "%s (%s)" % (fmt(v["worst"], ".2f", "x"), v["worst_row"]), lambda x: x <= TARGET_RATIO)
        for w, r in W.items():
            if is_sweep(w) or r.get("rel") is None:
                continue
            add("%s rel overhead vs heaptrack <= %.1f" % (w, TARGET_REL), r.get("rel"),
                fmt(r.get("rel"), ".3f"), lambda v: v <= TARGET_REL)
        if "rel" in S:
            v = S["rel"]
            add("sweep: every shape rel vs heaptrack -r <= %.1f (worst of %d; geometric mean %s)"
                % (TARGET_REL, v["rows"], fmt(v["geomean"], ".3f")), v["worst"],
                "%s (%s)" % (fmt(v["worst"], ".3f"), v["worst_row"]), lambda x: x <= TARGET_REL)
        for w in ("churn-fp", "churn-nofp"):
            if w in W:
                bpe = W[w].get("bytes_per_event")
                pair = 2 * bpe if bpe is not None else None
                add("%s trace <= %.0f bytes per malloc/free pair" % (w, TARGET_PAIR_BYTES), pair,
                    fmt(pair, ".2f", " B"), lambda v: v <= TARGET_PAIR_BYTES)
        for w, r in A.items():
            if r.get("heaptrack_print_s") is not None:
                add("%s analyzer >= %.0fx faster than heaptrack_print (cold: no index yet)"
                    % (w, TARGET_ANALYZER),
                    r.get("speedup"), fmt(r.get("speedup"), ".2f", "x"),
                    lambda v: v >= TARGET_ANALYZER)
                add("%s analyzer >= %.0fx faster than heaptrack_print (warm: index built)"
                    % (w, TARGET_ANALYZER),
                    r.get("speedup_warm"), fmt(r.get("speedup_warm"), ".2f", "x"),
                    lambda v: v >= TARGET_ANALYZER)
        for w, r in A.items():
            e2e = self.end_to_end(w)
            if e2e is not None:
                add("%s end to end (record + info + top) <= %.1f of heaptrack's (record + "
                    "heaptrack_print)" % (w, TARGET_END_TO_END), e2e, fmt(e2e, ".2f"),
                    lambda v: v <= TARGET_END_TO_END)
        return rows

    def end_to_end(self, w):
        """(heaptrail record + cold info + top) / (heaptrack + heaptrack_print),
        medians; None without heaptrack_print data."""
        r, a = self.results["workloads"].get(w, {}), self.results["analyzer"].get(w, {})
        parts = (r.get("heaptrail_s"), a.get("heaptrail_s"), r.get("heaptrack_s"),
                 a.get("heaptrack_print_s"))
        if None in parts or not parts[2] + parts[3]:
            return None
        return (parts[0] + parts[1]) / (parts[2] + parts[3])

    def tables(self):
        W = self.results["workloads"]
        A = self.results["analyzer"]
        t1 = [("workload", "base s", "heaptrail", "heaptrack", "rel",
               "CPU x trail/track", "RSS MB base/trail/track", "events", "B/event", "B/pair", "LOST")]
        for w, r in W.items():
            if is_sweep(w):
                continue  # in the sweep table
            mode = " (-r)" if r["heaptrack_mode"] == "raw" else ""
            hk = (fmt(r.get("heaptrack_ratio"), ".2f", "x") + mode
                  if "heaptrack" not in r["failed"] else "FAILED")
            if r["heaptrack_mode"] == "none":
                hk = "not run"
            ht = (fmt(r.get("heaptrail_ratio"), ".2f", "x")
                  if "heaptrail" not in r["failed"] else "FAILED")
            ev = r.get("events")
            bpe = r.get("bytes_per_event")
            t1.append((w, fmt(r.get("base_s"), ".2f"), ht, hk, fmt(r.get("rel"), ".3f"),
                       "%s/%s" % (fmt(r.get("heaptrail_cpu_ratio"), ".2f"),
                                  fmt(r.get("heaptrack_cpu_ratio"), ".2f")),
                       "%s/%s/%s" % (fmt(r.get("base_rss_mb"), ".0f"), fmt(r.get("heaptrail_rss_mb"), ".0f"),
                                     fmt(r.get("heaptrack_rss_mb"), ".0f")),
                       "%.2fM" % (ev / 1e6) if ev else "n/a",
                       fmt(bpe, ".2f"), fmt(2 * bpe if bpe else None, ".2f"),
                       "n/a" if r.get("lost") is None else str(r.get("lost"))))
        t2 = [("trace", "heaptrail info+top s cold / warm", "heaptrack_print s",
               "speedup cold / warm", "hyperfine: speedup cold / warm",
               "RSS MB trail/print", "trace MB .htr / heaptrack")]
        for w, r in A.items():
            hkb = W.get(w, {}).get("heaptrack_file_bytes")
            hkn = "" if not r.get("heaptrack_note") else " (" + r["heaptrack_note"] + ")"
            t2.append((w, "%s / %s" % (fmt(r.get("heaptrail_s"), ".3f"),
                                        fmt(r.get("heaptrail_warm_s"), ".3f")),
                       fmt(r.get("heaptrack_print_s"), ".3f") + hkn,
                       "%s / %s" % (fmt(r.get("speedup"), ".2f", "x"),
                                    fmt(r.get("speedup_warm"), ".2f", "x")),
                       "%s / %s" % (fmt(r.get("hyperfine", {}).get("speedup_cold"), ".2f", "x"),
                                    fmt(r.get("hyperfine", {}).get("speedup_warm"), ".2f", "x")),
                       "%s/%s" % (fmt(r.get("heaptrail_rss_mb"), ".0f"),
                                  fmt(r.get("heaptrack_print_rss_mb"), ".0f")),
                       "%s / %s" % (fmt(W.get(w, {}).get("trace_bytes", 0) / 1e6, ".1f"),
                                    fmt(hkb / 1e6 if hkb else None, ".1f"))))
        t3 = [("target", "measured", "verdict")] + self.targets()
        t4 = []
        V = {k: v for k, v in self.results["verify"].items() if isinstance(v, dict)}
        if V:
            t4 = [("workload", "HEAPTRAIL_UNWIND=verify", "stacks checked", "mismatches",
                   "only libunwind could unwind")]
            for w, v in V.items():
                t4.append((w, v["status"], fmt(v["checked"], "d"), fmt(v["mismatches"], "d"),
                           fmt(v.get("fallback"), "d")))
        return t1, t2, t3, t4, self.sweep_table()

    def sweep_summary(self):
        """{heaptrail, heaptrack, rel}: {geomean, worst, worst_row} over the
        sweep's rows (worst = highest ratio or rel)."""
        W = {w: r for w, r in self.results["workloads"].items() if is_sweep(w)}
        out = {}
        for key in ("heaptrail_ratio", "heaptrack_ratio", "rel"):
            vals = [(r.get(key), w) for w, r in W.items() if r.get(key) is not None]
            if not vals:
                continue
            worst = max(vals)
            out[key] = {"geomean": geomean([v for v, _ in vals]), "worst": worst[0],
                        "worst_row": worst[1], "rows": len(vals)}
        return out

    def sweep_table(self):
        W = {w: r for w, r in self.results["workloads"].items() if is_sweep(w)}
        if not W:
            return []
        t = [("shape (one change from sw-base)", "base s", "heaptrail", "heaptrack (-r)", "rel",
              "CPU x trail/track", "B/event", "LOST", "<= %.1fx" % TARGET_RATIO)]
        for w, r in W.items():
            ht = r.get("heaptrail_ratio")
            t.append((w, fmt(r.get("base_s"), ".2f"),
                      fmt(ht, ".2f", "x") if "heaptrail" not in r["failed"] else "FAILED",
                      fmt(r.get("heaptrack_ratio"), ".2f", "x")
                      if "heaptrack" not in r["failed"] else "FAILED",
                      fmt(r.get("rel"), ".3f"),
                      "%s/%s" % (fmt(r.get("heaptrail_cpu_ratio"), ".2f"),
                                 fmt(r.get("heaptrack_cpu_ratio"), ".2f")),
                      fmt(r.get("bytes_per_event"), ".2f"),
                      "n/a" if r.get("lost") is None else str(r.get("lost")),
                      "n/a" if ht is None else ("PASS" if ht <= TARGET_RATIO else "MISS")))
        S = self.sweep_summary()
        self.results["sweep_summary"] = S

        def cell(key, what):
            v = S.get(key, {})
            x = v.get(what)
            spec = ".3f" if key == "rel" else ".2f"
            txt = fmt(x, spec, "" if key == "rel" else "x")
            return txt + (" (%s)" % v["worst_row"] if what == "worst" and x is not None else "")

        t.append(("geometric mean", "", cell("heaptrail_ratio", "geomean"),
                  cell("heaptrack_ratio", "geomean"), cell("rel", "geomean"), "", "", "", ""))
        t.append(("worst case", "", cell("heaptrail_ratio", "worst"),
                  cell("heaptrack_ratio", "worst"), cell("rel", "worst"), "", "", "", ""))
        return t

    @staticmethod
    def text_table(rows):
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
        out = []
        for j, r in enumerate(rows):
            out.append("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())
            if j == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    @staticmethod
    def md_table(rows):
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        for r in rows[1:]:
            out.append("| " + " | ".join(str(c) for c in r) + " |")
        return "\n".join(out)

    def notes(self):
        W = self.results["workloads"]
        n = [
            "ratio = median over rounds of (tool wall time / uninstrumented wall time of the same round).",
            REL_DEFINITION + "; lower is better, 0.4 means heaptrail costs 40% of what heaptrack costs.",
            "heaptrack (-r) = `heaptrack -r`, raw recording only (its cheapest mode, still zstd-compressed "
            "by heaptrack's script): heaptrack 1.4's heaptrack_interpret runs out of memory (~19 GB) on "
            "workloads with many distinct (size, stack) pairs, so it is never run on these.",
            "heaptrack without (-r) = its default mode: recording plus heaptrack_interpret, which runs "
            "concurrently in a second process.",
            "CPU x = median of (user+system CPU seconds of the tool's whole process tree / "
            "the uninstrumented run's); less sensitive than wall time to a busy machine, and it "
            "counts work done on the second core (writer thread, heaptrack_interpret, zstd).",
            "RSS = peak resident set of the largest single process in the tool's process tree "
            "(heaptrack: the program, heaptrack_interpret or zstd).",
            "B/event = .htr file bytes (uncompressed, whole file: header, stacks, modules, events) / "
            "events.alloc+free+realloc from `heaptrail info --json`; B/pair = 2 x B/event.",
            "analyzer: `heaptrail info` + `heaptrail top` (sum) vs `heaptrack_print FILE` (default report) "
            "on the traces of the last round; heaptrack_print reads data heaptrack_interpret already "
            "aggregated during recording.  cold = the trace's index (TRACE.htri) removed first: "
            "`info` replays the whole trace and writes the index, `top` reads it; warm = both "
            "again with the index in place (repeated queries on one trace).",
            "hyperfine: the same three commands timed by hyperfine (1 warmup run, then as many "
            "runs as rounds, at least 3; its --prepare removes the index before each cold run); "
            "speedup = heaptrack_print mean / heaptrail mean.  A second opinion: the targets use "
            "the interleaved medians.",
            "every run: RLIMIT_AS %d MB, time limit %d s; %d round(s)%s." % (
                self.a.mem_mb, self.a.timeout, self.a.rounds, ", QUICK (smaller workloads)" if self.a.quick else ""),
        ]
        for w, r in W.items():
            for tool, why in r["failed"].items():
                n.append("%s under %s failed: %s" % (w, tool, why))
            n.append("%s: %s; `%s`" % (w, r["note"], " ".join(os.path.basename(x) if i == 0 else x
                                                                 for i, x in enumerate(r["argv"]))))
            if r.get("tracemalloc_ratio") is not None:
                n.append("%s: `python3 -X tracemalloc=25` on the same script: %s uninstrumented "
                         "(CPU %s), against heaptrail's %s (CPU %s)" % (
                             w, fmt(r.get("tracemalloc_ratio"), ".2f", "x"),
                             fmt(r.get("tracemalloc_cpu_ratio"), ".2f", "x"),
                             fmt(r.get("heaptrail_ratio"), ".2f", "x"),
                             fmt(r.get("heaptrail_cpu_ratio"), ".2f", "x")))
            if r.get("heaptrack_allocs") is not None and r.get("event_counts"):
                n.append("%s: allocations seen: heaptrail %s alloc + %s realloc, heaptrack %d" % (
                    w, r["event_counts"].get("alloc"), r["event_counts"].get("realloc"),
                    r["heaptrack_allocs"]))
        if self.results.get("long_running"):
            n.append("long-running: bench/server.c (requests with mixed-size buffers, a slowly "
                     "growing cache) for a fixed time in each mode, one run each, with "
                     "--snapshot-every 1; CPU/request = user+system CPU of the process tree "
                     "(writer thread included) / requests served; overhead = that against "
                     "base; throughput = requests served uninstrumented / recorded; "
                     "bytes/hour = trace bytes / seconds x 3600; analyzer = `info` + `top` "
                     "with HEAPTRAIL_NO_INDEX=1.")
        return n

    def commit(self):
        """Short commit of the source tree, + '-dirty' when tracked files differ."""
        root = os.path.dirname(self.a.src)
        try:
            sha = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
            dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "-uno"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        return (sha or "unknown") + ("-dirty" if sha and dirty else "")

    def report_compress(self):
        """Prints only the compression table (and keeps bench.md intact)."""
        t6 = self.compression_table()
        print("Compression (record --compress, zstd level 1; medians of %d pairs, commit %s)"
              % (self.a.pairs, self.commit()))
        print(self.text_table(t6))
        with open(os.path.join(self.out, "compress.json"), "w") as f:
            json.dump(self.results.get("compression", {}), f, indent=1, default=str)

    def report_verify(self):
        """Prints only the verification table (and keeps bench.md intact)."""
        t4 = self.tables()[3]
        if t4:
            print(self.text_table(t4))
        else:
            print("unwind verification: " + self.results["verify"].get("status", "nothing run"))
        with open(os.path.join(self.out, "verify.json"), "w") as f:
            json.dump(self.results["verify"], f, indent=1, default=str)

    def long_running(self):
        """The "Long-running" table: bench/longrun.py's three modes of
        bench/server.c for BENCH_LONG_SECONDS (default 60) each."""
        if self.a.only and "long-running" not in self.a.only.split(","):
            return
        sys.path.insert(0, self.a.src)
        import longrun
        secs = float(os.environ.get("BENCH_LONG_SECONDS", "30" if self.a.quick else "60"))
        rows, res = longrun.long_running(self.build, os.path.join(self.bdir, "server"), secs,
                                         self.tmp, log=log)
        self.results["long_running"] = res
        self.long_rows = rows

    def report(self):
        t1, t2, t3, t4, t5 = self.tables()
        host = os.uname()
        hdr = "heaptrail bench, %s, commit %s, %s %s, %d CPUs" % (
            self.results["started"], self.commit(), host.sysname, host.release, os.cpu_count() or 0)
        txt, md = [hdr, ""], ["### " + hdr, ""]
        if len(t1) > 1:
            txt += ["Recording overhead", self.text_table(t1), ""]
            md += ["Recording overhead", "", self.md_table(t1), ""]
        if len(t5) > 1:
            txt += ["Sweep (parameterised churn, bench/sweep.c)", self.text_table(t5), ""]
            md += ["Sweep (parameterised churn, bench/sweep.c)", "", self.md_table(t5), ""]
        t6 = self.compression_table()
        if len(t6) > 1:
            title = "Compression (record --compress, zstd level 1; medians of %d pairs)" % self.a.pairs
            txt += [title, self.text_table(t6), ""]
            md += [title, "", self.md_table(t6), ""]
        if len(t2) > 1:
            txt += ["Analyzer", self.text_table(t2), ""]
            md += ["Analyzer", "", self.md_table(t2), ""]
        H = self.results.get("html", {})
        if H:
            line = ("python trace: page %.2f MB (limit 5), interactive in %d ms (limit 2000), "
                    "written in %.1f s" % (H["bytes"] / 1e6, H["ready_ms"], H["html_s"])
                    if "ready_ms" in H else "not measured: " + H.get("why", "?"))
            txt += ["HTML page", "  " + line, ""]
            md += ["HTML page: " + line, ""]
        lr = getattr(self, "long_rows", None)
        if lr:
            R = self.results["long_running"]
            title = ("Long-running (bench/server.c for %g s, a snapshot every second; "
                     "overhead = CPU per request against base)" % R["seconds"])
            txt += [title, self.text_table(lr)]
            md += [title, "", self.md_table(lr)]
            if "aggregate_mb_per_hour_at_1m" in R:
                line = "aggregated trace at 1M events/s: %.1f MB/hour (target < %.0f MB): %s" % (
                    R["aggregate_mb_per_hour_at_1m"], longrun_target(),
                    "ok" if R["target_ok"] else "MISSED")
                txt += ["  " + line]
                md += ["", line]
            txt += [""]
            md += [""]
        if len(t3) > 1:
            txt += ["Targets", self.text_table(t3), ""]
            md += ["Targets", "", self.md_table(t3), ""]
        if t4:
            txt += ["Unwind verification", self.text_table(t4), ""]
            md += ["Unwind verification", "", self.md_table(t4), ""]
        notes = self.notes()
        txt += ["Notes"] + ["  - " + x for x in notes]
        md += ["Notes:", ""] + ["- " + x for x in notes]
        print("\n".join(txt))
        with open(os.path.join(self.out, "bench.md"), "w") as f:
            f.write("\n".join(md) + "\n")
        with open(os.path.join(self.out, "bench.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)
        log("bench: wrote %s and %s" % (os.path.join(self.out, "bench.md"),
                                       os.path.join(self.out, "bench.json")))


def longrun_target():
    import longrun
    return longrun.TARGET_AGG_MB_PER_HOUR


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="absolute build directory")
    ap.add_argument("--src", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", help="results directory (default BUILD/bench/results)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--verify", action="store_true", help="also run HEAPTRAIL_UNWIND=verify")
    ap.add_argument("--verify-only", action="store_true")
    ap.add_argument("--only", help="comma-separated workload names")
    ap.add_argument("--tools", help="comma-separated subset of base,heaptrail,heaptrack")
    ap.add_argument("--mem-mb", type=int, default=4096)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--keep", action="store_true", help="keep traces in OUT/tmp")
    ap.add_argument("--pairs", type=int, default=5,
                    help="plain/compressed pairs of the compression table")
    ap.add_argument("--compress-only", action="store_true",
                    help="only the compression table (with --only: those workloads)")
    a = ap.parse_args()
    a.out = a.out or os.path.join(a.build, "bench", "results")
    b = Bench(a)
    t0 = time.time()
    if a.compress_only:
        b.compression()
    elif not a.verify_only:
        b.measure()
        b.compression()
        b.analyzers()
        b.hyperfine_analyzers()
        b.html_page()
        b.long_running()
    if a.verify or a.verify_only:
        b.verify()
    b.results["seconds"] = round(time.time() - t0, 1)
    if a.verify_only:
        b.report_verify()
    elif a.compress_only:
        b.report_compress()
    else:
        b.report()
    if not a.keep:
        shutil.rmtree(b.tmp, ignore_errors=True)
    log("bench: done in %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
