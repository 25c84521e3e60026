#!/usr/bin/env python3
"""qt_chat against chat_server on Qt's offscreen platform (and once under
Xvfb when it is installed): it connects, sends, receives, shows what it
received on stdout, and quits by itself; both modes; a 10 MB burst arrives
whole; the screenshot is a PNG. Usage: qt_test.py BUILD_EXAMPLES_DIR"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

EX = None
XVFB = shutil.which("xvfb-run")


def qt_cmd(*args, xvfb=False):
    return ([XVFB, "-a"] if xvfb else []) + [EX + "/qt/qt_chat"] + list(args)


def qt_env(xvfb=False, **extra):
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    if not xvfb:
        env["QT_QPA_PLATFORM"] = "offscreen"
    env.update({"XDG_RUNTIME_DIR": tempfile.gettempdir(),
                "NO_AT_BRIDGE": "1"}, **extra)
    return env


class Peer:
    def __init__(self, port, nick):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
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


class QtChatTests(unittest.TestCase):
    def setUp(self):
        self.srv = subprocess.Popen([EX + "/chat_server", "--port", "0"],
                                    stdout=subprocess.PIPE, text=True)
        m = re.fullmatch(r"listening on (.+):(\d+)\n",
                         self.srv.stdout.readline())
        self.port = int(m.group(2))

    def tearDown(self):
        self.srv.send_signal(signal.SIGTERM)
        self.srv.communicate(timeout=10)

    def converse(self, mode, xvfb=False, extra=()):
        bob = Peer(self.port, "bob")
        qt = subprocess.Popen(
            qt_cmd("--port", str(self.port), "--nick", "alice", "--mode",
                   mode, "--send", "hello from qt", "--quit-after", "4",
                   *extra, xvfb=xvfb),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=qt_env(xvfb))
        try:
            # alice's line proves she is connected and in the room
            self.assertEqual(bob.line(), "alice: hello from qt")
            bob.s.sendall(b"hi alice\nhow are you\n")
            out, err = qt.communicate(timeout=60)
        finally:
            if qt.poll() is None:
                qt.kill()
        self.assertEqual(qt.returncode, 0, err)
        self.assertEqual(out.splitlines(), ["bob: hi alice", "bob: how are you"])
        bob.s.close()

    def test_notifier_mode(self):
        self.converse("notifier")

    def test_idle_mode(self):
        self.converse("idle")

    def test_unix_dispatcher(self):
        os.environ["QT_NO_GLIB"] = "1"
        try:
            self.converse("notifier")
        finally:
            del os.environ["QT_NO_GLIB"]

    @unittest.skipUnless(XVFB, "xvfb-run is not installed")
    def test_under_xvfb(self):
        self.converse("notifier", xvfb=True)

    def test_screenshot(self):
        with tempfile.TemporaryDirectory() as d:
            png = os.path.join(d, "qt_chat.png")
            self.converse("notifier", extra=("--screenshot", png))
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_burst_10mb(self):
        bob = Peer(self.port, "bob")
        qt = subprocess.Popen(
            qt_cmd("--port", str(self.port), "--nick", "alice", "--send",
                   "ready", "--quit-after", "12"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=qt_env(QT_CHAT_STATS="1"))
        try:
            self.assertEqual(bob.line(), "alice: ready")
            line = "x" * 994
            n = 10 * 1024 * 1024 // 1000
            bob.s.sendall(("%s\n" % line).encode() * n)
            out, err = qt.communicate(timeout=90)
        finally:
            if qt.poll() is None:
                qt.kill()
        self.assertEqual(qt.returncode, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), n)
        self.assertEqual(set(lines), {"bob: " + line})
        stall = re.search(r"max main-loop stall (\d+) ms", err)
        self.assertIsNotNone(stall, err)
        # reported, not asserted: machines here are shared and noisy
        print("\n10 MB burst: %d lines, max main-loop stall %s ms"
              % (n, stall.group(1)), file=sys.stderr)
        bob.s.close()

    def test_bad_arguments(self):
        for args in (["--nick", "x"], ["--port", "1"],
                     ["--port", "1", "--nick", "x", "--mode", "source"],
                     ["--port", "0", "--nick", "x"], ["--bogus", "1"]):
            r = subprocess.run([EX + "/qt/qt_chat"] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = subprocess.run([EX + "/qt/qt_chat", "--help"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage:", r.stdout)


if __name__ == "__main__":
    EX = sys.argv.pop(1)
    unittest.main(verbosity=2)
