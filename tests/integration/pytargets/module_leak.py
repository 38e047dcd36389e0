# A leak into a module-level list: 30 chunks of bytes(100000), one block of
# 100033 bytes each (bytes header + data + NUL), kept until the program
# ends, with a snapshot after every 10.  At teardown they are live; the
# interpreter's finalization frees them.
import heaptrail

KEEP = []

for i in range(30):
    chunk = bytes(100000)  # @site:chunk
    KEEP.append(chunk)
    if i % 10 == 9:
        heaptrail.snapshot("after %d" % (i + 1))
