"""A sub-interpreter allocating under the recorder: Python frames come from
the main interpreter only (the sub-interpreter's allocations carry native
frames); the program runs as it does without heaptrail."""
try:
    import _xxsubinterpreters as si  # 3.11, 3.12
except ImportError:
    import _interpreters as si  # 3.13

import heaptrail


def main():
    interp = si.create()
    si.run_string(interp, "x = [bytes(1000) for _ in range(100)]\n"
                          "def f():\n"
                          "    return [str(n) for n in range(1000)]\n"
                          "y = f()\n")
    si.destroy(interp)
    keep = bytes(2345)  # @site:main
    heaptrail.snapshot("done")
    return keep


keep = main()
print("ok")
