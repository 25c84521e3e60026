#!/usr/bin/env python3
"""Black-box fault tests: descriptor exhaustion at accept, a crowd of idle
and half-open connections, and a hostile client sending one huge line.
Loopback only, bounded. Usage: faults_test.py BUILD_EXAMPLES_DIR"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

EX = None


def start(cmd, limit=None):
    if limit:  # lower RLIMIT_NOFILE in the child only
        cmd = ["sh", "-c", "ulimit -n %d && exec \"$@\"" % limit, "sh"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    m = re.search(r":(\d+)$", line.strip())
    assert m, (line, p.stderr.read())
    return p, int(m.group(1))


def stop(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    return p.returncode, err


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        f = f.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def echo_once(port, data=b"ping"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


class FaultTests(unittest.TestCase):
    def test_emfile_flood(self):
        """With 48 descriptors, a flood of 300 connections: the server
        neither spins nor closes its listener, and serves again once
        descriptors free up."""
        p, port = start([EX + "/echo_server", "--port", "0"], limit=48)
        flood = []
        try:
            for _ in range(300):
                flood.append(socket.create_connection(("127.0.0.1", port),
                                                      timeout=10))
            time.sleep(0.3)
            c0 = cpu_s(p.pid)
            time.sleep(1.0)
            used = cpu_s(p.pid) - c0
            # paused between bounded retries: nowhere near a busy core
            self.assertLess(used, 0.3, "server used %.2fs CPU in 1s" % used)
            self.assertIsNone(p.poll())
            for s in flood:
                s.close()
            flood = []
            deadline = time.time() + 10
            while True:  # accepted again, and served
                try:
                    if echo_once(port) == b"ping":
                        break
                except OSError:
                    pass
                self.assertLess(time.time(), deadline, "listener did not resume")
                time.sleep(0.1)
        finally:
            for s in flood:
                s.close()
            code, err = stop(p)
        self.assertEqual(code, 0)
        self.assertIn("Too many open files", err)

    def test_idle_and_half_open_crowd(self):
        """1000 silent connections and 1000 half-open ones (the client shut
        its side down): the server keeps serving others at once."""
        p, port = start([EX + "/echo_server", "--port", "0"])
        crowd = []
        try:
            for i in range(2000):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                if i % 2:
                    s.shutdown(socket.SHUT_WR)
                crowd.append(s)
            for _ in range(20):
                data = os.urandom(1000)
                self.assertEqual(echo_once(port, data), data)
            data = os.urandom(100000)
            self.assertEqual(echo_once(port, data), data)
        finally:
            for s in crowd:
                s.close()
            code, _ = stop(p)
        self.assertEqual(code, 0)

    def test_ten_megabytes_without_newline(self):
        """A chat client sends 10 MB with no newline: the server's memory
        stays bounded by the line cap, the client gets the error line, and
        another client is served throughout."""
        p, port = start([EX + "/chat_server", "--port", "0"])
        try:
            a = socket.create_connection(("127.0.0.1", port), timeout=10)
            b = socket.create_connection(("127.0.0.1", port), timeout=10)
            a.sendall(b"alice\n")
            b.sendall(b"bob\n")
            time.sleep(0.2)
            before = rss_kb(p.pid)
            bad = socket.create_connection(("127.0.0.1", port), timeout=10)
            bad.sendall(b"mallory\n")
            chunk = b"z" * 65536
            sent = 0
            try:
                while sent < 10 * 1024 * 1024:
                    bad.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # closed by the server once the error is out
            grown = rss_kb(p.pid) - before
            self.assertLess(grown, 4096, "chat_server grew %d kB" % grown)
            got = b""
            try:
                while True:
                    c = bad.recv(65536)
                    if not c:
                        break
                    got += c
            except ConnectionResetError:
                pass
            self.assertTrue(got.startswith(b"error: line too long\n"), got[:80])
            a.sendall(b"still fine\n")
            b.settimeout(10)
            self.assertEqual(b.recv(100), b"alice: still fine\n")
            for s in (a, b, bad):
                s.close()
        finally:
            code, _ = stop(p)
        self.assertEqual(code, 0)


if __name__ == "__main__":
    EX = sys.argv.pop(1)
    unittest.main(verbosity=2)
