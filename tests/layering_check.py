#!/usr/bin/env python3
"""The core floor knows no layer (issue: core layering).

  layering_check.py SRCDIR

Fails if a file of the floor (src/core/*.c, *.h) includes a layer header
or calls a function defined in a layer (src/core/layers/), or if any file
under src/ is longer than 500 lines. Reads the object files' symbols when
a build directory is given as a second argument, so a call through a macro
is caught too."""
import glob
import os
import re
import subprocess
import sys

MAX_LINES = 500


def defined_functions(path):
    text = open(path, errors="replace").read()
    return set(re.findall(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\([^;{]*\)\s*\{",
                          text, re.M))


def main():
    src = os.path.join(sys.argv[1], "src")
    floor = sorted(glob.glob(os.path.join(src, "core", "*.[ch]")))
    layers = sorted(glob.glob(os.path.join(src, "core", "layers", "*.[ch]")))
    bad = []
    layer_fns = set()
    for f in layers:
        layer_fns |= {n for n in defined_functions(f) if n.startswith("ac")}
    for f in floor:
        text = open(f, errors="replace").read()
        if re.search(r'#include\s+"(layers/|\.\./)', text):
            bad.append("%s includes a layer header" % f)
        for name in sorted(layer_fns):
            if re.search(r"\b%s\s*\(" % re.escape(name), text):
                bad.append("%s calls %s, defined in a layer" % (f, name))
    if len(sys.argv) > 2:  # the symbols the floor's objects really use
        objs = glob.glob(os.path.join(sys.argv[2], "libasyncore.so*.p",
                                      "src_core_*.o"))
        for o in objs:
            if "_layers_" in o:
                continue
            out = subprocess.run(["nm", "-u", o], capture_output=True,
                                 text=True).stdout.split()
            for name in sorted(layer_fns & set(out)):
                bad.append("%s references %s, defined in a layer" % (o, name))
        if not objs:
            bad.append("no object files under %s" % sys.argv[2])
    for f in glob.glob(os.path.join(src, "**", "*.*"), recursive=True):
        n = sum(1 for _ in open(f, errors="replace"))
        if n > MAX_LINES:
            bad.append("%s has %d lines (at most %d)" % (f, n, MAX_LINES))
    for b in bad:
        print(b)
    if bad:
        return 1
    print("%d floor files, %d layer files, %d layer functions: no arrow "
          "from the floor to a layer" % (len(floor), len(layers),
                                         len(layer_fns)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
