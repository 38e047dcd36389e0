"""Frees that alternate between six lines (more than the recorder's four
latest free sites): bufs[k] holds 50 bytearrays of 1000 + k bytes, and
line f<k> drops them one at a time, in turn with the other five lines.
`heaptrail lines` charges each line exactly its 50 objects and their 50
buffers."""
import heaptrail
bufs = [[bytearray(1000 + k) for _ in range(50)] for k in range(6)]  # @site:make
heaptrail.snapshot("made")
for i in range(50):
    bufs[0][i] = None  # @site:f0
    bufs[1][i] = None  # @site:f1
    bufs[2][i] = None  # @site:f2
    bufs[3][i] = None  # @site:f3
    bufs[4][i] = None  # @site:f4
    bufs[5][i] = None  # @site:f5
heaptrail.snapshot("freed")
