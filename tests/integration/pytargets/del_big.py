"""memory_profiler's classic: a big list made on one line and deleted on
the next; `heaptrail lines` charges the free to the `del` line."""
import heaptrail
heaptrail.snapshot("start")
big = [0] * 10**6  # @site:make
heaptrail.snapshot("made")
del big  # @site:del
heaptrail.snapshot("deleted")
