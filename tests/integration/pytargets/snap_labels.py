# Snapshots with str, non-ASCII, bytes and int labels around known work:
# the marks themselves must leave nothing of heaptrail's in the heap.
import heaptrail

heaptrail.snapshot("a")
rows = [bytes(1000) for _ in range(100)]
heaptrail.snapshot("b \u00e9t\u00e9")
more = [bytes(1000) for _ in range(100)]
heaptrail.snapshot(b"c")
heaptrail.snapshot(4)
print(heaptrail.heap_bytes() > 0, heaptrail.heap_peak() > 0, heaptrail.heap_peak_reset())
