# heaptrail startup hook.  `heaptrail record` puts this directory first on
# PYTHONPATH, so Python's site module imports this file at startup.  It turns
# on Python frame capture (heaptrail._start), runs the sitecustomize this
# file shadows, if any (Debian ships one), so the program starts exactly as
# it would without heaptrail, and marks the end of start-up.
#
# Why a sitecustomize and not the recorder turning Python frames on by
# itself when it sees libpython: the only moments the recorder gets control
# are allocation hooks, and neither checking the interpreter's layout
# against the C API (CPython 3.9+, where the recorder then reads each
# thread's frame chain) nor PyEval_SetProfile (the fallback: a profile
# function keeping a shadow stack) is safe from inside malloc: they call
# Python, allocate, and may run while the interpreter is half way through
# changing a frame.  Here the GIL is held, the interpreter is in a normal
# state, and `threading.setprofile` covers threads started later when the
# profile function is used.  It does not run under python -I, -E or -S; the
# recorder then says so at exit (a message line + WARNING record).


def _say(text):
    """Where the recorder's own messages go (preload/msgfd.h): the
    wrapper's message file, else a terminal; never the program's stderr
    when that is a pipe or file (a test comparing it with b"" fails)."""
    import os
    import sys
    try:
        fd, fid = os.environ.get("HEAPTRAIL_MSG_FD"), os.environ.get("HEAPTRAIL_MSG_FD_ID")
        if fd and fid:
            st = os.fstat(int(fd))
            if "%d:%d" % (st.st_dev, st.st_ino) == fid:
                os.write(int(fd), text.encode(errors="replace"))
                return
        elif fd:
            os.write(int(fd), text.encode(errors="replace"))
            return
        if sys.stderr is not None and sys.stderr.isatty():
            sys.stderr.write(text)
    except (OSError, ValueError):
        pass


def _heaptrail_boot():
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        import heaptrail
        heaptrail._start()
    except Exception as e:  # never stop the program from starting
        if os.environ.get("HEAPTRAIL_QUIET") != "1":
            _say("heaptrail: Python frames not captured (%s: %s)"
                 "; showing native frames only\n" % (type(e).__name__, e))

    # Chain to the next sitecustomize on sys.path.
    import importlib.machinery
    import importlib.util
    rest = [p for p in sys.path
            if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        mod = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = mod
        spec.loader.exec_module(mod)
    if "heaptrail" in sys.modules:
        sys.modules["heaptrail"]._main_starts()


_heaptrail_boot()
del _heaptrail_boot
