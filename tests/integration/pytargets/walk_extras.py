"""Python frames that only the frame walk (CPython 3.11+) can give: a
thread started with _thread.start_new_thread (no threading hook runs in
it) and code running under the program's own profile function."""
import _thread
import sys
import threading

import heaptrail

keep = [None, None]


def work(done):
    keep[0] = bytes(4321)  # @site:raw_thread
    done.release()


def profiled():
    return bytes(5432)  # @site:profiled


done = threading.Lock()
done.acquire()
_thread.start_new_thread(work, (done,))
done.acquire()

sys.setprofile(lambda frame, event, arg: None)
keep[1] = profiled()  # @site:profiled_call
sys.setprofile(None)
heaptrail.snapshot("done")
sys.stdout.write("%d\n" % sys.getsizeof(b""))
