"""Python frame shapes: deep recursion, a generator, an exception unwinding
through many frames (and a finally: in the middle of it), a thread pool, a
malloc made while the GIL is released (ctypes calls libc's malloc).
Every site allocates bytes objects of known sizes and keeps them until the
snapshot "done"; prints the size of an empty bytes object."""
import ctypes
import sys
from concurrent.futures import ThreadPoolExecutor

import heaptrail

keep = [None] * 100
sys.setrecursionlimit(5000)


def deep(n):
    if n == 0:
        return bytes(40000)  # @site:deep_leaf
    return deep(n - 1)  # @site:deep_call


def gen():
    for i in range(3):
        x = bytes(30000 + i)  # @site:gen
        yield x


def dive(n):
    if n == 0:
        raise KeyError(n)
    dive(n - 1)  # @site:dive


def middle():
    try:
        dive(60)  # @site:middle_call
    finally:
        keep[10] = bytes(33333)  # @site:finally


def work(i):
    x = bytes(20000 + i)  # @site:work
    return x


def nogil(libc):
    return libc.malloc(77777)  # @site:nogil


keep[0] = deep(1000)  # @site:deep_top
keep[1] = list(gen())  # @site:gen_top
try:
    middle()  # @site:middle_top
except KeyError:
    keep[11] = bytes(7777)  # @site:after_exc
with ThreadPoolExecutor(4) as ex:
    keep[2] = list(ex.map(work, range(8)))
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
keep[3] = nogil(libc)  # @site:nogil_top
heaptrail.snapshot("done")
print(sys.getsizeof(b""))
