#!/usr/bin/env python3
"""Where the recorder's time goes, in instructions: runs sweep shapes
under callgrind (valgrind) uninstrumented and with libheaptrail.so
preloaded, ASLR off, and prints a Markdown table of the instructions per
allocation+free pair, split by the recorder's parts (program thread and
writer thread together; --separate-threads is not needed for the split,
since the parts run on known threads: unwind, stack ids, hooks on the
program's thread, encoder, address map and writer on the writer's).

Instruction counts repeat from run to run (wall time on a shared 2-core
VM does not), so this is the tool for comparing two builds of the
recorder.  Needs the sweep binaries that `make bench` builds.

Usage: bench/where.py BUILD_DIR [OPS]     (default OPS 300000; ~2 min)
"""
import os
import re
import subprocess
import sys

SHAPES = [  # (row of the bench's sweep, binary, arguments before OPS)
    ("sw-base", "fp", "mixed mixed 50 100000 random"),
    ("sw-sites-5000", "fp", "mixed mixed 5000 100000 random"),
    ("sw-depth-deep", "fp", "mixed deep 50 100000 random"),
    ("sw-depth-shallow", "fp", "mixed shallow 50 100000 random"),
    ("sw-fp-nofp", "nofp", "mixed mixed 50 100000 random"),
    ("sw-order-lifo", "fp", "mixed mixed 50 100000 lifo"),
]
LIVE = 100000  # the fill: every shape above allocates LIVE blocks first
GROUPS = [  # (column, source files)
    ("unwind: chain lookup, walk", r"unwind\.c|emmintrin\.h"),
    ("stack ids", r"stacks\.c|stackid\.c|pymemo"),
    ("hooks, ring, counters", r"hooks\.c|recorder\.c|heapcount|stackid\.h|ring\.h:recorder|registry|session|pyframes"),
    ("writer: encoder", r"encoder\.c|heaptrail_format\.h"),
    ("writer: address map", r"addrmap"),
    ("writer: drain, ring", r"writer\.c|ring\.[ch]:drain|ring\.c"),
]


def callgrind(argv, env, out):
    subprocess.run(["setarch", "-R", "valgrind", "--tool=callgrind",
                    "--callgrind-out-file=" + out] + argv, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    txt = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True).stdout
    m = re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", txt)
    if not m:
        sys.exit("where.py: callgrind failed on %s" % " ".join(argv))
    total = int(m.group(1).replace(",", ""))
    parts = {g: 0 for g, _ in GROUPS}
    for line in txt.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
        if not m:
            continue
        for g, pat in GROUPS:
            if re.search(pat, m.group(2)):
                parts[g] += int(m.group(1).replace(",", ""))
                break
    return total, parts


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 300000
    lib = os.path.join(build, "libheaptrail.so")
    tmp = os.path.join(build, "bench", "where")
    os.makedirs(tmp, exist_ok=True)
    print("| shape | base | recorded | added | " + " | ".join(g for g, _ in GROUPS) + " | rest |")
    print("|---|" + "---|" * (4 + len(GROUPS)))
    for name, v, shape in SHAPES:
        argv = [os.path.join(build, "bench", "sweep-" + v)] + shape.split() + [str(ops)]
        if not os.access(argv[0], os.X_OK):
            sys.exit("where.py: %s missing: run `make bench` (or BENCH_ONLY=sw-base) first" % argv[0])
        env = {k: val for k, val in os.environ.items() if not k.startswith("HEAPTRAIL_")}
        base, _ = callgrind(argv, env, os.path.join(tmp, name + ".base.cg"))
        trace = os.path.join(tmp, name + ".htr")
        for f in os.listdir(tmp):
            if f.startswith(name + ".htr"):
                os.unlink(os.path.join(tmp, f))
        env.update(LD_PRELOAD=lib, HEAPTRAIL_OUTPUT=trace)
        rec, parts = callgrind(argv, env, os.path.join(tmp, name + ".rec.cg"))
        pairs = ops + LIVE
        rest = rec - base - sum(parts.values())
        print("| %s | %.0f | %.0f | %.0f | %s | %.0f |" % (
            name, base / pairs, rec / pairs, (rec - base) / pairs,
            " | ".join("%.0f" % (parts[g] / pairs) for g, _ in GROUPS), rest / pairs))


if __name__ == "__main__":
    main()
