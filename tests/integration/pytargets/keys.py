"""One known Python allocation four calls deep (a 500000-byte bytearray,
kept until the snapshot "done"), plus whatever the interpreter allocates
with no Python frame on the stack (start-up, imports)."""
import heaptrail

keep = []


def work():
    keep.append(bytearray(500000))  # @site:work


def nest(n):
    if n == 0:
        work()  # @site:nest_leaf
        return
    nest(n - 1)  # @site:nest_call


nest(3)  # @site:top
heaptrail.snapshot("done")
