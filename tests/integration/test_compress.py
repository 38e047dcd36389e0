"""Compressed traces (`record --compress`, HEAPTRAIL_COMPRESS=1): the file is
zstd frames, one per writer flush; it inflates (with the zstd tool, not our
code) to a plain trace whose reports are exactly the compressed trace's,
with and without the trace index; a program killed by SIGKILL leaves a
trace readable up to its last whole frame, and a frame torn by the end of
the file is left out."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

from helpers import (HEAPTRAIL, MAGIC, analyze, heaptrail, read_end, readline, record,
                     require_tools, run, scratch_dir, site, site_totals, target)

ZMAGIC = b"\x28\xb5\x2f\xfd"
NO_INDEX = {"HEAPTRAIL_NO_INDEX": "1"}
ZSTD = shutil.which("zstd")


def zstd_frames(data):
    """(start, end) of each whole zstd frame of data, in order, parsed
    from the format (RFC 8878) independently of libzstd; stops at the first
    frame the data does not hold entirely."""
    out, pos = [], 0
    while data[pos:pos + 4] == ZMAGIC and pos + 5 <= len(data):
        p = pos + 4
        fhd = data[p]
        p += 1
        fcs_flag, single, checksum, did = fhd >> 6, fhd >> 5 & 1, fhd >> 2 & 1, fhd & 3
        p += 0 if single else 1  # window descriptor
        p += (0, 1, 2, 4)[did]
        p += (1 if single else 0, 2, 4, 8)[fcs_flag]
        while True:
            if p + 3 > len(data):
                return out
            h = data[p] | data[p + 1] << 8 | data[p + 2] << 16
            p += 3
            p += 1 if (h >> 1 & 3) == 1 else h >> 3  # RLE: one byte
            if h & 1:
                break
        p += 4 if checksum else 0
        if p > len(data):
            return out
        out.append((pos, p))
        pos = p
    return out


def inflate(src, dst):
    """The zstd tool's decompression of src into dst (a plain trace)."""
    p = run([ZSTD, "-q", "-d", "-c", src])
    if p.returncode != 0:
        raise AssertionError(f"zstd -d {src}: {p.stderr.decode(errors='replace')}")
    with open(dst, "wb") as f:
        f.write(p.stdout)
    return dst


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def sidecar(path):
    return path[:-4] + ".htri"


class Compress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        if not ZSTD:
            raise unittest.SkipTest("the zstd tool is not installed (Debian zstd)")
        cls.dir = scratch_dir("compress")
        cls.rec, cls.z = record([target("zstd_phases")], None, flags=["--compress"],
                                output=os.path.join(cls.dir, "phases.htr"))
        cls.plain = inflate(cls.z, os.path.join(cls.dir, "phases-plain.htr"))

    def same(self, form, env=None, trace=None):
        """(rc, stdout, stderr) of `heaptrail FORM TRACE`, its own path
        replaced by the plain trace's, so both read alike."""
        trace = trace or self.z
        p = heaptrail(*form, trace, env=env)
        return p.returncode, p.stdout.replace(trace.encode(), self.plain.encode()), p.stderr

    def test_the_trace_is_zstd_frames_that_inflate_to_a_plain_trace(self):
        self.assertEqual(self.rec.returncode, 0, self.rec.stderr)
        with open(self.z, "rb") as f:
            data = f.read()
        frames = zstd_frames(data)
        # The header and the process, the three phases (each flushed
        # during its 300 ms pause), the exit: at least 5 frames, no gap.
        self.assertGreaterEqual(len(frames), 5, frames)
        self.assertEqual(frames[-1][1], len(data))
        with open(self.plain, "rb") as f:
            self.assertEqual(f.read(8), MAGIC)
        end = read_end(self.plain)
        self.assertIsNotNone(end, "the inflated trace has no END record")
        self.assertEqual(self.rec.stderr.decode().splitlines()[-1],
                         f"heaptrail: wrote {self.z} ({end[0]:,} events); "
                         f"next: heaptrail report {self.z}")
        self.assertLess(len(data) * 3, os.path.getsize(self.plain))
        info = analyze("info", self.z)
        self.assertEqual(info["compression"]["frames"], len(frames))
        self.assertEqual(info["compression"]["file_bytes"], len(data))
        self.assertEqual(info["compression"]["data_bytes"], os.path.getsize(self.plain))
        self.assertFalse(info["compression"]["torn_frame"])
        self.assertIsNone(analyze("info", self.plain)["compression"])

    def test_reports_equal_the_plain_trace_with_and_without_the_index(self):
        forms = [("top", "--json", "-n", "0"), ("top", "--at", "peak"),
                 ("top", "--at", "end", "--json", "-n", "0"), ("leaks", "--json"),
                 ("leaks", "-n", "3"), ("snapshots", "--json"), ("growth", "-n", "3")]
        for form in forms:
            with self.subTest(form=" ".join(form)):
                want = self.same(form, NO_INDEX, self.plain)
                self.assertEqual(want[0], 0, want[2])
                self.assertEqual(self.same(form, NO_INDEX), want)
                idx = sidecar(self.z)
                if os.path.exists(idx):
                    os.unlink(idx)
                self.assertEqual(self.same(form), want, "building the index")
                self.assertTrue(os.path.exists(idx), "no index was written")
                stamp = os.stat(idx).st_mtime_ns
                self.assertEqual(self.same(form), want, "reading the index")
                # top and snapshots answer from the index (leaks and growth
                # replay, and rewrite it, on plain traces too).
                if form[0] in ("top", "snapshots"):
                    self.assertEqual(os.stat(idx).st_mtime_ns, stamp, "the index was rewritten")
        # info: the same but for the compression it reports.
        for env in (NO_INDEX, None, None):
            got = analyze("info", self.z) if env is None else json.loads(
                heaptrail("info", "--json", self.z, env=env).stdout)
            want = analyze("info", self.plain)
            for doc in (got, want):
                doc.pop("compression")
                doc.pop("trace")
            self.assertEqual(got, want)
        text = heaptrail("info", self.z).stdout.decode()
        self.assertRegex(text, r"\ncompressed: +zstd, \d+ frames: .* of records, [\d.]+x\n")
        # And the counts are the program's.
        stats = analyze("top", self.z, "--at", "end", "-n", "0")["stats"]
        self.assertEqual([site_totals(stats, f"phase_{n}", site("zstd_phases.c", n))
                          for n in ("one", "two", "three")],
                         [(0, 0), (500, 100000), (1000, 300000)])

    def test_the_environment_variable_and_the_no_compress_flag(self):
        path = os.path.join(self.dir, "env.htr")
        p, _ = record([target("one_alloc")], None, flags=["-q"], output=path,
                      env={"HEAPTRAIL_COMPRESS": "1"})
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(path, "rb") as f:
            self.assertEqual(f.read(4), ZMAGIC)
        self.assertEqual(analyze("info", path)["events"], analyze("info", path)["events"])
        os.unlink(path)
        p, _ = record([target("one_alloc")], None, flags=["-q", "--no-compress"], output=path,
                      env={"HEAPTRAIL_COMPRESS": "1"})
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), MAGIC)

    def test_exec_chain_appends_frames_and_every_image_reads(self):
        path = os.path.join(self.dir, "exec.htr")
        p, _ = record([target("exec_chain"), "self"], None, flags=["-q", "--compress"],
                      output=path)
        self.assertEqual(p.returncode, 0, p.stderr)
        plain = inflate(path, os.path.join(self.dir, "exec-plain.htr"))
        got, want = analyze("info", path), analyze("info", plain)
        self.assertEqual(got["images"], 2)
        for doc in (got, want):
            doc.pop("compression")
            doc.pop("trace")
        self.assertEqual(got, want)
        for form in (("leaks", "--json"), ("top", "--json", "-n", "0")):
            p = heaptrail(*form, path, env=NO_INDEX)
            q = heaptrail(*form, plain, env=NO_INDEX)
            self.assertEqual(p.stdout.replace(path.encode(), b"T"),
                             q.stdout.replace(plain.encode(), b"T"))

    def test_an_image_after_exec_keeps_the_files_framing(self):
        # The variable changed before the exec: the next image follows
        # the file (its first bytes), not the variable, either way.
        for flags, env_next, magic in ((["--compress"], "0", ZMAGIC), ([], "1", MAGIC[:4])):
            with self.subTest(first="compressed" if flags else "plain"):
                path = os.path.join(self.dir, "exec-env.htr")
                if os.path.exists(path):
                    os.unlink(path)
                p, _ = record(["sh", "-c", "HEAPTRAIL_COMPRESS=%s exec %s final"
                               % (env_next, target("exec_chain"))], None,
                              flags=["-q", *flags], output=path)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(4), magic)
                info = analyze("info", path)
                self.assertEqual(info["images"], 2)
                stats = analyze("top", path, "--at", "end", "-n", "0")["stats"]
                self.assertEqual(site_totals(stats, "main", site("exec_chain.c", "final_leak")),
                                 (2, 4444))

    def killed(self):
        """A compressed recording of zstd_phases killed by SIGKILL after
        its third phase (each phase flushed in its pause)."""
        path = os.path.join(self.dir, "killed.htr")
        if os.path.exists(path):
            os.unlink(path)
        proc = subprocess.Popen([HEAPTRAIL, "record", "--compress", "-o", path, "--",
                                 target("zstd_phases"), "wait"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            lines = [readline(proc, 60).decode() for _ in range(4)]
            self.assertEqual(lines[:3], ["phase 1\n", "phase 2\n", "phase 3\n"])
            pid = int(re.match(r"waiting (\d+)\n", lines[3]).group(1))
            time.sleep(0.3)  # the writer flushes at least every 100 ms
            os.kill(pid, signal.SIGKILL)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertEqual(err.decode().splitlines()[-1],
                         f"heaptrail: wrote {path}, truncated (no end record: the program was "
                         f"killed by SIGKILL); next: heaptrail info {path}")
        return path

    def test_a_trace_killed_by_sigkill_reads_up_to_its_last_frame(self):
        path = self.killed()
        with open(path, "rb") as f:
            data = f.read()
        frames = zstd_frames(data)
        self.assertEqual(frames[-1][1], len(data), "SIGKILL between writes tore no frame")
        info = analyze("info", path)
        self.assertTrue(info["truncated"])
        self.assertFalse(info["compression"]["torn_frame"])
        text = heaptrail("info", path).stdout.decode()
        self.assertIn("is truncated (no END record)", text)
        stats = analyze("top", path, "--at", "end", "-n", "0")["stats"]
        self.assertEqual([site_totals(stats, f"phase_{n}", site("zstd_phases.c", n))
                          for n in ("one", "two", "three")],
                         [(0, 0), (500, 100000), (1000, 300000)])

        # Torn: the file cut inside its last frame reads as the frames
        # before it (compared with their inflation by the zstd tool).
        start, end = frames[-1]
        cut = write(os.path.join(self.dir, "torn.htr"), data[:start + (end - start) // 2])
        before = inflate(write(os.path.join(self.dir, "before.htr.zst"), data[:start]),
                         os.path.join(self.dir, "before.htr"))
        got, want = analyze("info", cut), analyze("info", before)
        self.assertTrue(got["compression"]["torn_frame"])
        self.assertEqual(got["compression"]["frames"], len(frames) - 1)
        self.assertIn("the last frame was torn (cut short) and left out",
                      heaptrail("info", cut).stdout.decode())
        for doc in (got, want):
            doc.pop("compression")
            doc.pop("trace")
        self.assertEqual(got, want)
        self.assertTrue(got["truncated"])
        for form in (("top", "--json", "-n", "0"), ("leaks", "--json")):
            p = heaptrail(*form, cut, env=NO_INDEX)
            q = heaptrail(*form, before, env=NO_INDEX)
            self.assertEqual(p.stdout.replace(cut.encode(), b"T"),
                             q.stdout.replace(before.encode(), b"T"))


if __name__ == "__main__":
    unittest.main()
