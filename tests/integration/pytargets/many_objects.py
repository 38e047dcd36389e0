"""Builds a lot of small Python objects (with PYTHONMALLOC=malloc each one
is a malloc): 200000 (int, str, list) tuples, a 200000-key dict, 100000
bytes objects, about 1.4 million live blocks at the peak.  Prints its own
VmHWM (peak RSS, KiB) on stdout, for the recorder-memory test."""
import sys

data = []
for i in range(200000):
    data.append((i, str(i), [i]))
d = {str(i): i for i in range(200000)}
del data
s = [bytes(100) for _ in range(100000)]
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(line.split()[1])
