#!/usr/bin/env python3
"""gtk_chat under Xvfb against chat_server: it connects, sends, receives,
shows what it received on stdout, and quits by itself; both modes; a 10 MB
burst arrives whole (chat_window.py). Usage: gtk_test.py BUILD_EXAMPLES_DIR"""
import os
import shutil
import subprocess
import unittest

import chat_window

XVFB = shutil.which("xvfb-run")


@unittest.skipUnless(XVFB, "xvfb-run is not installed")
class GtkChatTests(chat_window.ChatWindowTests, unittest.TestCase):
    NAME = "gtk"
    BAD_MODE = "busy"
    MODE = "source"

    def window(self, args, stats=False):
        env = dict(os.environ, GSK_RENDERER="cairo", NO_AT_BRIDGE="1",
                   GTK_A11Y="none")
        if stats:
            env["GTK_CHAT_STATS"] = "1"
        return subprocess.Popen([XVFB, "-a", self.program()] + args,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    def test_source_mode(self):
        self.converse("source")

    def test_idle_mode(self):
        self.converse("idle")


if __name__ == "__main__":
    chat_window.main()
