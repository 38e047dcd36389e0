"""320 short threads in waves of 8 (shadow stacks are released and reused
as threads come and go); each keeps one bytes(1111) made in work()."""
import threading

import heaptrail

keep = [None] * 320


def work(i):
    keep[i] = bytes(1111)  # @site:churn


for wave in range(40):
    threads = [threading.Thread(target=work, args=(wave * 8 + k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
heaptrail.snapshot("done")
