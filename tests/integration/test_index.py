"""The trace index (TRACE.htri): on real traces every command prints exactly
what the full replay prints, whether it builds the index (cold) or reads it
(warm); a stale or damaged index is rebuilt; HEAPTRAIL_NO_INDEX=1 writes
none; an unwritable trace directory puts it in the cache directory."""

import os
import shutil
import sys
import unittest

from helpers import heaptrail, record, require_tools, scratch_dir, target

HERE = os.path.dirname(os.path.abspath(__file__))

# Every command form that may use the index, plus some that replay anyway
# (they write the index too, and must be unaffected by it).
FORMS = [
    ("info",), ("info", "--json"),
    ("snapshots",), ("snapshots", "--json"),
    ("top",), ("top", "--json", "-n", "0"), ("top", "--at", "peak"),
    ("top", "--at", "peak", "--json", "--by", "traceback"),
    ("top", "--temporary"), ("top", "--by", "filename", "--cumulative"),
    ("top", "--frames", "native", "-n", "3"),
    ("top", "--at", "end", "--include", "*leaks*"),
    ("top", "--at", "0"), ("leaks", "-n", "3"), ("growth", "-n", "3"),
    ("diff", "--from", "peak"), ("diff", "--from", "peak", "--json", "--by", "filename"),
    ("diff", "--from", "0", "-n", "3"),
]

NO_INDEX = {"HEAPTRAIL_NO_INDEX": "1"}


def sidecar(path):
    return path[:-4] + ".htri" if path.endswith(".htr") else path + ".htri"


class Index(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.dir = scratch_dir("index")
        cls.traces = {}
        p, path = record([target("leaks")], None, flags=["-q"],
                         output=os.path.join(cls.dir, "leaks.htr"))
        cls.traces["leaks"] = path
        p, path = record([target("snapshots")], None, flags=["-q"],
                         output=os.path.join(cls.dir, "snapshots.htr"))
        cls.traces["snapshots"] = path
        p, path = record([target("exec_chain"), "self"], None, flags=["-q"],
                         output=os.path.join(cls.dir, "exec.htr"))
        cls.traces["exec"] = path
        python = shutil.which("python3") or sys.executable
        p, path = record([python, os.path.join(HERE, "pytargets", "snap_phases.py")], None,
                         flags=["-q"], output=os.path.join(cls.dir, "py.htr"))
        cls.traces["python"] = path

    def out(self, form, path, env=None):
        p = heaptrail(*form, path, env=env)
        return (p.returncode, p.stdout, p.stderr)

    def test_cold_and_warm_equal_the_replay(self):
        for name, path in self.traces.items():
            for form in FORMS:
                with self.subTest(trace=name, form=" ".join(form)):
                    idx = sidecar(path)
                    if os.path.exists(idx):
                        os.unlink(idx)
                    full = self.out(form, path, NO_INDEX)
                    self.assertEqual(full[0], 0, full[2])
                    self.assertFalse(os.path.exists(idx), "HEAPTRAIL_NO_INDEX wrote an index")
                    cold = self.out(form, path)
                    self.assertTrue(os.path.exists(idx), "the first command wrote no index")
                    warm = self.out(form, path)
                    self.assertEqual(cold, full)
                    # The one-time notices (exec'd images, a module without
                    # debug info) were shown by the cold run, and the index
                    # remembers them; `info` shows them every time.
                    def drop(text, notice):
                        return b"".join(l for l in text.splitlines(True) if notice not in l)
                    want = full
                    if form[0] != "info":
                        want = (full[0], drop(full[1], b"note: the program exec'd"),
                                drop(full[2], b": no debug info ("))
                    self.assertEqual(warm, want)

    def test_two_thread_replay_equals_one_thread(self):
        # Traces of 4 MiB and more are decoded on a second thread; these
        # small ones are made to, and must print the same.
        one = dict(NO_INDEX, HEAPTRAIL_REPLAY_THREADS="1")
        two = dict(NO_INDEX, HEAPTRAIL_REPLAY_THREADS="2")
        for name, path in self.traces.items():
            for form in FORMS:
                with self.subTest(trace=name, form=" ".join(form)):
                    want = self.out(form, path, one)
                    self.assertEqual(want[0], 0, want[2])
                    self.assertEqual(self.out(form, path, two), want)

    def test_damaged_or_stale_index_is_rebuilt(self):
        path = self.traces["snapshots"]
        idx = sidecar(path)
        want = self.out(("info",), path, NO_INDEX)
        self.out(("info",), path)
        with open(idx, "rb") as f:
            good = f.read()
        for damage in (b"", good[:len(good) // 2], b"x" * len(good),
                       good[:-1] + bytes([good[-1] ^ 1])):
            with open(idx, "wb") as f:
                f.write(damage)
            self.assertEqual(self.out(("info",), path), want)
            with open(idx, "rb") as f:
                self.assertEqual(f.read(), good, "the index was not rebuilt")
        # An index of another trace under this trace's sidecar name.
        other = self.traces["leaks"]
        self.out(("info",), other)
        shutil.copy(sidecar(other), idx)
        self.assertEqual(self.out(("info",), path), want)
        self.assertEqual(self.out(("top", "--at", "peak"), path),
                         self.out(("top", "--at", "peak"), path, NO_INDEX))

    def test_unwritable_sidecar_goes_to_the_cache_directory(self):
        d = scratch_dir("index_cache")
        path = os.path.join(d, "t.htr")
        shutil.copy(self.traces["leaks"], path)
        # A directory where the sidecar would go: it cannot be replaced.
        os.mkdir(sidecar(path))
        cache = os.path.join(d, "cache")
        env = {"XDG_CACHE_HOME": cache}
        want = self.out(("top", "--at", "peak"), path, NO_INDEX)
        self.assertEqual(self.out(("top", "--at", "peak"), path, env), want)
        files = os.listdir(os.path.join(cache, "heaptrail"))
        self.assertEqual(len(files), 1, files)
        self.assertTrue(files[0].endswith(".htri"), files)
        self.assertEqual(self.out(("top", "--at", "peak"), path, env), want)
        self.assertEqual(self.out(("info",), path, env), self.out(("info",), path, NO_INDEX))

    def test_corrupt_trace_writes_no_index(self):
        d = scratch_dir("index_corrupt")
        path = os.path.join(d, "bad.htr")
        with open(self.traces["leaks"], "rb") as f:
            data = bytearray(f.read())
        data[16] = 6  # op 6 is reserved: corrupt at the first record
        with open(path, "wb") as f:
            f.write(data)
        for _ in range(2):
            p = heaptrail("info", path)
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"corrupt record at byte offset 16", p.stderr)
        self.assertEqual(os.listdir(d), ["bad.htr"])


if __name__ == "__main__":
    unittest.main()
