"""The recorder's fast unwinder against libunwind: every program here runs
under HEAPTRAIL_UNWIND=verify, where the recorder unwinds each stack both
ways and reports `unwind verify: N stacks checked, M mismatches` at exit.
Any mismatch fails; so does a run where nothing was checked (the fast path
must actually have been exercised)."""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpers  # noqa: E402

VERIFY = re.compile(rb"unwind verify: (\d+) stacks checked, (\d+) mismatches")

# Deep and odd stacks, built at -O2 with and without frame pointers:
# recursion deeper than --depth (truncation), alloca and VLA frames (CFA on
# RBP in code without frame pointers), libc calling back into the program
# (qsort), function pointers, and threads.
DEEP_SRC = r"""
#include <alloca.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NOINL __attribute__((noinline))
void *volatile sink;
static volatile int depth_var = 3;

NOINL static void *leaf(size_t n)
{
	void *p = malloc(n);
	sink = p;
	return p;
}

NOINL static void *with_alloca(int n, size_t sz)
{
	char *buf = alloca(16 + (size_t)n * 8);
	memset(buf, n, 16);
	void *p = leaf(sz + (size_t)buf[3] % 2);
	__asm__ volatile("" : : "r"(buf) : "memory");
	return p;
}

NOINL static void *with_vla(int n, size_t sz)
{
	char vla[depth_var + n];
	memset(vla, 1, sizeof vla);
	void *p = n & 1 ? with_alloca(n, sz) : leaf(sz);
	__asm__ volatile("" : : "r"(vla) : "memory");
	return p;
}

NOINL static void *down(int n, size_t sz)
{
	if (n == 0)
		return with_vla(n + (int)sz % 5, sz);
	void *p = down(n - 1, sz);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static int cmp(const void *a, const void *b)
{
	free(leaf(8));
	return *(const int *)a - *(const int *)b;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < 3000; i++)
		free(down((int)((i * 7 + id) % 120), (size_t)(i % 200) + 1));
	return NULL;
}

int main(void)
{
	for (int i = 0; i < 4000; i++)
		free(down(i % 300, (size_t)(i % 500) + 1));
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof v[0], cmp);
	void *(*fp)(int, size_t) = down;
	free(fp(5, 10));
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return 0;
}
"""

# Allocations in a signal handler: stacks through the kernel's signal frame
# (libunwind's job; the fast path must hand them over, not guess).
SIGNAL_SRC = r"""
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

void *volatile sink;
static volatile int hits;
static sigset_t alarm_set;

static void on_alarm(int sig)
{
	(void)sig;
	char *volatile p = malloc(32);
	free(p);
	hits++;
}

/* The handler never interrupts an allocator call here: glibc's malloc is
 * not async-signal-safe, and the plain program would corrupt its own heap
 * now and then.  It runs when the mask is lifted, inside work's frame. */
__attribute__((noinline)) static void work(int i)
{
	sigprocmask(SIG_BLOCK, &alarm_set, NULL);
	void *p = malloc(16 + (size_t)(i % 100));
	sink = p;
	free(p);
	sigprocmask(SIG_UNBLOCK, &alarm_set, NULL);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; hits < 50; i++)
		work(i);
	return 0;
}
"""

# Target programs (tests/integration/targets) and their arguments.
TARGETS = [
    ("recurse", []),
    ("leaks", []),
    ("line_alloc", []),
    ("realloc_chain", []),
    ("entry_points", []),
    ("cxx_alloc", []),
    ("tls_dtor", []),
    ("thread_churn", []),
    ("threads_handoff", []),
    ("dlopen_user", ["close"]),
    ("snapshots", []),
]


class UnwindVerify(unittest.TestCase):
    def verify(self, argv, name, env=None, min_checked=1, flags=(), output=None, reports=1):
        e = {"HEAPTRAIL_UNWIND": "verify"}
        e.update(env or {})
        p, _ = helpers.record(argv, name, env=e, timeout=300, flags=flags, output=output)
        err = p.stderr
        found = VERIFY.findall(err)
        self.assertEqual(len(found), reports, f"{argv}: {len(found)} verify reports; "
                         f"rc={p.returncode} stderr:\n" + err.decode(errors="replace")[-2000:])
        for c, mm in found:
            checked, mismatches = int(c), int(mm)
            self.assertEqual(mismatches, 0, f"{argv}: {mismatches} of {checked} stacks differ")
            self.assertGreaterEqual(checked, min_checked, f"{argv}: fast path unused")
        return found

    def test_followed_fork_child_unwinds_the_same_as_libunwind(self):
        # The child keeps recording (its own trace) with its stack ids reset.
        d = helpers.scratch_dir("unwind_verify_fork")
        self.verify([helpers.target("fork_threads")], None, flags=["--follow-fork"],
                    output=os.path.join(d, "fork.%p.htr"), reports=2)

    def test_targets_unwind_the_same_as_libunwind(self):
        for name, args in TARGETS:
            path = os.path.join(helpers.TARGETS, name)
            if not os.path.exists(path):
                continue
            with self.subTest(target=name):
                self.verify([path] + args, "unwind_verify_" + name)

    def deep_program(self, variant, source=DEEP_SRC, name="deep"):
        d = helpers.scratch_dir("unwind_verify_build_" + name + "_" + variant)
        src = os.path.join(d, name + ".c")
        with open(src, "w") as f:
            f.write(source)
        exe = os.path.join(d, name + "-" + variant)
        flag = "-fno-omit-frame-pointer" if variant == "fp" else "-fomit-frame-pointer"
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-g", flag, "-o", exe, src, "-lpthread"], check=True)
        return exe

    def test_deep_recursion_with_frame_pointers(self):
        exe = self.deep_program("fp")
        # 4000 + 64 + 1 + 12000 allocations, each with its stack checked
        # (minus a few the learning could not cover while another thread
        # was learning).
        self.verify([exe], "unwind_verify_deep_fp", min_checked=15000)
        self.verify([exe], "unwind_verify_deep_fp_d300", env={"HEAPTRAIL_DEPTH": "256"},
                    min_checked=15000)

    def test_deep_recursion_without_frame_pointers(self):
        exe = self.deep_program("nofp")
        self.verify([exe], "unwind_verify_deep_nofp", min_checked=15000)
        self.verify([exe], "unwind_verify_deep_nofp_d8", env={"HEAPTRAIL_DEPTH": "8"},
                    min_checked=15000)

    def test_signal_handler_stacks_unwind_the_same_as_libunwind(self):
        for variant in ("fp", "nofp"):
            with self.subTest(variant=variant):
                exe = self.deep_program(variant, SIGNAL_SRC, "signal")
                self.verify([exe], "unwind_verify_signal_" + variant, min_checked=1000)

    def test_python_unwinds_the_same_as_libunwind(self):
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
        code = ("import json, re, collections\n"
                "d = [dict(a=i, b=str(i)) for i in range(20000)]\n"
                "s = json.dumps(d); json.loads(s)\n"
                "c = collections.Counter(re.findall(r'\\d+', s))\n")
        self.verify([py, "-c", code], "unwind_verify_python", min_checked=1000)

    def test_sqlite3_unwinds_the_same_as_libunwind(self):
        sq = shutil.which("sqlite3")
        if not sq:
            self.skipTest("sqlite3 not installed")
        sql = ("create table t(a integer primary key, b text);"
               "with recursive c(x) as (select 1 union all select x+1 from c where x<20000)"
               " insert into t select x, hex(randomblob(20)) from c;"
               "create index tb on t(b); select count(*) from t where b like 'A%';")
        self.verify([sq, ":memory:", sql], "unwind_verify_sqlite3", min_checked=1000)


if __name__ == "__main__":
    unittest.main()
