#!/usr/bin/env python3
"""debian/PACKAGE.symbols from the ABI dumps (abi/SONAME.abi): every
function and variable a dump lists, at the given version.
  symbols-from-abi.py ABI_DIR DEBIAN_DIR VERSION"""
import os
import re
import sys

abi_dir, debian, version = sys.argv[1:4]
for name in sorted(os.listdir(abi_dir)):
    m = re.fullmatch(r"lib(asyncore(?:-(\w+))?)\.so\.(\d+)\.abi", name)
    if not m:
        continue
    soname = "lib%s.so.%s" % (m.group(1), m.group(3))
    package = "libasyncore%s%s" % ("-" + m.group(2) if m.group(2) else "",
                                   m.group(3))
    text = open(os.path.join(abi_dir, name)).read()
    syms = sorted(set(re.findall(
        r"<elf-symbol name='(ac_\w+)'[^>]*is-defined='yes'", text)))
    with open(os.path.join(debian, package + ".symbols"), "w") as f:
        f.write("%s %s #MINVER#\n" % (soname, package))
        for s in syms:
            f.write(" %s@Base %s\n" % (s, version))
