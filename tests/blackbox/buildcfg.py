"""What the build under test was made with: the AC_HAVE_* checks of its
ac_config.h (the portable build has no epoll, for one)."""
import os
import re


def have(examples_dir, name):
    """True when the build holding examples_dir has AC_HAVE_<name>."""
    path = os.path.join(os.path.dirname(os.path.abspath(examples_dir)),
                        "ac_config.h")
    with open(path) as f:
        return re.search(r"#define AC_HAVE_%s 1\b" % name, f.read()) \
            is not None
