"""Two phases separated by heaptrail.snapshot(): phase 2 grows the heap by
200 bytes objects of 5000 bytes on one line; phase 1 by 100 of 1000."""
import heaptrail

keep = [None] * 1000


def phase1():
    for i in range(100):
        keep[i] = bytes(1000)  # @site:phase1


def phase2():
    for i in range(200):
        keep[100 + i] = bytes(5000)  # @site:phase2


phase1()
heaptrail.snapshot("after phase1")
phase2()
heaptrail.snapshot("after phase2")
print(heaptrail.recording())
