"""attach_loop.py: a Python program for `heaptrail attach` (test_attach.py).

Prints "ready", then checks stdin every 0.05 s (select, so the main thread
returns to the interpreter's loop, where an attach installs Python frames).
While allocating ("go" .. "halt"), keeps one bytes(100000) per tick: one
block of 100033 bytes (header and data) whatever the allocator, on a line
of its own; "halt" prints how many it made since the last "go".  "thread"
has a thread started before any of this (so before an attach) keep 7
bytes(200000) and print "thread made 7".  "quit" ends it."""
import select
import sys
import threading

keep = []
made = 0
going = False
wake = threading.Event()


def worker():
    wake.wait()
    mine = []
    for _ in range(7):
        mine.append(bytes(200000))  # @line:attach_py_thread
    keep.extend(mine)
    print("thread made", len(mine), flush=True)


th = threading.Thread(target=worker)
th.start()
print("ready", flush=True)
while True:
    r, _, _ = select.select([sys.stdin], [], [], 0.05)
    if r:
        cmd = sys.stdin.readline().strip()
        if cmd == "go":
            going, made = True, 0
        elif cmd == "halt":
            going = False
            print("made", made, flush=True)
        elif cmd == "thread":
            wake.set()
            th.join()
        elif cmd in ("quit", ""):
            break
    if going:
        b = bytes(100000)  # @line:attach_py_alloc
        keep.append(b)
        made += 1
wake.set()
th.join()
print("kept", len(keep), flush=True)
