#!/usr/bin/env python3
"""help2man.py PROGRAM VERSION OUTPUT: a man page made from `PROGRAM --help`.

The example programs document themselves with --help (usage lines, then a
description); the installed page says the same, so the two cannot drift.
The name's one-line summary is the description's first sentence."""
import os
import re
import subprocess
import sys


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + l if l.startswith((".", "'")) else l
                     for l in text.split("\n"))


def main():
    prog, version, out = sys.argv[1:4]
    name = os.path.basename(prog)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               ASAN_OPTIONS="detect_leaks=0")  # sanitized builds run it too
    r = subprocess.run([prog, "--help"], capture_output=True, text=True,
                       env=env, timeout=60)
    text = (r.stdout or r.stderr).rstrip("\n")
    if not text.startswith("usage: "):
        sys.exit("%s --help printed no usage line: %r" % (name, text[:200]))
    lines = text.split("\n")
    n = 1
    while n < len(lines) and lines[n].startswith(" "):
        n += 1
    # continuation lines are indented under the name: keep that alignment
    usage = [l[len("usage: "):] for l in lines[:n]]
    desc = " ".join(l.strip() for l in lines[n:] if l.strip())
    m = re.match(r"(.+?\.)(\s|$)", desc)
    summary = (m.group(1) if m else desc).rstrip(".")
    page = [
        '.TH %s 1 "" "libasyncore %s" "libasyncore examples"'
        % (name.upper(), version),
        ".SH NAME",
        "%s \\- %s" % (name, roff(summary)),
        ".SH SYNOPSIS",
        ".nf",
        roff("\n".join(usage)),
        ".fi",
        ".SH DESCRIPTION",
        roff(desc),
        ".SH SEE ALSO",
        "The libasyncore README and API reference (package libasyncore\\-doc).",
    ]
    with open(out, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
