"""One allocation of a known size two Python frames deep, for every CPython
version: bytes(123456) in f() called from <module>."""
import sys

import heaptrail


def f():
    return bytes(123456)  # @site:f


x = f()  # @site:call
heaptrail.snapshot("made")
sys.stdout.write("%d %d\n" % (sys.version_info[1], sys.getsizeof(x)))
