"""README's "Writing an adapter" shows examples/adapter/poll_host.c and
poll_host_kit.c whole, and says how long the adapter is: both must stay
true as the files change (the files themselves are built and run)."""
import os
import re
import sys

root = sys.argv[1]
readme = open(os.path.join(root, "README.md")).read()
blocks = re.findall(r"```c\n(.*?)```", readme, re.S)
failed = False
for name in ("poll_host.c", "poll_host_kit.c"):
    text = open(os.path.join(root, "examples", "adapter", name)).read()
    if text not in blocks:
        print("README: the code of examples/adapter/%s is not shown as it is"
              % name)
        failed = True
lines = len(open(os.path.join(root, "examples", "adapter",
                              "poll_host.c")).read().splitlines())
m = re.search(r"loop, in (\d+) lines", readme)
if not m or int(m.group(1)) != lines or lines >= 80:
    print("README says the adapter has %s lines; it has %d (limit: under 80)"
          % (m.group(1) if m else "?", lines))
    failed = True
sys.exit(1 if failed else 0)
