#!/usr/bin/env python3
"""Python 3.11 asynchat on the same input as chat_parse.c.
   chat_parse.py [LINE_BYTES] [MEGABYTES] | --long MEGABYTES READ_BYTES"""
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asynchat  # noqa: E402


class Chat(asynchat.async_chat):
    def __init__(self):
        super().__init__()
        self.incoming_ = []
        self.lines = 0
        self.feed = None

    def recv(self, n):
        return self.feed

    def collect_incoming_data(self, data):
        self.incoming_.append(data)

    def found_terminator(self):
        b"".join(self.incoming_)
        self.incoming_ = []
        self.lines += 1


def main():
    long_mode = len(sys.argv) > 1 and sys.argv[1] == "--long"
    c = Chat()
    if long_mode:
        total = int(sys.argv[2]) << 20
        step = int(sys.argv[3])
        data = b"a" * total + b"\r\n"
        c.set_terminator(b"\r\n")
    else:
        line = int(sys.argv[1]) if len(sys.argv) > 1 else 20
        total = (int(sys.argv[2]) if len(sys.argv) > 2 else 20) << 20
        data = (b"a" * (line - 1) + b"\n") * (total // line)
        step = 65536
        c.set_terminator(b"\n")
    t0 = time.perf_counter()
    for off in range(0, len(data), step):
        c.feed = data[off:off + step]
        c.handle_read()
    t = time.perf_counter() - t0
    if long_mode:
        print("long_line bytes=%d read=%d lines=%d seconds=%.4f MB_per_s=%.0f"
              % (len(data), step, c.lines, t, len(data) / t / 1e6))
    else:
        print("lines=%d line_bytes=%d seconds=%.4f lines_per_s=%.0f"
              % (c.lines, line, t, c.lines / t))


if __name__ == "__main__":
    main()
