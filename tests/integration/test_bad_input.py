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


class BadCompressedInput(BadInput):
    """The same on a zstd-compressed trace (`record --compress`): a damaged
    frame or bytes that are no frame are an error naming the file and the
    offset; a file with no whole frame says it was cut short."""
    ZMAGIC = b"\x28\xb5\x2f\xfd"

    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.dir = scratch_dir("bad_compressed")
        p, cls.good = record([target("leaks")], None, flags=["-q", "--compress"],
                             output=os.path.join(cls.dir, "good.htr"))
        with open(cls.good, "rb") as f:
            cls.data = f.read()
        assert cls.data[:4] == cls.ZMAGIC, "record --compress wrote no zstd frame"

    def error_of(self, path):
        self.assert_clean_error(path)
        return heaptrail("info", path).stderr.decode(errors="replace")

    # The inherited cases that edit plain-trace bytes (the version field at
    # offset 8, garbage after the 16-byte header) damage the first frame
    # here: they must be clean errors too, which assert_clean_error checks.
    def test_wrong_version(self):
        data = self.data[:8] + struct.pack("<I", 99) + self.data[12:]
        # Damage in a frame header can look like a frame torn short.
        self.assertRegex(self.error_of(self.write("version.htr", data)),
                         "corrupt zstd-compressed trace|no complete zstd frame")

    def test_garbage_after_the_header(self):
        data = self.data[:16] + bytes((i * 37 + 11) % 256 for i in range(4000))
        self.assertIn("corrupt zstd-compressed trace",
                      self.error_of(self.write("garbage.htr", data)))

    def test_shorter_than_the_header(self):
        self.assertIn("no complete zstd frame",
                      self.error_of(self.write("short.htr", self.data[:10])))

    def test_a_flipped_byte_inside_a_frame(self):
        for at in (len(self.data) // 3, len(self.data) // 2, len(self.data) - 10):
            with self.subTest(at=at):
                data = bytearray(self.data)
                data[at] ^= 0x5a
                err = self.error_of(self.write(f"flip{at}.htr", bytes(data)))
                self.assertRegex(err, r"corrupt zstd-compressed trace at byte offset \d+ ")

    def test_bytes_after_the_last_frame_that_are_no_frame(self):
        err = self.error_of(self.write("tail.htr", self.data + b"not a zstd frame at all"))
        self.assertIn(f"corrupt zstd-compressed trace at byte offset {len(self.data)} "
                      f"(not a zstd frame)", err)

    def test_the_magic_alone(self):
        self.assertIn("no complete zstd frame",
                      self.error_of(self.write("magic.htr", self.ZMAGIC)))
