"""Issue 12's growth report: container growth without realloc (a
std::vector grown by push_back, a hand-written C array doubled with malloc
+ memcpy + free on two threads at once), every step listed (--steps, and
always in JSON), --sort bytes|steps, --include/--exclude, and the lines of
each chain's first and last steps."""

import re
import unittest

from helpers import analyze, frame_is, heaptrail, record, require_tools, site, target

DOUBLINGS = [(4 << i, 8 << i) for i in range(20)]  # 4 B -> 4 MiB


def steps_of(chain):
    return [(s["old_size"], s["new_size"]) for s in chain["steps"]]


class GrowthSteps(unittest.TestCase):
    traces = {}

    def setUp(self):
        require_tools()

    def trace(self, name):
        if name not in self.traces:
            p, path = record([target(name)], f"growth_{name}", flags=["-q"])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.traces[name] = path
        return self.traces[name]

    def chains_at(self, chains, function, tag, source, anywhere=False):
        where = site(source, tag)
        return [c for c in chains
                if any(frame_is(f, function, where)
                       for f in (c["frames"] if anywhere else c["frames"][:1]))]

    def test_vector_push_back_is_one_chain_with_every_doubling(self):
        chains = analyze("growth", self.trace("vector_growth"), "-n", "0")["chains"]
        found = self.chains_at(chains, "fill", "push_back", "vector_growth.cc", anywhere=True)
        self.assertEqual(len(found), 1, f"{chains!r:.3000}")
        c = found[0]
        self.assertEqual(steps_of(c), DOUBLINGS)
        self.assertTrue(all(s["copy"] and s["moved"] for s in c["steps"]))
        self.assertEqual((c["initial_size"], c["final_size"], c["copies"]), (4, 4 << 20, 20))
        self.assertEqual(c["steps_omitted"], 0)

    def test_text_steps_all_lists_every_doubling(self):
        path = self.trace("vector_growth")
        out = heaptrail("growth", path, "--steps", "all", "-n", "1").stdout.decode()
        lines = re.findall(r"^      (\S+ \S+) -> (\S+ \S+) copied", out, re.M)
        self.assertEqual(len(lines), 20, out)
        self.assertEqual(lines[0], ("4 B", "8 B"))
        self.assertEqual(lines[-1], ("2048 KiB", "4096 KiB"))
        self.assertNotIn("steps ...", out)
        # Default: 4 + 4 and the count of the ones between.
        out = heaptrail("growth", path, "-n", "1").stdout.decode()
        self.assertIn("      ... 12 steps ...\n", out)
        # --steps 3: two from the start, one from the end.
        out = heaptrail("growth", path, "--steps", "3", "-n", "1").stdout.decode()
        lines = re.findall(r"^      (\S+ \S+) -> (\S+ \S+) copied", out, re.M)
        self.assertEqual(lines, [("4 B", "8 B"), ("8 B", "16 B"), ("2048 KiB", "4096 KiB")])
        self.assertIn("      ... 17 steps ...\n", out)

    def test_c_array_doubled_by_malloc_copy_free_on_two_threads(self):
        chains = analyze("growth", self.trace("array_growth"), "-n", "0")["chains"]
        found = self.chains_at(chains, "array_grow", "array_grow", "array_growth.c")
        self.assertEqual(len(found), 1, f"{chains!r:.3000}")
        c = found[0]
        # One chain per thread, the same stack: each doubled twenty times.
        self.assertEqual((c["site_chains"], c["site_steps"]), (2, 40))
        self.assertEqual(steps_of(c), DOUBLINGS)
        self.assertEqual(c["copies"], 20)
        self.assertEqual(c["end"], "freed")
        # The scratch block made during the copy is no chain, and two
        # unrelated blocks from one site (100 B, 200 B, the first freed)
        # make at most a one-step pair, which is not reported.
        for function, tag in (("array_grow", "scratch"), ("make", "make")):
            self.assertEqual(self.chains_at(chains, function, tag, "array_growth.c"), [], tag)

    def test_each_chain_names_its_first_and_last_step(self):
        path = self.trace("array_growth")
        chains = analyze("growth", path, "-n", "0")["chains"]
        found = self.chains_at(chains, "main", "creep_a", "array_growth.c")
        self.assertEqual(len(found), 1, f"{chains!r:.3000}")
        c = found[0]
        self.assertEqual((c["nsteps"], c["initial_size"], c["final_size"]), (100, 16, 1616))
        self.assertTrue(frame_is(c["last_step"]["frames"][0], "main",
                                 site("array_growth.c", "creep_b")), c["last_step"])
        a, b = site("array_growth.c", "creep_a")[1], site("array_growth.c", "creep_b")[1]
        out = heaptrail("growth", path, "-n", "0").stdout.decode()
        self.assertRegex(out, rf"first step at \S*array_growth\.c:{a}, "
                              rf"last step at \S*array_growth\.c:{b}\n")
        # A chain whose steps share one stack has no separate last step.
        arr = self.chains_at(chains, "array_grow", "array_grow", "array_growth.c")[0]
        self.assertIsNone(arr["last_step"])

    def test_sort_bytes_by_default_and_by_steps(self):
        path = self.trace("array_growth")
        # bytes: final size x (copies + 1): 4 MiB x 21 before 1616 B x 2.
        doc = analyze("growth", path, "-n", "0")
        self.assertEqual(doc["sort"], "bytes")
        first = [c["frames"][0]["function"] for c in doc["chains"]]
        self.assertEqual(first, ["array_grow", "main"])
        self.assertEqual(doc["chains"][0]["weight"], (4 << 20) * 21)
        doc = analyze("growth", path, "-n", "0", "--sort", "steps")
        self.assertEqual([c["frames"][0]["function"] for c in doc["chains"]],
                         ["main", "array_grow"])
        self.assertEqual(doc["copy_growth_steps"], 41)  # 40 + the one pair
        self.assertEqual(doc["realloc_growth_steps"], 100)

    def test_include_and_exclude_filter_chains(self):
        path = self.trace("array_growth")
        keep = analyze("growth", path, "-n", "0", "--include", "*array_growth.c")["chains"]
        self.assertEqual(len(keep), 2)
        self.assertEqual(analyze("growth", path, "-n", "0", "--include", "*nomatch*")["chains"], [])
        self.assertEqual(analyze("growth", path, "-n", "0", "--exclude", "*array_growth.c")["chains"], [])

    def test_bad_flags_are_one_line_usage_errors(self):
        path = self.trace("array_growth")
        for args in (("--steps", "x"), ("--steps", "-1"), ("--sort", "size"), ("--sort",),
                     ("--steps",)):
            p = heaptrail("growth", path, *args)
            self.assertEqual(p.returncode, 2, args)
            # The usage error every command prints: one line, and the hint.
            lines = p.stderr.decode().splitlines()
            self.assertEqual(len(lines), 2, (args, lines))
            self.assertTrue(lines[0].startswith("heaptrail growth: "), lines)
            self.assertIn(args[0], lines[0])
            self.assertNotIn("unknown option", lines[0])
            self.assertEqual(lines[1], "Try 'heaptrail help growth'.")
            self.assertEqual(p.stdout, b"", args)


if __name__ == "__main__":
    unittest.main()
