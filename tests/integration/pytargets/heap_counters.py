"""heaptrail.heap_bytes / heap_peak / heap_peak_reset from Python.  The
same steps run for a bytearray of 23 bytes and one of 1000007: its buffer
is one malloc of N + 1 bytes (3.9-3.13), so the interpreter's own
allocations around the calls cancel out in the difference of the two runs,
which is the difference of the buffers' usable sizes: 24 (malloc(24) on
glibc x86-64) and 1003504 (1000008 bytes, mmap'd: 1000016 rounded up to
pages, minus 16): 1003480.  Prints that difference for: live while held,
peak while held, live after del, peak after a reset (minus live)."""
import heaptrail


def measure(n):
    b0 = heaptrail.heap_bytes()
    heaptrail.heap_peak_reset()
    buf = bytearray(n)
    held = heaptrail.heap_bytes()
    peak = heaptrail.heap_peak()
    del buf
    after = heaptrail.heap_bytes()
    heaptrail.heap_peak_reset()
    reset = heaptrail.heap_peak() - heaptrail.heap_bytes()
    return [held - b0, peak - b0, after - b0, reset]


if heaptrail.heap_bytes() is None:
    print("off", heaptrail.heap_peak(), heaptrail.heap_peak_reset())
else:
    measure(23)  # warm-up: first-call allocations (ctypes, caches)
    small = measure(23)
    big = measure(1000007)
    print(*[b - s for b, s in zip(big, small)])
