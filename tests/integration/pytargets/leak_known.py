# A known leak for the leaked figures (info, check --max-leaked, report):
# 20 chunks of 50000 bytes, one block of 50033 bytes each (bytes header +
# data + NUL), kept in a module-level list until the program's own code is
# done.  A repeat, not bytes(50000): that call makes an argument tuple on
# the line too (3.13).
ZERO = b"\0"
KEEP = []

for i in range(20):
    chunk = ZERO * 50000  # @site:chunk
    KEEP.append(chunk)
