"""Allocation patterns tracemalloc and heaptrail must agree on.

    python3 tm_agree.py heaptrail      marks snapshot "built" at the end
    python3 -X tracemalloc tm_agree.py tracemalloc
                                       prints statistics('lineno')[:10] as
                                       JSON lines {file, line, size, count}
"""
import json
import sys

MODE = sys.argv[1]
if MODE == "heaptrail":
    import heaptrail
else:
    import tracemalloc


class Plain:
    def __init__(self, i):
        self.i = i  # @site:plain_init
        self.name = "p"


class Slotted:
    __slots__ = ("i", "name")

    def __init__(self, i):
        self.i = i
        self.name = "s"


def build():
    ints = []
    for i in range(1000000):
        ints.append(i + 1000)  # @site:append
    d = {"key%d" % i: i for i in range(200000)}  # @site:dict
    plain = [Plain(i) for i in range(100000)]  # @site:plain
    slotted = [Slotted(i) for i in range(100000)]  # @site:slots
    parts = ["%06d" % i for i in range(100000)]  # @site:parts
    text = ",".join(parts)  # @site:join
    return ints, d, plain, slotted, parts, text


keep = build()
if MODE == "heaptrail":
    heaptrail.snapshot("built")
else:
    snap = tracemalloc.take_snapshot()
    for st in snap.statistics("lineno")[:10]:
        fr = st.traceback[0]
        print(json.dumps({"file": fr.filename, "line": fr.lineno,
                          "size": st.size, "count": st.count}))
