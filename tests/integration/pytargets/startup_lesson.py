# Like a tracemalloc lesson: a few data structures of known size, built by
# the script's own lines, much larger than what interpreter start-up left.
import gc

rows = [bytes(1000) for _ in range(4000)]  # @site:rows
table = {i: bytes(500) for i in range(4000)}  # @site:table
gc.collect()
