"""A numpy array whose data buffer (8,000,000 bytes) is allocated by C
code called from one Python line."""
import numpy

import heaptrail


def load():
    return numpy.zeros(1000000)  # @site:zeros


arr = load()  # @site:load
heaptrail.snapshot("loaded")
print(arr.nbytes)
