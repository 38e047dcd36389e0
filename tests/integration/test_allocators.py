"""Allocators preloaded with heaptrail (issue 20, defect 5): with
LD_PRELOAD="libjemalloc.so.2 libheaptrail.so" the trace had every
reallocarray (which jemalloc lacks) and no malloc or free: 0 frees, 27,560
"allocations on a live address" and false leaks.  Now the whole family
is recorded through the allocator that wins, in either order: exact
counts per site from a program that calls every entry point."""

import os
import unittest

from helpers import LIB, analyze, decode_events, describe, frame_is, heaptrail, record, \
    require_tools, run, site, site_totals, target, trace_path

LIBDIR = "/usr/lib/x86_64-linux-gnu"
ALLOCATORS = {
    "jemalloc": "libjemalloc.so.2",
    "tcmalloc": "libtcmalloc_minimal.so.4",
    "mimalloc": "libmimalloc.so.2",
}

# alloc_family.c: (function, @site tag, blocks, bytes) live at snapshot "all".
AT_ALL = [
    ("malloc", 10, 10 * 100), ("calloc", 5, 5 * 100), ("realloc", 4, 4 * 400),
    ("reallocarray", 3, 3 * 128), ("posix_memalign", 2, 2 * 256),
    ("aligned_alloc", 2, 2 * 128), ("memalign", 2, 2 * 96), ("valloc", 1, 200),
]


class PreloadedAllocator(unittest.TestCase):
    def setUp(self):
        require_tools()

    def recorded(self, name, first, program="alloc_family"):
        so = os.path.join(LIBDIR, ALLOCATORS[name])
        if not os.path.exists(so):
            self.skipTest(f"{so} not installed (scripts/install-deps.sh installs it)")
        order = [so, LIB] if first else [LIB, so]
        argv = [target(program)]
        plain = run(argv, env={"LD_PRELOAD": so})
        path = trace_path(f"{program}_{name}_{'first' if first else 'after'}")
        p = run(argv, env={"LD_PRELOAD": " ".join(order), "HEAPTRAIL_OUTPUT": path})
        self.assertEqual((plain.returncode, plain.stdout), (0, b"family ok\n"), plain.stderr)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        return path

    def check(self, name, first, program="alloc_family"):
        path = self.recorded(name, first, program)
        info = analyze("info", path)
        self.assertEqual(info["anomalies"], {"unknown_frees": 0, "unknown_reallocs": 0,
                                             "allocs_on_live_address": 0})
        self.assertEqual(info["warnings"], 0)
        stats = analyze("top", path, "--at", "all", "-n", "0")["stats"]
        got = [(fn, *site_totals(stats, "main", site("alloc_family.c", fn))) for fn, _, _ in AT_ALL]
        self.assertEqual(got, [(fn, c, b) for fn, c, b in AT_ALL], describe(stats))
        # The 50-byte blocks were all moved by realloc: none is live.
        self.assertEqual(site_totals(stats, "main", site("alloc_family.c", "realloc_from")),
                         (0, 0))
        end = analyze("top", path, "--at", "end", "-n", "0")["stats"]
        got = [(fn, *site_totals(end, "main", site("alloc_family.c", fn))) for fn, _, _ in AT_ALL]
        self.assertEqual(got, [("malloc", 3, 300)] + [(fn, 0, 0) for fn, _, _ in AT_ALL[1:]],
                         describe(end))

    def test_jemalloc_preloaded_before_heaptrail(self):
        self.check("jemalloc", True)

    def test_jemalloc_preloaded_after_heaptrail(self):
        self.check("jemalloc", False)

    def test_tcmalloc_preloaded_before_heaptrail(self):
        self.check("tcmalloc", True)

    def test_tcmalloc_preloaded_after_heaptrail(self):
        self.check("tcmalloc", False)

    def test_mimalloc_preloaded_before_heaptrail(self):
        self.check("mimalloc", True)

    def test_mimalloc_preloaded_after_heaptrail(self):
        self.check("mimalloc", False)

    def test_non_pie_program_with_a_canonical_plt_entry_for_malloc(self):
        # Bug: dlsym(RTLD_DEFAULT, "malloc") returns the program's
        # canonical PLT entry, which hid jemalloc: the hooks forwarded to
        # libc's malloc and free, and python3.11 died in glibc's free of a
        # jemalloc block ("munmap_chunk(): invalid pointer").
        for first in (True, False):
            with self.subTest(first=first):
                self.check("jemalloc", first, "alloc_family_nopie")


class PreloadedAllocatorCxx(unittest.TestCase):
    """jemalloc, tcmalloc and mimalloc define C++ operator new and delete
    and serve them without calling malloc; preloaded in either order they
    win over libstdc++'s, so a C++ program's new/delete were never
    recorded (cxx_alloc: 2 allocations instead of 10).  The recorder now
    sends those calls to libstdc++'s operators, which call malloc and free."""

    def setUp(self):
        require_tools()

    def test_new_and_delete_are_recorded_under_every_allocator_in_both_orders(self):
        for name, so in ALLOCATORS.items():
            so = os.path.join(LIBDIR, so)
            if not os.path.exists(so):
                self.skipTest(f"{so} not installed (scripts/install-deps.sh installs it)")
            for first in (True, False):
                with self.subTest(allocator=name, first=first):
                    argv = [target("cxx_alloc")]
                    plain = run(argv, env={"LD_PRELOAD": so})
                    path = trace_path(f"cxx_{name}_{'first' if first else 'after'}")
                    order = [so, LIB] if first else [LIB, so]
                    p = run(argv, env={"LD_PRELOAD": " ".join(order), "HEAPTRAIL_OUTPUT": path})
                    self.assertEqual((p.returncode, p.stderr), (0, b""))
                    self.assertEqual(p.stdout, plain.stdout.replace(b"snapshot=-1", b"snapshot=0"))
                    info = analyze("info", path)
                    self.assertEqual(info["anomalies"], {"unknown_frees": 0, "unknown_reallocs": 0,
                                                         "allocs_on_live_address": 0})
                    # Live at the end: 3 of 5 Widgets (72 B), 2 of 3 int[250].
                    stats = analyze("top", path, "-n", "0", "--by", "traceback", "--at", "end")["stats"]
                    got = [site_totals(stats, fn, site("cxx_alloc.cc", tag), True)
                           for fn, tag in (("make_objects", "new_widget"), ("make_arrays", "new_array"))]
                    self.assertEqual(got, [(3, 216), (2, 2000)], describe(stats))


if __name__ == "__main__":
    unittest.main()


class AllocatorInTheExecutable(unittest.TestCase):
    """An executable with an allocator of its own (own_alloc_mix.c: malloc,
    free and realloc its own; calloc and posix_memalign libc's).  Bug
    (issue 20): the calls that reached the recorder (libc's calloc and
    posix_memalign) were recorded and their frees (the program's own
    free) never seen: a trace of false leaks, mixed from two allocators.
    Now none of the family is recorded, one line says why, and every call
    that reached the recorder is counted lost, exactly."""

    NC, NA = 7, 4

    def setUp(self):
        require_tools()

    def test_nothing_is_mixed_and_every_forwarded_call_is_counted_lost(self):
        argv = [target("own_alloc_mix"), str(self.NC), str(self.NA)]
        plain = run(argv)
        self.assertEqual((plain.returncode, plain.stdout), (0, b"ok 7 4 own\n"), plain.stderr)
        p, path = record(argv, "own_alloc_mix")
        self.assertEqual((p.returncode, p.stdout), (plain.returncode, plain.stdout))
        lines = [l for l in p.stderr.splitlines() if b"is defined by" in l]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn(b"malloc is defined by", lines[0])
        self.assertIn(b"own_alloc_mix", lines[0])
        info = analyze("info", path)
        self.assertEqual((info["events"]["alloc"], info["events"]["free"],
                          info["events"]["realloc"]), (0, 0, 0))
        self.assertEqual(info["lost_events"], self.NC + self.NA)
        self.assertEqual(info["lost_own_allocator"], self.NC + self.NA)
        self.assertEqual(info["leaked_bytes"], 0)
        self.assertTrue(info["clean_end"])
        text = heaptrail("info", path).stdout.decode()
        self.assertIn("lost events:  11 (11 of them: malloc-family calls not recorded, the "
                      "program has an allocator of its own)", text)
        self.assertEqual(analyze("leaks", path)["total_bytes"], 0)

    def test_bare_ld_preload_runs_it_unchanged(self):
        argv = [target("own_alloc_mix"), "3", "2"]
        plain = run(argv)
        path = trace_path("own_alloc_mix_bare")
        p = run(argv, env={"LD_PRELOAD": LIB, "HEAPTRAIL_OUTPUT": path})
        self.assertEqual((p.returncode, p.stdout), (plain.returncode, plain.stdout))
        self.assertEqual(analyze("info", path)["lost_own_allocator"], 5)


class HandlerAllocationsOverOtherAllocators(unittest.TestCase):
    """sigalloc.c (`free`): 400 SIGUSR1 handlers, each freeing a block main
    allocated before the signals and the block the handler before it
    allocated, and allocating one of 77 bytes, while main allocates and
    frees in a loop (most signals interrupt a hook or the allocator).  Over
    glibc these nested calls were recorded; over jemalloc, tcmalloc and
    mimalloc (issue 14) they were forwarded unrecorded and uncounted (only
    glibc's malloc was known not to call back into the family), and a hook
    waiting for ring space re-entered itself by name, which over an
    allocator preloaded first is that allocator: 335 of the 400 handler
    frees were missing under jemalloc, with `lost events: 0`.  Now the
    stack tells a handler's call from the allocator's own: every handler
    event is in the trace, or counted lost, exactly."""

    HANDLERS = 400

    def setUp(self):
        require_tools()

    def accounting(self, path):
        """(handler events missing from the trace, lost events, info), from
        the reports: the allocations made at the handler's line (report's
        allocation counts), what of main's and the handler's blocks is
        still live at the end, and the frees of unknown addresses (a
        handler block whose allocation is missing, freed by the next)."""
        n = self.HANDLERS
        calls = analyze("report", path, "-n", "0")["calls"]["stats"]
        made = site_totals(calls, "on_usr1", site("sigalloc.c", "in_handler"))[0]
        self.assertEqual(site_totals(calls, "main", site("sigalloc.c", "given"))[0], n)
        end = analyze("top", path, "-n", "0", "--at", "end")["stats"]
        given_live = site_totals(end, "main", site("sigalloc.c", "given"))[0]
        handler_live = site_totals(end, "on_usr1", site("sigalloc.c", "in_handler"))[0]
        info = analyze("info", path)
        unknown = info["anomalies"]["unknown_frees"]
        # A handler block whose free is missing, its address then handed
        # out again, is replaced in the trace by the new block (an
        # allocation on a live address): not live at the end, yet its
        # free is missing.
        reused = info["anomalies"]["allocs_on_live_address"]
        # Each handler frees one of main's blocks and the block the handler
        # before it allocated (the last one's stays), and allocates one.
        missing = (n - made) + given_live + (n - 1 - (made - handler_live) - unknown) + reused
        return missing, info["lost_events"], info

    def check(self, name, first):
        so = os.path.join(LIBDIR, ALLOCATORS[name])
        if not os.path.exists(so):
            self.skipTest(f"{so} not installed (scripts/install-deps.sh installs it)")
        argv = [target("sigalloc"), "free"]
        plain = run(argv, env={"LD_PRELOAD": so})
        self.assertEqual((plain.returncode, plain.stdout), (0, b"handled 400 blocks\n"))
        path = trace_path(f"sigalloc_{name}_{'first' if first else 'after'}")
        order = [so, LIB] if first else [LIB, so]
        p = run(argv, env={"LD_PRELOAD": " ".join(order), "HEAPTRAIL_OUTPUT": path})
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        missing, lost, info = self.accounting(path)
        self.assertEqual(missing, lost, info)
        self.assertEqual(info["lost_signal"], lost)
        # The recorded handler blocks name the handler, through the signal
        # frame (none is charged to main or to the allocator).
        stats = analyze("report", path, "-n", "0")["calls"]["stats"]
        wrong = [st for st in stats if st["count"] and st["bytes"] == 77 * st["count"]
                 and not frame_is((st.get("frames") or [{}])[0], "on_usr1",
                                  site("sigalloc.c", "in_handler"))]
        self.assertEqual(wrong, [], describe(stats))

    def test_jemalloc_preloaded_before_heaptrail(self):
        self.check("jemalloc", True)

    def test_jemalloc_preloaded_after_heaptrail(self):
        self.check("jemalloc", False)

    def test_tcmalloc_preloaded_before_heaptrail(self):
        self.check("tcmalloc", True)

    def test_tcmalloc_preloaded_after_heaptrail(self):
        self.check("tcmalloc", False)

    def test_mimalloc_preloaded_before_heaptrail(self):
        self.check("mimalloc", True)

    def test_mimalloc_preloaded_after_heaptrail(self):
        self.check("mimalloc", False)
