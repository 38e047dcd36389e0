"""Real programs behave exactly the same under the recorder: same stdout,
stderr and exit status (python3 -c, sqlite3, perl, git)."""

import os
import shutil
import sys
import unittest

from helpers import read_end, record, require_tools, run, scratch_dir

PY_SCRIPTS = {
    "py_exit5": "import sys\nd = {str(i): 'x' * i for i in range(3000)}\n"
                "print(len(d), sum(map(len, d.values())))\n"
                "print('to stderr', file=sys.stderr)\nsys.exit(5)\n",
    "py_exception": "class Node:\n    __slots__ = ('v', 'n')\n"
                    "l = []\nfor i in range(10000): l.append(i * 2)\n"
                    "print(sum(l))\nraise ValueError('boom')\n",
    "py_threads": "import threading, json\nout = []\n"
                  "def work(k): out.append(len(json.dumps(list(range(k * 1000)))))\n"
                  "ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n"
                  "[t.start() for t in ts]; [t.join() for t in ts]\nprint(sorted(out))\n",
}


class SameBehaviour(unittest.TestCase):
    SLOW = 3

    def setUp(self):
        require_tools()

    def same(self, argv, name, cwd_plain=None, cwd_rec=None, env=None, input=None):
        plain = run(argv, cwd=cwd_plain, env=env, input=input)
        p, path = record(argv, name, flags=["-q"], cwd=cwd_rec, env=env, input=input)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (plain.returncode, plain.stdout, plain.stderr), f"{argv}")
        self.assertIsNotNone(read_end(path), f"{name}: trace has no END record")
        return plain

    def test_python_scripts(self):
        python = shutil.which("python3") or sys.executable
        for name, script in PY_SCRIPTS.items():
            with self.subTest(script=name):
                self.same([python, "-c", script], name)

    def test_sqlite3(self):
        if not shutil.which("sqlite3"):
            self.skipTest("sqlite3 not installed")
        sql = ("create table t(k integer primary key, v text);"
               "with recursive n(i) as (select 1 union all select i+1 from n where i<5000)"
               " insert into t select i, printf('%08d', i*7) from n;"
               "select count(*), sum(length(v)), max(v) from t;"
               "select nosuchcolumn from t;")
        p = self.same(["sqlite3", ":memory:", sql], "sqlite3")
        self.assertNotEqual(p.returncode, 0)  # the last statement fails

    def test_perl(self):
        if not shutil.which("perl"):
            self.skipTest("perl not installed")
        script = ('my %h; $h{$_} = "v" x ($_ % 50) for 1..20000; '
                  'print scalar(keys %h), "\\n"; warn "careful\\n"; exit 3;')
        p = self.same(["perl", "-e", script], "perl")
        self.assertEqual(p.returncode, 3)

    def test_git(self):
        if not shutil.which("git"):
            self.skipTest("git not installed")
        env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.invalid",
               "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.invalid",
               "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
               "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
               "GIT_CONFIG_NOSYSTEM": "1", "HOME": scratch_dir("git_home")}
        a, b = scratch_dir("git_plain"), scratch_dir("git_rec")
        steps = [["git", "init", "-q", "-b", "main", "."],
                 ["sh", "-c", "seq 1 2000 > numbers && git add numbers"],
                 ["git", "commit", "-q", "-m", "numbers"],
                 ["git", "log", "--format=%H %s"],
                 ["git", "show", "--stat", "HEAD"],
                 ["git", "cat-file", "-p", "HEAD:nosuchfile"]]
        for i, argv in enumerate(steps):
            with self.subTest(step=" ".join(argv)):
                self.same(argv, f"git_{i}", cwd_plain=a, cwd_rec=b, env=env)
