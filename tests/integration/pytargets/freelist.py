"""Floats and tuples that CPython recycles from its free lists: each round
makes scratch objects and drops them (filling the free lists), then keeps
new ones made on another line, which take the recycled blocks first.
freelist.py ROUNDS [--tracemalloc]: with --tracemalloc (run without the
recorder) prints tracemalloc's statistics('lineno') for this file at the
"done" point as JSON {line: [count, bytes]}."""
import gc
import json
import sys

import heaptrail

rounds = int(sys.argv[1])
tm = "--tracemalloc" in sys.argv
if tm:
    import tracemalloc
    tracemalloc.start()
gc.disable()
keep_f = []
keep_t = []


def scratch(n):
    tmp = [i * 1.5 for i in range(n)]  # @site:scratch_floats
    pairs = [(i, i + 1) for i in range(n)]  # @site:scratch_tuples
    del tmp, pairs


for r in range(rounds):
    scratch(300)
    keep_f.extend([i + 0.25 for i in range(200)])  # @site:keep_floats
    keep_t.extend([(r, i) for i in range(200)])  # @site:keep_tuples

heaptrail.snapshot("done")
if tm:
    snap = tracemalloc.take_snapshot()
    out = {}
    for st in snap.statistics("lineno"):
        fr = st.traceback[0]
        if fr.filename == __file__:
            out[fr.lineno] = [st.count, st.size]
    print(json.dumps(out))
