"""Process trees (issue 15): the traces of one run reported together.

- the wrapper's summary lists every trace of a followed run;
- `top`, `leaks`, `info`, `report` over several traces: rows merged by key
  text across processes, exact totals, --by process, the process tree;
- a Python multiprocessing pool (fork and spawn) under /usr/bin/python3
  and the pyenv 3.12: the task line's bytes and count over the workers are
  exactly tasks x per-task;
- an exec chain (sh -> exec sh -> exec target): every image reportable
  with --image N, and info lists the three."""

import glob
import json
import os
import re
import unittest

from helpers import (HEAPTRAIL, analyze, heaptrail, require_tools, run, scratch_dir,
                     site, target)

HERE = os.path.dirname(os.path.abspath(__file__))
PYT = os.path.join(HERE, "pytargets")


def record_tree(argv, name, flags):
    """`heaptrail record --follow-* -o DIR/t.%p.htr -- argv` in a fresh
    directory.  Returns (CompletedProcess, directory, sorted trace paths)."""
    require_tools()
    d = scratch_dir(name)
    p = run([HEAPTRAIL, "record", *flags, "-o", os.path.join(d, "t.%p.htr"), "--", *argv],
            cwd=d)
    if p.returncode != 0:
        raise AssertionError(f"record exited {p.returncode}:\n" + p.stderr.decode(errors="replace"))
    return p, d, sorted(glob.glob(os.path.join(d, "t.*.htr")))


def json_of(*args):
    p = heaptrail(*args)
    if p.returncode != 0:
        raise AssertionError(f"heaptrail {' '.join(args)} exited {p.returncode}:\n"
                             + p.stderr.decode(errors="replace"))
    return json.loads(p.stdout)


class ForkTree(unittest.TestCase):
    """fork_tree: root 1 x 1000, child1 1 x 2000, child2 2 x 2000, the
    grandchild (child2's) 3 x 3000, all leaked."""

    @classmethod
    def setUpClass(cls):
        cls.p, cls.dir, cls.traces = record_tree([target("fork_tree")], "pt_fork_tree",
                                                 ["--follow-fork"])
        # "<role> <pid> <ppid>" per process.
        cls.roles = {}
        for line in cls.p.stdout.decode().split("\n"):
            if line:
                role, pid, ppid = line.split()
                cls.roles[role] = (int(pid), int(ppid))

    def test_summary_lists_every_trace_with_pid_parent_and_events(self):
        err = self.p.stderr.decode()
        self.assertIn("heaptrail: wrote 4 traces, one per process:", err)
        for role, events in (("root", 2), ("child1", 1), ("child2", 2), ("grandchild", 3)):
            pid, ppid = self.roles[role]
            word = "event" if events == 1 else "events"
            self.assertRegex(err, rf"pid {pid} \(parent {ppid}\)  {events} {word}  t\.{pid}\.htr  ")
        hint = re.search(r"heaptrail: next: heaptrail report (.*)\n", err).group(1)
        self.assertEqual(sorted(hint.split()), sorted(os.path.basename(t) for t in self.traces))

    def test_by_process_gives_exact_bytes_and_blocks_per_pid(self):
        out = json_of("top", "--json", "--by", "process", "--at", "end", *self.traces)
        rows = {r["pid"]: (r["bytes"], r["count"]) for r in out["stats"]}
        pid = lambda role: self.roles[role][0]
        # The root's stdout buffer (a 4096-byte malloc by stdio) is live too.
        self.assertEqual(rows[pid("child1")], (2000, 1))
        self.assertEqual(rows[pid("child2")], (4000, 2))
        self.assertEqual(rows[pid("grandchild")], (9000, 3))
        self.assertEqual(rows[pid("root")][1] - 1, 1)
        self.assertEqual(out["processes"], 4)
        self.assertEqual(out["by"], "process")
        self.assertEqual(out["total_bytes"], sum(b for b, _ in rows.values()))

    def test_combined_top_merges_one_line_across_processes(self):
        out = json_of("top", "--json", "--at", "end", "-n", "0", *self.traces)
        _, line = site("fork_tree.c", "child_leak")
        row = [r for r in out["stats"] if r["key"].endswith(f"fork_tree.c:{line}")]
        self.assertEqual(len(row), 1, out["stats"])
        self.assertEqual((row[0]["bytes"], row[0]["count"], row[0]["processes"]), (6000, 3, 2))
        self.assertEqual(sorted(row[0]["pids"]),
                         sorted([self.roles["child1"][0], self.roles["child2"][0]]))
        self.assertEqual(out["point"], "each process's end")

    def test_report_shows_the_tree(self):
        p = heaptrail("report", *self.traces)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        root, child2, grand = (self.roles[r][0] for r in ("root", "child2", "grandchild"))
        self.assertIn("Processes: 4 traces of one run", out)
        # Indented under its parent: root 2 spaces, children 4, grandchild 6.
        self.assertRegex(out, rf"\n  pid {root} \(parent \d+\): peak 5096 B, end 5096 B, 2 events, ended")
        self.assertRegex(out, rf"\n    pid {child2} \(parent {root}\): peak 4000 B, end 4000 B, 2 events, ended")
        self.assertRegex(out, rf"\n      pid {grand} \(parent {child2}\): peak 9000 B, end 9000 B, 3 events, ended")

    def test_info_and_leaks_sum_the_processes(self):
        info = json_of("info", "--json", *self.traces)
        self.assertEqual(info["processes"], 4)
        self.assertEqual(info["end_bytes"], 1000 + 4096 + 2000 + 4000 + 9000)
        self.assertEqual(info["events"], 8)
        self.assertEqual(info["truncated"], 0)
        leaks = json_of("leaks", "--json", "-n", "0", *self.traces)
        self.assertEqual((leaks["total_bytes"], leaks["total_count"]), (20096, 8))

    def test_a_bad_trace_among_them_is_named(self):
        bad = os.path.join(self.dir, "not-a-trace.htr")
        with open(bad, "wb") as f:
            f.write(b"hello")
        p = heaptrail("top", *self.traces, bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"not-a-trace.htr", p.stderr)
        self.assertNotIn(b"Top ", p.stdout)


class ExecChain(unittest.TestCase):
    """sh chain.sh -> exec sh -c -> exec exec_chain final (2 x 2222)."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.dir = scratch_dir("pt_exec_chain")
        script = os.path.join(cls.dir, "chain.sh")
        with open(script, "w") as f:
            f.write("exec sh -c 'exec \"$0\" final' " + target("exec_chain") + "\n")
        cls.trace = os.path.join(cls.dir, "chain.htr")
        cls.p = run([HEAPTRAIL, "record", "-o", cls.trace, "--", "sh", script])
        assert cls.p.returncode == 0, cls.p.stderr

    def test_info_lists_three_images(self):
        info = analyze("info", self.trace)
        imgs = info["image_list"]
        self.assertEqual([i["image"] for i in imgs], [0, 1, 2])
        self.assertEqual(info["images"], 3)
        self.assertTrue(imgs[0]["cmdline"].startswith("sh "), imgs[0])
        self.assertTrue(imgs[1]["cmdline"].startswith("sh -c "), imgs[1])
        self.assertTrue(imgs[2]["cmdline"].endswith("exec_chain final"), imgs[2])
        self.assertTrue(imgs[0]["exec_path"].endswith("sh"), imgs[0])
        self.assertTrue(imgs[1]["exec_path"].endswith("exec_chain"), imgs[1])
        self.assertTrue(imgs[2]["has_end"])
        self.assertTrue(all(i["events"] > 0 for i in imgs), imgs)
        text = heaptrail("info", self.trace).stdout.decode()
        self.assertIn("images:       3 (an exec chain", text)

    def test_each_image_is_reportable(self):
        _, line = site("exec_chain.c", "final_leak")
        listed = analyze("info", self.trace)["image_list"]
        for n in range(3):
            mine = analyze("info", self.trace, "--image", str(n))
            self.assertEqual(mine["image"], n)
            ev = mine["events"]
            self.assertEqual(ev["alloc"] + ev["free"] + ev["realloc"], listed[n]["events"],
                             (n, mine))
            self.assertEqual(mine["cmdline"], listed[n]["cmdline"])
            # An image that ended by exec is complete, not truncated.
            self.assertTrue(mine["clean_end"], mine)
            self.assertFalse(mine["truncated"], mine)
            top = analyze("top", self.trace, "--image", str(n), "--at", "end", "-n", "0")
            rows = [(r["bytes"], r["count"]) for r in top["stats"]
                    if r["key"].endswith(f"exec_chain.c:{line}")]
            self.assertEqual(rows, [(4444, 2)] if n == 2 else [], n)
            self.assertEqual(top["total_count"], mine["end_blocks"], n)

    def test_image_out_of_range_is_a_clear_error(self):
        p = heaptrail("top", "--image", "3", self.trace)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"--image 3: the trace has 3 images (0 to 2)", p.stderr)


class PythonPool(unittest.TestCase):
    """pool.py: a multiprocessing pool whose tasks each keep one bytes
    object of SIZE; the combined top over the traces has exactly TASKS
    blocks of SIZE + the empty bytes size on the task's line."""

    TASKS = 8
    SIZE = 8000000  # above a worker's import spike: its peak holds them all

    def check(self, python, method):
        if not os.access(python, os.X_OK):
            self.skipTest(f"{python} not installed")
        flags = ["--follow-fork"] + (["--follow-exec"] if method == "spawn" else [])
        p, d, traces = record_tree([python, os.path.join(PYT, "pool.py"), method, "4",
                                    str(self.TASKS), str(self.SIZE)],
                                   f"pt_pool_{method}_{os.path.basename(os.path.dirname(os.path.dirname(python)))}",
                                   flags)
        empty = int(p.stdout)
        err = p.stderr.decode()
        self.assertIn(f"heaptrail: wrote {len(traces)} traces, one per process:", err)
        self.assertGreaterEqual(len(traces), 5)  # the parent and 4 workers
        line = [i + 1 for i, t in enumerate(open(os.path.join(PYT, "pool.py")))
                if "# @site:task" in t][0]
        top = json_of("top", "--json", "-n", "0", *traces)
        self.assertEqual(top["point"], "each process's own peak")
        rows = [r for r in top["stats"] if r["key"].endswith(f"pool.py:{line}")]
        self.assertEqual(len(rows), 1, [(r["key"], r["bytes"]) for r in top["stats"][:5]])
        # Exact: every task's block, from whichever worker ran it.
        self.assertEqual((rows[0]["bytes"], rows[0]["count"]),
                         (self.TASKS * (self.SIZE + empty), self.TASKS))
        workers = [t for t in top["traces"] if t["ppid"] == top["traces"][0]["pid"]]
        self.assertLessEqual(rows[0]["processes"], 4)
        self.assertTrue(set(rows[0]["pids"]) <= {w["pid"] for w in workers}, rows[0])
        # The parent's own total is its own peak; the sum is of each one's.
        self.assertEqual(top["heap_bytes"], sum(t["peak_bytes"] for t in top["traces"]))

    def test_fork_system_python(self):
        self.check("/usr/bin/python3", "fork")

    def test_spawn_system_python(self):
        self.check("/usr/bin/python3", "spawn")

    def test_fork_pyenv_312(self):
        self.check("/root/.pyenv/versions/3.12.1/bin/python3", "fork")

    def test_spawn_pyenv_312(self):
        self.check("/root/.pyenv/versions/3.12.1/bin/python3", "spawn")


if __name__ == "__main__":
    unittest.main()
