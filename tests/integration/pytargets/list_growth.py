"""Appends to a list and prints the item-array size (sys.getsizeof minus
the empty-list header) after every resize, then marks snapshot "grown"."""
import sys
import heaptrail
HEADER = sys.getsizeof([])
steps = [0] * 64
n = 0
items = []
last = sys.getsizeof(items)
for i in range(2000):
    items.append(None)  # @site:append
    size = sys.getsizeof(items)
    if size != last:
        steps[n] = size - HEADER
        n += 1
        last = size
heaptrail.snapshot("grown")
print(" ".join(str(s) for s in steps[:n]))
