"""test_live.py's Python program: hold() keeps 20 bytearrays of 100000
bytes (CPython mallocs 100001 bytes for each) while the program runs for
argv[1] seconds, allocating and dropping small lists meanwhile."""
import sys
import time

held = []


def hold():
    for _ in range(20):
        held.append(bytearray(100000))  # @site:hold


def churn():
    return [list(range(20)) for _ in range(50)]


hold()
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    churn()
    time.sleep(0.01)
