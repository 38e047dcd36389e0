"""Objects of one kind, made between snapshots "before" and "made", for
`top --by type`: types.py KIND N [--tracemalloc].  Prints one JSON line:
what sys.getsizeof says of them and, with --tracemalloc (run without the
recorder), what tracemalloc counted between the two points."""
import gc
import json
import sys

import heaptrail


class Plain:
    def __init__(self, i):
        self.a = i
        self.b = i


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, i):
        self.a = i
        self.b = i


def make(kind, n):
    if kind == "ints":
        return list(range(1000, 1000 + n))
    if kind == "floats":
        return [float(i) + 0.5 for i in range(n)]
    if kind == "strs":
        return [str(i + 100000) for i in range(n)]
    if kind == "plain":
        return [Plain(i + 1000) for i in range(n)]
    if kind == "slotted":
        return [Slotted(i + 1000) for i in range(n)]
    if kind == "dict":
        return {i + 1000: None for i in range(n)}
    if kind == "numpy":
        import numpy
        return numpy.arange(n, dtype=numpy.int64)
    raise SystemExit("unknown kind " + kind)


kind, n = sys.argv[1], int(sys.argv[2])
tm = "--tracemalloc" in sys.argv
if kind == "numpy":
    import numpy  # noqa: F401  (its import is not the array's)
if tm:
    import tracemalloc
    tracemalloc.start()
    t0 = tracemalloc.take_snapshot()
# No collection between the points: it would free start-up objects of the
# same types and blur the counts.
gc.disable()
heaptrail.snapshot("before")
x = make(kind, n)  # @site:make
heaptrail.snapshot("made")
out = {"minor": sys.version_info[1], "container": sys.getsizeof(x),
       "empty_list": sys.getsizeof([])}
if kind in ("ints", "floats", "strs", "plain", "slotted"):
    out["element"] = sys.getsizeof(x[0])
    out["elements"] = sum(sys.getsizeof(e) for e in x)
if tm:
    t1 = tracemalloc.take_snapshot()
    diff = t1.compare_to(t0, "filename")
    here = [d for d in diff if d.traceback[0].filename == __file__]
    out["tracemalloc"] = sum(d.size_diff for d in here)
    out["tracemalloc_count"] = sum(d.count_diff for d in here)
print(json.dumps(out))
