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

# The recorder of this process: the `_heaptrail` built-in module that
# libheaptrail.so registers before Python starts (no ctypes: nothing of
# heaptrail's is left in the program's heap), or, where Python was loaded
# after the recorder (an embedding program that dlopens libpython), the
# same entry points through ctypes.  None when not recorded: then every
# call below is a cheap no-op.
try:
    import _heaptrail as _api
except ImportError:
    _api = None

_started = False
_HT_SNAP_PY_MAIN = 4  # heaptrail_format.h
_HT_SNAP_PY_TEARDOWN = 5


class _Ctypes(object):
    """The _heaptrail functions through ctypes (the fallback above)."""

    def __init__(self):
        import ctypes
        lib = ctypes.PyDLL(None)  # GIL held: the py_* functions need it
        lib.heaptrail_recording_impl  # AttributeError: not loaded
        c = ctypes
        sig = {"heaptrail_snapshot_impl": ([c.c_char_p], c.c_int),
               "heaptrail_recording_impl": ([], c.c_int),
               "heaptrail_heap_bytes_impl": ([], c.c_longlong),
               "heaptrail_heap_peak_impl": ([], c.c_longlong),
               "heaptrail_heap_peak_reset_impl": ([], c.c_int),
               "heaptrail_py_install": ([c.py_object], c.c_int),
               "heaptrail_py_install_thread": ([c.py_object], c.c_int),
               "heaptrail_py_mode": ([], c.c_int),
               "heaptrail_py_optout": ([], None),
               "heaptrail_py_stop": ([], None)}
        for name, (args, res) in sig.items():
            f = getattr(lib, name)
            f.argtypes = args
            f.restype = res
        self._lib = lib

    def __getattr__(self, name):
        # The same results as _heaptrail's functions.
        lib = self._lib

        def counter(f):
            return lambda: (lambda v: v if v >= 0 else None)(f())

        def snap(label):
            if isinstance(label, str):
                label = label.encode("utf-8", "replace")
            if label is not None:
                label = bytes(label)[:255].replace(b"\0", b" ")
            return lib.heaptrail_snapshot_impl(label) == 0

        table = {"recording": lambda: lib.heaptrail_recording_impl() == 1,
                 "snapshot": snap,
                 "mark": lambda origin: -1,  # marks need _heaptrail
                 "heap_bytes": counter(lib.heaptrail_heap_bytes_impl),
                 "heap_peak": counter(lib.heaptrail_heap_peak_impl),
                 "heap_peak_reset": lambda: lib.heaptrail_heap_peak_reset_impl() == 0,
                 "py_install": lib.heaptrail_py_install,
                 "py_install_thread": lib.heaptrail_py_install_thread,
                 "py_mode": lib.heaptrail_py_mode,
                 "py_optout": lib.heaptrail_py_optout,
                 "py_stop": lib.heaptrail_py_stop}
        return table[name]


if _api is None:
    import os as _os
    if "libheaptrail" in _os.environ.get("LD_PRELOAD", ""):
        try:
            _api = _Ctypes()
        except (ImportError, OSError, AttributeError):
            _api = None
    del _os


def recording():
    """True when this process is being recorded by heaptrail."""
    return bool(_api is not None and _api.recording())


def heap_bytes():
    """The process's live heap in bytes as the recorder counts it, or None
    when the process is not being recorded."""
    return _api.heap_bytes() if _api is not None else None


def heap_peak():
    """The highest heap_bytes() since the last heap_peak_reset() (or the
    start), or None when the process is not being recorded."""
    return _api.heap_peak() if _api is not None else None


def heap_peak_reset():
    """Starts a new peak at the current heap.  True when recorded."""
    return bool(_api is not None and _api.heap_peak_reset())


def snapshot(label=None):
    """Marks a snapshot named `label` (str, at most 255 bytes kept) at this
    point of the trace.  Returns True when it was recorded, False when the
    process is not being recorded (then nothing happens)."""
    if _api is None:
        return False
    if label is not None and not isinstance(label, (str, bytes)):
        label = bytes(label) if isinstance(label, bytearray) else str(label)
    try:
        return bool(_api.snapshot(label))
    except UnicodeEncodeError:  # lone surrogates
        return bool(_api.snapshot(label.encode("utf-8", "replace")))


if _api is not None and not isinstance(_api, _Ctypes):
    # The recorder's own functions, called directly: no frame of this file
    # runs (and allocates, e.g. the int returned) in the program's heap.
    recording = _api.recording
    heap_bytes = _api.heap_bytes
    heap_peak = _api.heap_peak
    heap_peak_reset = _api.heap_peak_reset
    snapshot = _api.snapshot


# ---- startup (called by sitecustomize) ----

def _start():
    """Installs Python frame capture for this process and the teardown
    mark.  Returns True when frames are captured.  Does nothing when not
    recorded."""
    global _started
    if _started or not recording():
        return _started
    _started = True
    import atexit
    import os
    api = _api
    on = os.environ.get("HEAPTRAIL_PYTHON_FRAMES") != "0"
    if not on:
        api.py_optout()
    elif api.py_install(sys._getframe(1)) != 0:
        on = False  # the recorder said why (stderr + WARNING record)

    if on and api.py_mode() == 1:
        # The profile function keeps the frames: threads started later
        # need it too.  (Mode 2, the recorder reads the interpreter's own
        # frame chain at each allocation, needs no hook at all.)
        thr = api.py_install_thread

        def thread_hook(frame, event, arg):
            # First event of a thread started by `threading`: hand over
            # to the C profile function (it replaces this hook).
            thr(frame)

        import threading
        threading.setprofile(thread_hook)

    # atexit runs its handlers last registered first, and this runs
    # before the program registers any: the teardown mark comes after the
    # program's own handlers (and after threading joined the non-daemon
    # threads), before finalization frees modules; then frames stop.
    # os._exit and fatal signals skip it: the analyzer then says so.
    if on:
        atexit.register(api.py_stop)
    atexit.register(api.mark, _HT_SNAP_PY_TEARDOWN)

    if on and hasattr(os, "register_at_fork"):
        def after_fork():
            if not recording():
                api.py_stop()
                sys.setprofile(None)
                import threading
                threading.setprofile(None)
        os.register_at_fork(after_in_child=after_fork)
    return on


def _main_starts():
    """Marks the end of start-up (sitecustomize's last line): what is live
    now is the interpreter's start-up, heaptrail's own included."""
    if _started:
        _api.mark(_HT_SNAP_PY_MAIN)
