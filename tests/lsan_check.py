#!/usr/bin/env python3
"""Checks that tests/lsan.supp can never hide a libasyncore leak.

  lsan_check.py SUPP SRCDIR            static check
  lsan_check.py SUPP SRCDIR CANARY     also run the ASan canary

Static: every `leak:PATTERN` is matched, as LeakSanitizer matches it
(substring, `*` wildcard, `^`/`$` anchors), against every name a frame of
ours can carry: our library and program file names, our source files, and
every function defined in src/ and examples/. Any match fails.
Canary: a program that leaks an ac_map must still get a leak report naming
a libasyncore function while the suppressions are in force."""
import glob
import os
import re
import subprocess
import sys


def to_regex(pattern):
    anchored_start = pattern.startswith("^")
    anchored_end = pattern.endswith("$")
    core = pattern.strip("^$")
    rx = ".*".join(re.escape(part) for part in core.split("*"))
    return re.compile(("^" if anchored_start else "") + rx +
                      ("$" if anchored_end else ""))


def our_names(src):
    names = ["libasyncore.so.0", "libasyncore-glib.so.0",
             "libasyncore-uv.so.0", "libasyncore.a"]
    files = []
    for sub in ("src", "examples", "include", "tests"):
        files += glob.glob(os.path.join(src, sub, "**", "*.[ch]"),
                           recursive=True)
    for f in files:
        names.append(os.path.relpath(f, src))
        names.append(os.path.abspath(f))
        names.append(os.path.splitext(os.path.basename(f))[0])  # programs
    fn = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\([^;]*$", re.M)
    for f in files:
        if f.endswith(".c") and "/tests/" not in f:
            with open(f, errors="replace") as fh:
                names += fn.findall(fh.read())
    return names


def main():
    supp, src = sys.argv[1], sys.argv[2]
    patterns = []
    with open(supp) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                kind, _, pat = line.partition(":")
                if kind != "leak" or not pat:
                    print("%s: not a leak suppression: %r" % (supp, line))
                    return 1
                patterns.append(pat)
    names = our_names(src)
    bad = [(p, n) for p in patterns for n in names if to_regex(p).search(n)]
    for p, n in bad:
        print("suppression %r matches our own %r" % (p, n))
    if bad:
        return 1
    print("%d suppressions checked against %d names of ours: none match"
          % (len(patterns), len(names)))
    if len(sys.argv) > 3:
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=1"
        env["LSAN_OPTIONS"] = "suppressions=" + os.path.abspath(supp)
        r = subprocess.run([sys.argv[3]], capture_output=True, text=True,
                           env=env, timeout=60)
        if r.returncode == 0 or "ac_map_new" not in r.stderr or \
                "detected memory leaks" not in r.stderr:
            print("the canary's leak was not reported (exit %d):\n%s"
                  % (r.returncode, r.stderr))
            return 1
        print("canary: leak through ac_map_new reported under the "
              "suppressions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
