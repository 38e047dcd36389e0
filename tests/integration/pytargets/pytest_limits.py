# Run by test_python_end.PytestPlugin as `pytest --heaptrail` under the
# recorder: one test over its limit_memory, one under it, one leaking past
# its limit_leaks, and one plain test of known peak and leak.
import pytest

LEAK = []


@pytest.mark.limit_memory("24 MB")
def test_big_allocation_over_the_limit():
    data = bytearray(40 * 1000 * 1000)
    del data


@pytest.mark.limit_memory("24 MB")
def test_small_allocation_under_the_limit():
    data = bytearray(10 * 1000 * 1000)
    del data


@pytest.mark.limit_leaks("1 MB")
def test_leaking_two_megabytes():
    LEAK.append(bytearray(2 * 1000 * 1000))


def test_known_peak_and_leak():
    tmp = bytearray(8 * 1000 * 1000)
    del tmp
    LEAK.append(bytearray(3 * 1000 * 1000))
