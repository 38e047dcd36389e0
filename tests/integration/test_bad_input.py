"""The analyzer on bad input: a clear one-line error naming the file and a
non-zero exit, never a crash."""

import os
import struct
import unittest

from helpers import analyze, heaptrail, record, require_tools, scratch_dir, target

COMMANDS = [("info",), ("top",), ("leaks",), ("growth",), ("snapshots",)]


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.dir = scratch_dir("bad_input")
        p, cls.good = record([target("leaks")], None, flags=["-q"],
                             output=os.path.join(cls.dir, "good.htr"))
        with open(cls.good, "rb") as f:
            cls.data = f.read()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assert_clean_error(self, path):
        for cmd in COMMANDS:
            for json_flag in ((), ("--json",)):
                with self.subTest(cmd=cmd[0], json=bool(json_flag)):
                    p = heaptrail(*cmd, *json_flag, path)
                    self.assertGreater(p.returncode, 0,
                                       f"{cmd[0]} {path}: exit {p.returncode}\n{p.stderr!r}")
                    err = p.stderr.decode(errors="replace").strip()
                    self.assertIn(os.path.basename(path), err)
                    self.assertLessEqual(len(err.splitlines()), 3, err)
                    self.assertNotIn("Sanitizer", err)

    def test_missing_file(self):
        self.assert_clean_error(os.path.join(self.dir, "no-such-trace.htr"))

    def test_not_a_trace(self):
        self.assert_clean_error(self.write("text.htr", b"hello, I am a text file\n" * 10))

    def test_empty_file(self):
        self.assert_clean_error(self.write("empty.htr", b""))

    def test_shorter_than_the_header(self):
        self.assert_clean_error(self.write("short.htr", self.data[:10]))

    def test_wrong_version(self):
        data = self.data[:8] + struct.pack("<I", 99) + self.data[12:]
        self.assert_clean_error(self.write("version.htr", data))

    def test_cut_inside_a_record_is_read_as_truncated(self):
        # Not an error: a killed program leaves such files.  Either the
        # analyzer reports what is there (truncated) or refuses cleanly.
        path = self.write("cut.htr", self.data[:len(self.data) * 2 // 3])
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd[0]):
                p = heaptrail(*cmd, "--json", path)
                self.assertGreaterEqual(p.returncode, 0, p.stderr)
                if p.returncode == 0 and cmd[0] == "info":
                    self.assertTrue(analyze("info", path)["truncated"])
                elif p.returncode != 0:
                    self.assertIn(b"cut.htr", p.stderr)

    def test_garbage_after_the_header(self):
        data = self.data[:16] + bytes((i * 37 + 11) % 256 for i in range(4000))
        path = self.write("garbage.htr", data)
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd[0]):
                p = heaptrail(*cmd, path)
                self.assertGreaterEqual(p.returncode, 0, p.stderr)
                self.assertNotIn(b"Sanitizer", p.stderr)
