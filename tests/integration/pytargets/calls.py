"""Python calls and closures under the frame walk (CPython 3.11+).

`heaptrail record` must not change what the program allocates: 3000 calls
of a function that allocates nothing add no allocation (a profile function
would make a frame object per call).  A closure's cell is made when its
function is entered, before the function's first traceable instruction
(the frame is "incomplete"): like tracemalloc, heaptrail gives it to the
calling line, never to the function's `def` line.

Usage: calls.py N   (N calls)"""
import sys

import heaptrail


def nothing():
    return None


def make_closure():  # @site:closure_def
    items = []  # @site:closure_list
    def add(v):
        items.append(v)
    return add


def main(n):
    for _ in range(n):
        nothing()  # @site:call
    adders = []
    for _ in range(100):
        adders.append(make_closure())  # @site:closure_call
    heaptrail.snapshot("done")
    return adders


keep = main(int(sys.argv[1]))
sys.stdout.write("%d\n" % len(keep))
