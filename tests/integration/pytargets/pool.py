"""A multiprocessing pool (test_proctree): `pool.py METHOD WORKERS TASKS
SIZE` starts WORKERS workers with the METHOD start method (fork, spawn)
and runs TASKS tasks, one at a time; each keeps one SIZE-byte bytes object
made on the line marked @site:task until its worker exits, so the traces
of the workers hold TASKS blocks of SIZE + the empty bytes object's size
on that line (under one stack), at every worker's peak when SIZE is larger
than a worker's start-up (its import spike).  Prints that empty size."""
import multiprocessing
import sys
import time

keep = [None] * 1000  # the tasks' slots: no list growth on the task's line


def task(i):
    keep[i] = b"x" * SIZE  # @site:task (one malloc: no argument tuple)
    time.sleep(0.02)  # so that every worker gets some
    return i


SIZE = int(sys.argv[4]) if len(sys.argv) > 4 else 100000

if __name__ == "__main__":
    method, workers, tasks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(workers) as pool:
        done = pool.map(task, range(tasks), chunksize=1)
        pool.close()
        pool.join()
    assert done == list(range(tasks))
    print(sys.getsizeof(b""))
