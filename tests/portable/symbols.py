#!/usr/bin/env python3
"""The portable build (-Dportable=true) imports nothing Linux-only: every
library the build made (shared, and the static host kit) and the example
servers and clients are asked with `nm --undefined-only` for the calls
their fallbacks replace. One that imports any of them would not link on
macOS or a BSD.

    symbols.py BUILD_DIR
"""
import glob
import os
import re
import subprocess
import sys

LINUX_ONLY = re.compile(
    r"^(epoll_\w+|eventfd|accept4|sendfile(64)?|dup3|pipe2|syscall|memmem)$")


def main():
    build = sys.argv[1]
    libs = sorted(p for p in glob.glob(os.path.join(build, "libasyncore*.so.*"))
                  if os.path.isfile(p) and not os.path.islink(p))
    if not libs:
        print("no libasyncore*.so in %s" % build)
        return 1
    libs += glob.glob(os.path.join(build, "libasyncore-hostkit.a"))
    libs += [p for p in (os.path.join(build, "examples", n) for n in
                         ("echo_server", "echo_client", "http_server",
                          "http_client", "chat_server"))
             if os.path.isfile(p)]
    bad = 0
    for lib in libs:
        dynamic = [] if lib.endswith(".a") else ["-D"]
        out = subprocess.run(["nm"] + dynamic + ["--undefined-only", lib],
                             capture_output=True, text=True, check=True)
        names = [line.split()[-1].split("@")[0]
                 for line in out.stdout.splitlines()
                 if line.strip() and not line.endswith(":")]
        found = sorted(n for n in names if LINUX_ONLY.match(n))
        print("%s: %d imports%s" % (os.path.basename(lib), len(names),
                                     ", Linux-only: " + ", ".join(found)
                                     if found else ""))
        bad += len(found)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
