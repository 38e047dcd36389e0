"""Python side of the heaptrail heap profiler.

    import heaptrail
    heaptrail.snapshot("after load")   # marks a snapshot in the trace
    heaptrail.recording()              # True while this process is recorded
    heaptrail.heap_bytes()             # live heap bytes (int), None when not recorded
    heaptrail.heap_peak()              # highest heap_bytes since the last reset
    heaptrail.heap_peak_reset()        # a new peak from here; True when recorded

All are no-ops (False or None) when the process does not run under
`heaptrail record` (libheaptrail.so not preloaded).  heap_bytes() and
heap_peak() count blocks at their malloc_usable_size (heaptrail.h).

`heaptrail record` also puts this directory on PYTHONPATH, where
sitecustomize.py calls _start() while Python starts up: that turns on
Python frames in the recorder.  On CPython 3.9 to 3.13 (release builds
with the GIL) the recorder then reads each thread's own interpreter frame
chain at every allocation and nothing in the program changes; elsewhere
(debug or free-threaded builds) it installs a C profile function in every
thread, present and future, which keeps a shadow stack of the Python
frames.  HEAPTRAIL_PYTHON_FRAMES=0 in the environment turns Python frames
off (allocations then carry native frames only);
HEAPTRAIL_PYTHON_FRAMES=profile forces the profile function.
"""

import sys

__all__ = ["snapshot", "recording", "heap_bytes", "heap_peak", "heap_peak_reset"]

_api = None  # ctypes.CDLL(None) when libheaptrail.so is loaded, else False
_started = False


def _lib():
    """The preloaded recorder's exported functions, or None."""
    global _api
    if _api is None:
        _api = False
        try:
            import ctypes
            lib = ctypes.CDLL(None)
            lib.heaptrail_snapshot_impl.argtypes = [ctypes.c_char_p]
            lib.heaptrail_snapshot_impl.restype = ctypes.c_int
            lib.heaptrail_recording_impl.argtypes = []
            lib.heaptrail_recording_impl.restype = ctypes.c_int
            for name in ("heaptrail_heap_bytes_impl", "heaptrail_heap_peak_impl"):
                getattr(lib, name).argtypes = []
                getattr(lib, name).restype = ctypes.c_longlong
            lib.heaptrail_heap_peak_reset_impl.argtypes = []
            lib.heaptrail_heap_peak_reset_impl.restype = ctypes.c_int
            _api = lib
        except (ImportError, OSError, AttributeError):
            pass
    return _api or None


def recording():
    """True when this process is being recorded by heaptrail."""
    lib = _lib()
    return bool(lib and lib.heaptrail_recording_impl() == 1)


def heap_bytes():
    """The process's live heap in bytes as the recorder counts it, or None
    when the process is not being recorded."""
    lib = _lib()
    v = lib.heaptrail_heap_bytes_impl() if lib else -1
    return v if v >= 0 else None


def heap_peak():
    """The highest heap_bytes() since the last heap_peak_reset() (or the
    start), or None when the process is not being recorded."""
    lib = _lib()
    v = lib.heaptrail_heap_peak_impl() if lib else -1
    return v if v >= 0 else None


def heap_peak_reset():
    """Starts a new peak at the current heap.  True when recorded."""
    lib = _lib()
    return bool(lib and lib.heaptrail_heap_peak_reset_impl() == 0)


def snapshot(label=None):
    """Marks a snapshot named `label` (str, at most 255 bytes kept) at this
    point of the trace.  Returns True when it was recorded, False when the
    process is not being recorded (then nothing happens)."""
    lib = _lib()
    if not lib:
        return False
    if label is not None:
        if not isinstance(label, (bytes, bytearray)):
            label = str(label).encode("utf-8", "replace")
        label = bytes(label).replace(b"\0", b" ")
    return lib.heaptrail_snapshot_impl(label) == 0


# ---- startup: install the profile function (called by sitecustomize) ----

def _py_funcs():
    """install/install_thread/stop from libheaptrail.so, called through
    PyDLL: the GIL stays held, which the C side relies on."""
    import ctypes
    lib = ctypes.PyDLL(None)
    inst = lib.heaptrail_py_install
    inst.argtypes = [ctypes.py_object]
    inst.restype = ctypes.c_int
    thr = lib.heaptrail_py_install_thread
    thr.argtypes = [ctypes.py_object]
    thr.restype = ctypes.c_int
    stop = lib.heaptrail_py_stop
    stop.argtypes = []
    stop.restype = None
    mode = lib.heaptrail_py_mode
    mode.argtypes = []
    mode.restype = ctypes.c_int
    return inst, thr, stop, mode


def _start():
    """Installs Python frame capture for this process.  Returns True when
    it is on.  Does nothing when not recorded."""
    global _started
    if _started:
        return True
    if not recording():
        return False
    try:
        inst, thr, stop, mode = _py_funcs()
    except (ImportError, OSError, AttributeError):
        return False
    import os
    if os.environ.get("HEAPTRAIL_PYTHON_FRAMES") == "0":
        _lib().heaptrail_py_optout()
        return False
    if inst(sys._getframe(1)) != 0:
        return False  # the recorder said why (stderr + WARNING record)
    _started = True

    if mode() == 1:
        # The profile function keeps the frames: threads started later
        # need it too.  (Mode 2, the recorder reads the interpreter's own
        # frame chain at each allocation, needs no hook at all.)
        def thread_hook(frame, event, arg):
            # First event of a thread started by `threading`: hand over
            # to the C profile function (it replaces this hook).
            thr(frame)

        import threading
        threading.setprofile(thread_hook)

    import atexit
    atexit.register(stop)

    if hasattr(os, "register_at_fork"):
        def after_fork():
            if not recording():
                stop()
                sys.setprofile(None)
                import threading
                threading.setprofile(None)
        os.register_at_fork(after_in_child=after_fork)
    return True
