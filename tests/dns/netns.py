#!/usr/bin/env python3
"""Run a command in a private network and mount namespace whose only
nameserver is a small DNS server on 127.0.0.1:53, answering for names under
.test (and nothing else: every other name is refused), and whose /etc/hosts
is the test's own. Nothing leaves the machine, and the machine's resolver
configuration is not touched.

    netns.py [--] COMMAND ARGS...

Needs root and unshare(1); otherwise exits 77 (meson's "skipped").

The zone (every answer after the name's delay; "silent" names never answer):
    dual.test       AAAA ::1, A 127.0.0.1
    v4.test         A 127.0.0.1 (no AAAA: NODATA)
    v6.test         AAAA ::1
    slow.test       as dual.test, each answer 2 s late
    slow1.test      as dual.test, each answer 1 s late
    slow4.test      A 127.0.0.1 at once, AAAA ::1 after 300 ms
    slowa.test      AAAA ::1 at once, A 127.0.0.1 after 2 s
    silent.test     never answered
    nN.many.test    A 127.0.0.1 (any N), AAAA ::1
    fail.test       SERVFAIL
    anything else under .test: NXDOMAIN
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HOSTS = """127.0.0.1 localhost
::1 localhost ip6-localhost
127.0.0.1 hosts4.test
"""

A, AAAA = 1, 28
LOOP4 = socket.inet_pton(socket.AF_INET, "127.0.0.1")
LOOP6 = socket.inet_pton(socket.AF_INET6, "::1")


def zone(name, qtype):
    """(rcode, [rdata], delay seconds) or None to stay silent."""
    both = {A: [LOOP4], AAAA: [LOOP6]}
    if name == "dual.test":
        return 0, both[qtype] if qtype in both else [], 0
    if name == "v4.test":
        return 0, [LOOP4] if qtype == A else [], 0
    if name == "v6.test":
        return 0, [LOOP6] if qtype == AAAA else [], 0
    if name == "slow.test":
        return 0, both.get(qtype, []), 2.0
    if name == "slow1.test":
        return 0, both.get(qtype, []), 1.0
    if name == "slow4.test":
        return 0, both.get(qtype, []), 0.3 if qtype == AAAA else 0
    if name == "slowa.test":
        return 0, both.get(qtype, []), 2.0 if qtype == A else 0
    if name == "silent.test":
        return None
    if name == "fail.test":
        return 2, [], 0
    if name.endswith(".many.test"):
        return 0, both.get(qtype, []), 0
    if name.endswith(".test") or name == "test":
        return 3, [], 0
    return 5, [], 0  # REFUSED: never a name outside .test


def parse(query):
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    pos, labels = 12, []
    while query[pos]:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    pos += 1
    qtype, qclass = struct.unpack("!HH", query[pos:pos + 4])
    return qid, flags, ".".join(labels).lower(), qtype, query[12:pos + 4]


def answer(query):
    qid, flags, name, qtype, question = parse(query)
    z = zone(name, qtype)
    if z is None:
        return None, 0
    rcode, rdata, delay = z
    head = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1,
                       len(rdata), 0, 0)
    body = question
    for r in rdata:
        body += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(r)) + r
    return head + body, delay


def serve(sock, log):
    while True:
        try:
            query, peer = sock.recvfrom(4096)
        except OSError:
            return
        try:
            reply, delay = answer(query)
            log.write("%.3f %s\n" % (time.monotonic(), parse(query)[2:4]))
            log.flush()
        except Exception as e:  # a malformed query gets no answer
            print("dns: %r" % e, file=sys.stderr)
            continue
        if reply is None:
            continue
        if delay:
            threading.Timer(delay, sock.sendto, (reply, peer)).start()
        else:
            sock.sendto(reply, peer)


def inside(cmd):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    tmp = tempfile.mkdtemp(prefix="acdns")
    with open(os.path.join(tmp, "resolv.conf"), "w") as f:
        # one try of 3 s (slow.test answers in 2): a silent name holds a
        # lookup, and its socket, that long
        f.write("nameserver 127.0.0.1\noptions timeout:3 attempts:1\n")
    with open(os.path.join(tmp, "hosts"), "w") as f:
        f.write(HOSTS)
    for name in ("resolv.conf", "hosts"):
        subprocess.run(["mount", "--bind", os.path.join(tmp, name),
                        "/etc/" + name], check=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    log = open(os.path.join(tmp, "queries.log"), "w")
    threading.Thread(target=serve, args=(sock, log), daemon=True).start()
    env = dict(os.environ, AC_TEST_DNS_LOG=log.name)
    rc = subprocess.call(cmd, env=env)
    sock.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return rc


def main():
    args = sys.argv[1:]
    if args[:1] == ["--inside"]:
        sys.exit(inside(args[1:]))
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: netns.py [--] COMMAND ARGS...")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("skipped: needs root and unshare(1) for a private network")
        sys.exit(77)
    probe = subprocess.run(["unshare", "-m", "-n", "true"],
                           stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        print("skipped: unshare -m -n is not allowed here")
        sys.exit(77)
    sys.exit(subprocess.call(["unshare", "-m", "-n", sys.executable,
                              os.path.abspath(__file__), "--inside"] + args))


if __name__ == "__main__":
    main()
