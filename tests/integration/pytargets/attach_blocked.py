"""attach_blocked.py: a Python program whose main thread waits in
readline (a C call: no bytecode runs) between the lines test_attach.py
sends; each line keeps one bytes(100000) (a 100033-byte block) and prints
how many it keeps.  Ends when stdin closes."""
import sys

print("ready", flush=True)
keep = []
for line in sys.stdin:
    keep.append(bytes(100000))  # @line:attach_py_alloc
    print("tick", len(keep), flush=True)
