"""heaptrail demo: where a Python program's list and dict memory goes.

Four phases, each marked with a snapshot when the heaptrail module is
available (it is when run under `heaptrail record`):
  1. a list grown one append at a time (CPython over-allocates: ~1/8 extra)
  2. a dict of strings (one allocation per string plus the dict's table)
  3. 20,000 objects without __slots__ (each has a __dict__)
  4. 20,000 objects with __slots__ (no per-object dict)
Run it under the recorder and compare the phases with `heaptrail diff`."""

def _snapshot_function():
    """heaptrail.snapshot when the module is there; else the recorder's C
    entry point through ctypes; else a no-op (not recording)."""
    try:
        import heaptrail
        return heaptrail.snapshot
    except (ImportError, AttributeError):
        pass
    try:
        import ctypes
        impl = ctypes.CDLL(None).heaptrail_snapshot_impl
        impl.argtypes = [ctypes.c_char_p]
        return lambda label: impl(label.encode())
    except (ImportError, OSError, AttributeError):
        return lambda label: -1


snapshot = _snapshot_function()


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class SlottedPoint:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def grow_list(n):
    items = []
    for i in range(n):
        items.append(i * 1.5)  # floats: one object each, plus the list's array
    return items


def dict_of_strings(n):
    return {f"key-{i}": "value " * (i % 16) + str(i) for i in range(n)}


def make_points(cls, n):
    return [cls(i, -i) for i in range(n)]


def main():
    snapshot("start")
    numbers = grow_list(100_000)
    snapshot("list")
    table = dict_of_strings(20_000)
    snapshot("dict")
    plain = make_points(Point, 20_000)
    snapshot("points")
    slotted = make_points(SlottedPoint, 20_000)
    snapshot("slotted")
    print(f"list of {len(numbers)} floats, dict of {len(table)} strings, "
          f"{len(plain)} points, {len(slotted)} slotted points")


if __name__ == "__main__":
    main()
