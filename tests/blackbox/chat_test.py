#!/usr/bin/env python3
"""Black-box tests of chat_server (DESIGN.md) over loopback.
Usage: chat_test.py BUILD_EXAMPLES_DIR"""
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import unittest

EX = None


class Client:
    def __init__(self, port, nick=None, host="127.0.0.1"):
        self.s = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        if nick is not None:
            self.send(nick + "\n")

    def send(self, text):
        self.s.sendall(text.encode() if isinstance(text, str) else text)

    def lines(self, n, timeout=10):
        """Read exactly n lines."""
        end = time.time() + timeout
        while self.buf.count(b"\n") < n:
            left = end - time.time()
            if left <= 0:
                raise AssertionError("timeout: have %r" % self.buf[:200])
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("EOF after %r" % self.buf[:200])
            self.buf += chunk
        out = []
        for _ in range(n):
            line, self.buf = self.buf.split(b"\n", 1)
            out.append(line.decode())
        return out

    def quiet(self, secs=0.2):
        """Nothing arrives for secs."""
        r, _, _ = select.select([self.s], [], [], secs)
        return not r and not self.buf

    def close(self):
        self.s.close()


class ChatTests(unittest.TestCase):
    def setUp(self):
        self.srv = subprocess.Popen([EX + "/chat_server", "--port", "0"],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        line = self.srv.stdout.readline()
        m = re.fullmatch(r"listening on (.+):(\d+)\n", line)
        self.assertIsNotNone(m, line)
        self.port = int(m.group(2))

    def tearDown(self):
        self.srv.send_signal(signal.SIGTERM)
        self.srv.communicate(timeout=10)
        self.assertEqual(self.srv.returncode, 0)

    def room(self, *nicks):
        cs = [Client(self.port, n) for n in nicks]
        # Connections are accepted in order, so once a later client's line
        # reaches everyone, everyone is in the room.
        probe = Client(self.port, "probe")
        probe.send("sync\n")
        for c in cs:
            self.assertEqual(c.lines(1), ["probe: sync"])
        probe.close()
        return cs

    def test_broadcast_to_others(self):
        a, b, c = self.room("alice", "bob", "carol")
        a.send("hello there\n")
        self.assertEqual(b.lines(1), ["alice: hello there"])
        self.assertEqual(c.lines(1), ["alice: hello there"])
        self.assertTrue(a.quiet())  # not echoed to the sender
        for x in (a, b, c):
            x.close()

    def test_crlf_and_empty_lines(self):
        a, b = self.room("alice", "bob")
        c = Client(self.port)
        c.send("carol\r\nhi\r\n\r\n")
        self.assertEqual(a.lines(2), ["carol: hi", "carol: "])
        self.assertEqual(b.lines(2), ["carol: hi", "carol: "])
        for x in (a, b, c):
            x.close()

    def test_one_byte_writes(self):
        a, = self.room("alice")
        c = Client(self.port)
        c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for ch in "bob\nsplit into bytes\n":
            c.send(ch)
            time.sleep(0.002)
        self.assertEqual(a.lines(1), ["bob: split into bytes"])
        a.close()
        c.close()

    def test_many_clients(self):
        n, k = 60, 5
        cs = self.room(*["c%d" % i for i in range(n)])
        for i, c in enumerate(cs):
            c.send("".join("m%d-%d\n" % (i, j) for j in range(k)))
        for i, c in enumerate(cs):
            got = c.lines((n - 1) * k, timeout=30)
            # from each sender, its lines in order
            per = {}
            for line in got:
                nick, msg = line.split(": ", 1)
                per.setdefault(nick, []).append(msg)
            self.assertNotIn("c%d" % i, per)
            for s in range(n):
                if s != i:
                    self.assertEqual(per["c%d" % s],
                                     ["m%d-%d" % (s, j) for j in range(k)])
        for c in cs:
            c.close()

    def test_line_too_long(self):
        a, b = self.room("alice", "bob")
        bad = Client(self.port, "mallory")
        a.lines(0)
        # 70000 bytes with no newline, and more keeps coming
        bad.s.settimeout(10)
        try:
            bad.send(b"x" * 70000)
            bad.send(b"y" * 200000 + b"\nnot broadcast\n")
        except OSError:
            pass
        got = b""
        while True:
            chunk = bad.s.recv(65536)  # must not raise ECONNRESET
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b"error: line too long\n")
        bad.close()
        # the others never saw any of it, and still chat
        a.send("still here\n")
        self.assertEqual(b.lines(1), ["alice: still here"])
        self.assertTrue(b.quiet())
        a.close()
        b.close()

    def test_error_line_survives_unread_backlog(self):
        """The error line must arrive even when it waits in the server's
        send buffer behind a backlog the client has not read yet, while the
        client is still sending: a plain close would reset the connection
        and destroy it."""
        bad = Client(self.port)
        bad.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        bad.send("mallory\n")
        a, = self.room("alice")
        self.assertEqual(bad.lines(1), ["probe: sync"])
        backlog = "".join("alice: %05d %s\n" % (i, "b" * 200)
                          for i in range(2000))
        a.send(backlog.replace("alice: ", ""))
        time.sleep(0.3)  # the server has queued it all towards mallory
        try:
            bad.send(b"x" * 70000)
            bad.send(b"y" * 100000)
        except OSError:
            pass
        got = b""
        bad.s.settimeout(10)
        while True:
            chunk = bad.s.recv(65536)  # ECONNRESET here is the failure
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, backlog.encode() + b"error: line too long\n")
        bad.close()
        a.close()

    def test_exactly_max_line_is_fine(self):
        a, b = self.room("alice", "bob")
        a.send(b"z" * 65536 + b"\n")
        self.assertEqual(b.lines(1, timeout=20), ["alice: " + "z" * 65536])
        a.close()
        b.close()

    def test_slow_client_does_not_stall_others(self):
        slow = Client(self.port, "slow")  # never reads
        slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        a, b = self.room("alice", "bob")
        payload = "p" * 1000
        for i in range(3000):  # ~3 MB towards the slow client
            a.send("%d %s\n" % (i, payload))
        got = b.lines(3000, timeout=30)
        self.assertEqual(got[-1], "alice: 2999 " + payload)
        b.send("bob speaks\n")
        self.assertEqual(a.lines(1), ["bob: bob speaks"])
        for x in (slow, a, b):
            x.close()

    def test_ipv6(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        srv = subprocess.Popen([EX + "/chat_server", "--host", "::1",
                                "--port", "0"], stdout=subprocess.PIPE,
                               text=True)
        port = int(srv.stdout.readline().rsplit(":", 1)[1])
        a, b = Client(port, "a", "::1"), Client(port, "b", "::1")
        time.sleep(0.1)
        a.send("v6\n")
        self.assertEqual(b.lines(1), ["a: v6"])
        a.close()
        b.close()
        srv.send_signal(signal.SIGINT)
        srv.communicate(timeout=10)
        self.assertEqual(srv.returncode, 0)


if __name__ == "__main__":
    EX = sys.argv.pop(1)
    unittest.main(verbosity=2)
