"""Rust function names in reports (issue 20.8): v0-mangled names ("_RNv...")
and legacy names with LLVM's ".llvm.NNN" suffix are demangled (libiberty's
Rust demangler), the hash dropped.  The program is built here with rustc
(no crates); the test skips when rustc is missing."""

import os
import shutil
import subprocess
import unittest

from helpers import HERE, analyze, record, require_tools, scratch_dir

SOURCE = os.path.join(HERE, "rust", "names.rs")


def rustc():
    return shutil.which("rustc") or (
        "/root/.cargo/bin/rustc" if os.access("/root/.cargo/bin/rustc", os.X_OK) else None)


class RustNames(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.rustc = rustc()
        if not cls.rustc:
            raise unittest.SkipTest("rustc not installed")
        cls.dir = scratch_dir("rust_names")

    def build(self, name, *flags):
        out = os.path.join(self.dir, name)
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
        p = subprocess.run([self.rustc, "-C", "opt-level=0", *flags, "-o", out, SOURCE],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return out

    def functions(self, program, name):
        p, trace = record([program], name, flags=["-q"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"1000 3\n")
        top = analyze("top", trace, "--by", "traceback", "--frames", "all",
                      "--full-names", "-n", "0")
        return {f.get("function") for st in top["stats"] for f in st.get("frames") or []}

    def test_v0_mangled_names_are_demangled(self):
        prog = self.build("names_v0", "-g", "-C", "symbol-mangling-version=v0")
        names = self.functions(prog, "rust_v0")
        self.assertIn("names::make_table", names, sorted(n for n in names if n and "names" in n))
        self.assertIn("names::shapes::boxed_square", names)
        self.assertFalse([n for n in names if n and n.startswith("_R")], names)

    def test_legacy_names_with_an_llvm_suffix_are_demangled(self):
        # No debug info: names come from the symbol table, where ThinLTO
        # leaves ".llvm.<digits>" on promoted locals; objcopy gives one
        # function that suffix.
        prog = self.build("names_legacy")
        nm = subprocess.run(["nm", prog], stdout=subprocess.PIPE, check=True).stdout.decode()
        sym = next(line.split()[-1] for line in nm.splitlines()
                   if "5names10make_table17h" in line)
        renamed = prog + "_llvm"
        subprocess.run(["objcopy", "--redefine-sym", f"{sym}={sym}.llvm.4567", prog, renamed],
                       check=True)
        names = self.functions(renamed, "rust_llvm")
        self.assertIn("names::make_table", names, sorted(n for n in names if n and "names" in n))
        self.assertIn("names::shapes::boxed_square", names)
        self.assertFalse([n for n in names if n and (".llvm." in n or "::h" in n)], names)


if __name__ == "__main__":
    unittest.main()
