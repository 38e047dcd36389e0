"""Finds the recorder's public API by name through ctypes, as any FFI user
would (issue 18: only heaptrail_snapshot_impl was exported).  Prints the
return values of heaptrail_snapshot(b"ctypes") and heaptrail_recording(),
or "missing" when the names are not found."""
import ctypes

lib = ctypes.CDLL(None)
try:
    snap = lib.heaptrail_snapshot
    rec = lib.heaptrail_recording
except AttributeError:
    print("missing")
else:
    snap.argtypes = [ctypes.c_char_p]
    snap.restype = ctypes.c_int
    rec.argtypes = []
    rec.restype = ctypes.c_int
    print(snap(b"ctypes"), rec())
