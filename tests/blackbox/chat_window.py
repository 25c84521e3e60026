"""What gtk_test.py and qt_test.py share: a chat_server per test, a plain
socket peer in the room, and the tests every chat window passes (a
conversation, a 10 MB burst, bad arguments). A test class mixes in
ChatWindowTests and says how to start its window (window)."""
import os
import re
import signal
import shutil
import socket
import ssl
import subprocess
import sys
import unittest

EX = None  # the build's examples directory (main() takes it from argv)


class Peer:
    def __init__(self, port, nick, tls=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            self.s = tls.wrap_socket(self.s, server_hostname="127.0.0.1")
        self.s.sendall(nick.encode() + b"\n")
        self.buf = b""

    def line(self, timeout=30):
        self.s.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("EOF")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


class ChatWindowTests:
    NAME = None      # "gtk" or "qt": the program is EX/NAME/NAME_chat
    BAD_MODE = None  # a --mode the program refuses
    MODE = None      # its default --mode

    def program(self):
        return os.path.join(EX, self.NAME, self.NAME + "_chat")

    def window(self, args, stats=False, **how):
        """Start the window with `args` (stdout and stderr piped)."""
        raise NotImplementedError

    def setUp(self):
        self.certs = None
        self.start_server()

    def start_server(self, *extra):
        self.srv = subprocess.Popen([EX + "/chat_server", "--port", "0",
                                     *extra],
                                    stdout=subprocess.PIPE, text=True)
        m = re.fullmatch(r"listening on (.+):(\d+)\n",
                         self.srv.stdout.readline())
        self.port = int(m.group(2))

    def tearDown(self):
        self.srv.send_signal(signal.SIGTERM)
        self.srv.communicate(timeout=10)
        if self.certs:
            shutil.rmtree(self.certs, ignore_errors=True)

    def test_tls(self):
        """chat_server --tls-cert and the window with --tls --ca: the same
        conversation over TLS; without --ca the test CA is refused."""
        make = os.path.join(EX, "..", "tests", "tls_make_certs")
        if not os.path.exists(make):
            self.skipTest("built without TLS or tests")
        self.tearDown()  # the plain server of setUp
        self.certs = subprocess.run([make], capture_output=True, text=True,
                                    check=True).stdout.strip()
        ca = os.path.join(self.certs, "ca.pem")
        self.start_server("--tls-cert", os.path.join(self.certs, "server.pem"),
                          "--tls-key", os.path.join(self.certs, "key.pem"))
        self.converse(self.MODE, ["--tls", "--ca", ca],
                      tls=ssl.create_default_context(cafile=ca))
        w = self.window(["--port", str(self.port), "--nick", "eve", "--tls",
                         "--quit-after", "3"])
        out, err = w.communicate(timeout=60)
        self.assertEqual(w.returncode, 1, err)
        self.assertIn("tls: certificate verify failed", err)

    def converse(self, mode, extra=(), tls=None, **how):
        bob = Peer(self.port, "bob", tls)
        hello = "hello from " + self.NAME
        w = self.window(["--port", str(self.port), "--nick", "alice",
                         "--mode", mode, "--send", hello, "--quit-after",
                         "4", *extra], **how)
        try:
            # alice's line proves she is connected and in the room
            self.assertEqual(bob.line(), "alice: " + hello)
            bob.s.sendall(b"hi alice\nhow are you\n")
            out, err = w.communicate(timeout=60)
        finally:
            if w.poll() is None:
                w.kill()
        self.assertEqual(w.returncode, 0, err)
        self.assertEqual(out.splitlines(), ["bob: hi alice", "bob: how are you"])
        bob.s.close()

    def burst(self, payload, extra=(), quit_after="12"):
        """The window in the room with GTK/QT_CHAT_STATS, bob sends
        `payload` once alice is there; (stdout lines, stderr) at its exit."""
        bob = Peer(self.port, "bob")
        w = self.window(["--port", str(self.port), "--nick", "alice",
                         "--send", "ready", "--quit-after", quit_after,
                         *extra], stats=True)
        try:
            self.assertEqual(bob.line(), "alice: ready")
            bob.s.sendall(payload)
            out, err = w.communicate(timeout=90)
        finally:
            if w.poll() is None:
                w.kill()
            bob.s.close()
        self.assertEqual(w.returncode, 0, err)
        self.assertRegex(err, r"max main-loop stall (\d+) ms")
        return out.splitlines(), err

    def test_burst_10mb(self):
        line = "x" * 994
        n = 10 * 1024 * 1024 // 1000
        lines, err = self.burst(("%s\n" % line).encode() * n)
        self.assertEqual(len(lines), n)
        self.assertEqual(set(lines), {"bob: " + line})
        stall = re.search(r"max main-loop stall (\d+) ms", err)
        # reported, not asserted: machines here are shared and noisy
        print("\n10 MB burst: %d lines, max main-loop stall %s ms"
              % (n, stall.group(1)), file=sys.stderr)

    def test_burst_4mb_short_lines(self):
        """4 MB of 30-byte lines (numbered): every one arrives once and in
        order, with the budget (the default) and without it; the window
        says how long its loop stopped and how long the library's longest
        iteration was (reported, not asserted)."""
        n = 4 * 1024 * 1024 // 30
        text = ["%08d%s" % (i, "y" * 16) for i in range(n)]
        for budget in ("8", "0"):
            lines, err = self.burst(("\n".join(text) + "\n").encode(),
                                    ["--budget", budget], quit_after="6")
            self.assertEqual(len(lines), n)
            self.assertTrue(lines == ["bob: " + t for t in text],
                            "lines lost, repeated or out of order")
            stall = re.search(r"max main-loop stall (\d+) ms", err)
            lib = re.search(r"library loop delay p99 ([\d.]+) ms, max "
                            r"([\d.]+) ms, (\d+) budget cuts", err)
            self.assertIsNotNone(lib, err)
            print("\n4 MB of 30-byte lines, budget %s ms: max main-loop stall "
                  "%s ms; the library's longest iteration %s ms, %s cuts"
                  % (budget, stall.group(1), lib.group(2), lib.group(3)),
                  file=sys.stderr)

    def test_bad_arguments(self):
        for args in (["--nick", "x"], ["--port", "1"],
                     ["--port", "1", "--nick", "x", "--mode", self.BAD_MODE],
                     ["--port", "0", "--nick", "x"], ["--bogus", "1"]):
            r = subprocess.run([self.program()] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = subprocess.run([self.program(), "--help"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage:", r.stdout)


def main():
    global EX
    EX = sys.argv.pop(1)
    unittest.main(module="__main__", verbosity=2)
