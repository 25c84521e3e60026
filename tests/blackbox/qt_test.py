#!/usr/bin/env python3
"""qt_chat against chat_server on Qt's offscreen platform (and once under
Xvfb when it is installed): it connects, sends, receives, shows what it
received on stdout, and quits by itself; both modes, both Qt dispatchers;
a 10 MB burst arrives whole (chat_window.py); the screenshot is a PNG.
Usage: qt_test.py BUILD_EXAMPLES_DIR"""
import os
import shutil
import subprocess
import tempfile
import unittest

import chat_window

XVFB = shutil.which("xvfb-run")


class QtChatTests(chat_window.ChatWindowTests, unittest.TestCase):
    NAME = "qt"
    BAD_MODE = "source"
    MODE = "notifier"

    def window(self, args, stats=False, xvfb=False, unix_dispatcher=False):
        env = dict(os.environ, XDG_RUNTIME_DIR=tempfile.gettempdir(),
                   NO_AT_BRIDGE="1")
        env.pop("QT_QPA_PLATFORM", None)
        if not xvfb:
            env["QT_QPA_PLATFORM"] = "offscreen"
        if stats:
            env["QT_CHAT_STATS"] = "1"
        if unix_dispatcher:
            env["QT_NO_GLIB"] = "1"
        return subprocess.Popen(([XVFB, "-a"] if xvfb else []) +
                                [self.program()] + args,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    def test_notifier_mode(self):
        self.converse("notifier")

    def test_idle_mode(self):
        self.converse("idle")

    def test_unix_dispatcher(self):
        self.converse("notifier", unix_dispatcher=True)

    @unittest.skipUnless(XVFB, "xvfb-run is not installed")
    def test_under_xvfb(self):
        self.converse("notifier", xvfb=True)

    def test_screenshot(self):
        with tempfile.TemporaryDirectory() as d:
            png = os.path.join(d, "qt_chat.png")
            self.converse("notifier", extra=("--screenshot", png))
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    chat_window.main()
