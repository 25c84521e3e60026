#!/usr/bin/env python3
"""Slow and hostile peers at scale, against chat_server (loopback, bounded
in time). Usage: slow_peers.py BUILD_EXAMPLES_DIR [CONNS]

1. CONNS connections (default 10,000; this process and the server each
   hold that many descriptors) join with a nickname; half then trickle an
   unterminated line, 8 bytes every 0.5 s for 4 s, the other half say
   nothing. With --idle-timeout 2, every one of them gets
   "error: idle timeout" and the end of the stream (the silent ones at
   about 2 s, the tricklers 2 s after they stop). The server's peak RSS
   growth per connection is reported and must stay under the bound the
   README documents (4 KiB).
2. A peer that never reads while two others chat 80 MB: its backlog stops
   at chat_server's cap (64 MiB) and it is dropped with a reason on the
   server's log; the reader gets every line, in order."""
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

EX = sys.argv[1]
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
PER_CONN_BOUND = 4096


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1))


def start(*args):
    srv = subprocess.Popen([EX + "/chat_server", "--port", "0", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    port = int(srv.stdout.readline().rsplit(":", 1)[1])
    return srv, port


def stop(srv):
    srv.send_signal(signal.SIGTERM)
    out, err = srv.communicate(timeout=30)
    return srv.returncode, err


def tricklers():
    srv, port = start("--idle-timeout", "2")
    base = status_kb(srv.pid, "VmRSS")
    socks = []
    for i in range(CONNS):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"u%d\n" % i)
        s.setblocking(False)
        socks.append(s)
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    ended = set()
    t0 = time.time()
    next_trickle = t0
    peak = base
    while len(ended) < len(socks) and time.time() - t0 < 60:
        now = time.time()
        if now - t0 < 4 and now >= next_trickle:
            for s in socks[::2]:
                if s not in ended:
                    try:
                        s.send(b"trickle!")
                    except OSError:
                        pass
            next_trickle = now + 0.5
        peak = max(peak, status_kb(srv.pid, "VmRSS"))
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionError:
                chunk = b""
            if chunk:
                got[s] += chunk
            else:
                ended.add(s)
                sel.unregister(s)
    elapsed = time.time() - t0
    hwm = status_kb(srv.pid, "VmHWM")
    bad = [s for s in socks if got[s] != b"error: idle timeout\n"]
    for s in socks:
        s.close()
    rc, err = stop(srv)
    growth = (max(peak, hwm) - base) * 1024 / CONNS
    print("tricklers: %d connections (%d trickling, %d silent), all told "
          "'error: idle timeout' and closed in %.1f s; server RSS %d KiB "
          "before, peak %d KiB: %.0f B per connection (bound %d)"
          % (CONNS, len(socks[::2]), CONNS - len(socks[::2]), elapsed, base,
             max(peak, hwm), growth, PER_CONN_BOUND))
    ok = True
    if len(ended) < len(socks) or bad:
        print("tricklers: %d of %d not ended, %d without the idle-timeout "
              "line (e.g. %r)" % (len(socks) - len(ended), len(socks),
                                  len(bad), got[bad[0]] if bad else b""))
        ok = False
    if growth > PER_CONN_BOUND:
        print("tricklers: %.0f B per connection is over the bound" % growth)
        ok = False
    if rc != 0:
        print("tricklers: chat_server exited %d: %s" % (rc, err[-500:]))
        ok = False
    return ok


def non_reader():
    srv, port = start()
    mallory = socket.create_connection(("127.0.0.1", port))
    mallory.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    mallory.sendall(b"mallory\n")
    alice = socket.create_connection(("127.0.0.1", port))
    alice.sendall(b"alice\n")
    bob = socket.create_connection(("127.0.0.1", port))
    bob.sendall(b"bob\n")
    time.sleep(0.3)
    lines, size = 80000, 1000
    payload = b"x" * (size - 12)
    received = []

    def read_bob():
        buf = b""
        bob.settimeout(60)
        want = lines
        while want:
            chunk = bob.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
            parts = buf.split(b"\n")
            buf = parts.pop()
            received.extend(parts)
            want = lines - len(received)
    reader = threading.Thread(target=read_bob)
    reader.start()
    base = status_kb(srv.pid, "VmRSS")
    for i in range(lines):
        alice.sendall(b"%010d %s\n" % (i, payload))
    reader.join(120)
    hwm = status_kb(srv.pid, "VmHWM")
    for s in (mallory, alice, bob):
        s.close()
    rc, err = stop(srv)
    ok = len(received) == lines and all(
        r == b"alice: %010d %s" % (i, payload) for i, r in enumerate(received))
    dropped = "dropping mallory: it stopped reading" in err
    print("non-reader: alice sent %d MB; bob got %d of %d lines %s; mallory "
          "%s; server peak RSS %d MiB (base %d MiB, backlog cap 64 MiB)"
          % (lines * size >> 20, len(received), lines,
             "intact, in order" if ok else "DAMAGED",
             "dropped with 'dropping mallory: it stopped reading'" if dropped
             else "NOT dropped", hwm >> 10, base >> 10))
    return ok and dropped and rc == 0


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < CONNS + 100:
        print("slow_peers: the open-files hard limit is %d; %d connections "
              "need %d. Raise it to run this test." % (hard, CONNS, CONNS + 100))
        return 77
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ok = tricklers()
    ok = non_reader() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
