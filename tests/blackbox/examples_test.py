#!/usr/bin/env python3
"""Black-box tests of the examples through their documented command lines
(DESIGN.md). Usage: examples_test.py BUILD_EXAMPLES_DIR"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import buildcfg

EX = None
MAP_FD = "epoll"
TIMEOUT = 60


def start_server(*args):
    """Start a server whose first stdout line is 'listening on HOST:PORT'."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    m = re.fullmatch(r"(\w+) on (.+):(\d+)\n", line)
    if not m:
        p.kill()
        raise AssertionError("bad first line from %s: %r (stderr %r)"
                             % (args[0], line, p.stderr.read()))
    return p, m.group(2), int(m.group(3))


def stop(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    try:
        p.communicate(timeout=10)  # also closes the pipes
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    return p.returncode


def recv_exactly(sock, n):
    """n bytes from sock; AssertionError if it ends before."""
    got = b""
    while len(got) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("EOF after %d of %d bytes" % (len(got), n))
        got += chunk
    return got


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=TIMEOUT, **kw)


class EchoTests(unittest.TestCase):
    def check_backend(self, backend, conns, loop="native"):
        srv, host, port = start_server(EX + "/echo_server", "--port", "0",
                                       "--backend", backend, "--loop", loop)
        try:
            self.assertEqual(host, "127.0.0.1")
            r = run(EX + "/echo_client", "--port", str(port), "--conns",
                    str(conns), "--size", "512", "--count", "5")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("conns=%d ok=%d failed=0" % (conns, conns), r.stdout)
            self.assertIn("mismatched=0", r.stdout)
            # large messages cross many partial reads and writes
            r = run(EX + "/echo_client", "--port", str(port), "--conns", "3",
                    "--size", "2000000", "--count", "2")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            self.assertEqual(stop(srv), 0)

    def test_epoll_1000_conns(self):
        if MAP_FD != "epoll":
            self.skipTest("built without epoll")
        self.check_backend("epoll", 1000)

    def test_poll_1000_conns(self):
        self.check_backend("poll", 1000)

    def test_select_1000_conns(self):
        self.check_backend("select", 1000)

    def test_uv_loop_1000_conns(self):
        if not os.path.exists(EX + "/uv/uv_mixed"):
            self.skipTest("built without libuv")
        self.check_backend(MAP_FD, 1000, loop="uv")

    def test_event_loop_1000_conns(self):
        self.check_backend(MAP_FD, 1000, loop="event")

    def test_qt_loop_1000_conns(self):
        self.check_backend(MAP_FD, 1000, loop="qt")

    def test_qt_loop_per_fd(self):
        # a poll map: QSocketNotifiers per channel through the hooks
        self.check_backend("poll", 300, loop="qt")

    def test_sdevent_loop_1000_conns(self):
        self.check_backend(MAP_FD, 1000, loop="sdevent")

    def test_sdevent_loop_per_fd(self):
        # a poll map: an io source per channel through the hooks
        self.check_backend("poll", 300, loop="sdevent")

    def test_ev_loop_1000_conns(self):
        self.check_backend(MAP_FD, 1000, loop="ev")

    def test_ev_loop_per_fd(self):
        self.check_backend("poll", 300, loop="ev")

    def test_glib_loop_1000_conns(self):
        self.check_backend(MAP_FD, 1000, loop="glib")

    def test_glib_loop_per_fd(self):
        # a poll map: the GSource waits per fd through the hooks
        self.check_backend("poll", 300, loop="glib")

    def test_ipv6(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        srv, host, port = start_server(EX + "/echo_server", "--host", "::1",
                                       "--port", "0")
        try:
            self.assertEqual(host, "::1")
            r = run(EX + "/echo_client", "--host", "::1", "--port", str(port),
                    "--conns", "10")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            stop(srv)

    def test_python_client_against_our_server(self):
        """A plain blocking Python client sees every byte echoed."""
        srv, host, port = start_server(EX + "/echo_server", "--port", "0")
        try:
            data = os.urandom(300000)
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(data)
                got = recv_exactly(s, len(data))
            self.assertEqual(got, data)
        finally:
            stop(srv)

    def test_client_detects_corruption(self):
        """echo_client must fail when the echo differs: a server that
        flips one byte."""
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen()
        port = lst.getsockname()[1]
        cli = subprocess.Popen([EX + "/echo_client", "--port", str(port),
                                "--size", "100", "--count", "1"],
                               stdout=subprocess.PIPE, text=True)
        conn, _ = lst.accept()
        buf = b""
        while len(buf) < 100:
            buf += conn.recv(100 - len(buf))
        conn.sendall(buf[:50] + bytes([buf[50] ^ 1]) + buf[51:])
        out, _ = cli.communicate(timeout=TIMEOUT)
        cli.stdout.close()
        conn.close()
        lst.close()
        self.assertEqual(cli.returncode, 1)
        self.assertIn("mismatched=1", out)

    def test_client_refused(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        r = run(EX + "/echo_client", "--port", str(port))
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused", r.stderr)


class UvMixedTests(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(EX + "/uv/uv_mixed"):
            self.skipTest("built without libuv")

    def stats(self, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            data = b""
            while True:
                chunk = s.recv(100)
                if not chunk:
                    return data.decode()
                data += chunk

    def test_echo_and_stats_in_one_loop(self):
        p = subprocess.Popen([EX + "/uv/uv_mixed", "--port", "0",
                              "--stats-port", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            l1, l2 = p.stdout.readline(), p.stdout.readline()
            m1 = re.fullmatch(r"listening on (.+):(\d+)\n", l1)
            m2 = re.fullmatch(r"stats on (.+):(\d+)\n", l2)
            self.assertTrue(m1 and m2, (l1, l2))
            echo, stats = int(m1.group(2)), int(m2.group(2))
            self.assertEqual(self.stats(stats), "channels=0 bytes=0\n")
            conns = [socket.create_connection(("127.0.0.1", echo), timeout=10)
                     for _ in range(3)]
            for i, c in enumerate(conns):
                c.sendall(b"z" * (100 + i))
                got = b""
                while len(got) < 100 + i:
                    got += c.recv(1000)
                self.assertEqual(got, b"z" * (100 + i))
            self.assertEqual(self.stats(stats), "channels=3 bytes=303\n")
            for c in conns:
                c.close()
            deadline = time.time() + 5
            while self.stats(stats) != "channels=0 bytes=303\n":
                self.assertLess(time.time(), deadline)
                time.sleep(0.05)
            r = run(EX + "/echo_client", "--port", str(echo), "--conns", "50",
                    "--count", "4")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.stats(stats),
                             "channels=0 bytes=%d\n" % (303 + 50 * 4 * 64))
        finally:
            self.assertEqual(stop(p), 0)

    def test_help_and_bad_args(self):
        r = run(EX + "/uv/uv_mixed", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage:", r.stdout)
        r = run(EX + "/uv/uv_mixed", "--stats-port", "x")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


class CommandLineTests(unittest.TestCase):
    def test_help(self):
        for prog in ("echo_server", "echo_client", "http_client"):
            r = run(EX + "/" + prog, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("usage:", r.stdout)

    def test_bad_arguments(self):
        cases = [
            ("echo_server", "--bogus"),
            ("echo_server", "--port", "70000"),
            ("echo_server", "--port"),
            ("echo_server", "--backend", "kqueue"),
            ("echo_server", "--loop", "tk"),
            ("echo_client",),
            ("echo_client", "--port", "x"),
            ("echo_client", "--port", "1", "--conns", "0"),
            ("http_client",),
            ("http_client", "-o", "/nonexistent/dir", "http://127.0.0.1/"),
        ]
        for c in cases:
            r = run(EX + "/" + c[0], *c[1:])
            self.assertNotEqual(r.returncode, 0, c)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (c, r.stderr))
            self.assertTrue(lines[0].startswith(c[0] + ": "), (c, r.stderr))

    def test_sigint_exits_zero(self):
        srv, _, port = start_server(EX + "/echo_server", "--port", "0")
        try:
            # a long client run, interrupted: exit 0 (DESIGN), summary printed
            cli = subprocess.Popen([EX + "/echo_client", "--port", str(port),
                                    "--conns", "5", "--count", "100000000"],
                                   stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
            self.assertEqual(stop(cli, signal.SIGTERM), 0)
            # a fetch that never completes (the server accepts, never answers)
            hang = socket.socket()
            hang.bind(("127.0.0.1", 0))
            hang.listen()
            http = subprocess.Popen([EX + "/http_client", "http://127.0.0.1:%d/"
                                     % hang.getsockname()[1]],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            time.sleep(0.5)
            self.assertEqual(stop(http, signal.SIGINT), 0)
            hang.close()
        finally:
            self.assertEqual(stop(srv, signal.SIGINT), 0)


class StatsTests(unittest.TestCase):
    """--stats: each server prints its loops' statistics on stderr at exit,
    and they add up (busy + waiting is the time it ran)."""

    STATS = re.compile(
        r"(\w+): stats \(map (\d+)\): (\d+) iterations in ([\d.]+) s: busy "
        r"([\d.]+) s, waiting ([\d.]+) s; loop delay p50 ([\d.]+) ms, p99 "
        r"([\d.]+) ms, max ([\d.]+) ms; (\d+) slow handlers, (\d+) budget "
        r"cuts")

    def check(self, args, maps=1):
        srv = subprocess.Popen(args + ["--port", "0", "--stats"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        port = int(srv.stdout.readline().rsplit(":", 1)[1])
        for _ in range(20):  # some traffic: iterations with work in them
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n" if "http" in args[0]
                      else b"nick\n")
            s.close()
        time.sleep(0.3)
        srv.send_signal(signal.SIGTERM)
        out, err = srv.communicate(timeout=30)
        self.assertEqual(srv.returncode, 0, err)
        found = self.STATS.findall(err)
        self.assertEqual(len(found), maps, err)
        for f in found:
            self.assertEqual(f[0], os.path.basename(args[0]))
            it, el, busy, wait = int(f[2]), float(f[3]), float(f[4]), \
                float(f[5])
            p50, p99, mx = float(f[6]), float(f[7]), float(f[8])
            self.assertGreater(it, 2, err)
            self.assertGreater(el, 0.2, err)
            self.assertLessEqual(busy, el, err)
            self.assertAlmostEqual(busy + wait, el, delta=0.05 + 0.05 * el)
            self.assertTrue(p50 <= p99 <= mx, err)

    def test_echo_server_two_threads(self):
        self.check([EX + "/echo_server", "--threads", "2"], maps=2)

    def test_echo_server_glib(self):
        self.check([EX + "/echo_server", "--loop", "glib"])

    def test_http_server(self):
        with tempfile.TemporaryDirectory() as root:
            self.check([EX + "/http_server", "--root", root, "--quiet"])

    def test_chat_server(self):
        self.check([EX + "/chat_server"])


class HttpTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.files = {
            "a.txt": b"hello\n",
            "big.bin": os.urandom(2_500_000),
            "empty": b"",
            "b.txt": b"world\n",
        }
        for name, data in cls.files.items():
            with open(os.path.join(cls.dir.name, name), "wb") as f:
                f.write(data)
        cls.srv = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind",
             "127.0.0.1", "--directory", cls.dir.name],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.srv.stdout.readline()
        cls.port = int(re.search(r"port (\d+)", line).group(1))
        cls.base = "http://127.0.0.1:%d/" % cls.port

    @classmethod
    def tearDownClass(cls):
        cls.srv.kill()
        cls.srv.communicate()
        cls.dir.cleanup()

    def test_concurrent_fetch_byte_exact(self):
        names = ["a.txt", "big.bin", "empty", "b.txt", "big.bin"]
        r = subprocess.run([EX + "/http_client"] +
                           [self.base + n for n in names],
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"".join(self.files[n] for n in names))

    def test_save_to_dir(self):
        with tempfile.TemporaryDirectory() as out:
            r = run(EX + "/http_client", "-o", out, self.base + "a.txt",
                    self.base + "big.bin", self.base + "a.txt")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sorted(os.listdir(out)),
                             ["a.txt", "a.txt.1", "big.bin"])
            with open(os.path.join(out, "big.bin"), "rb") as f:
                self.assertEqual(f.read(), self.files["big.bin"])

    def test_failures_reported(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        s.close()
        r = subprocess.run(
            [EX + "/http_client", self.base + "a.txt", self.base + "missing",
             "http://127.0.0.1:%d/" % dead, "gopher://x/"],
            capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, self.files["a.txt"])  # the good one
        err = r.stderr.decode()
        self.assertIn("missing: HTTP status 404", err)
        self.assertIn("refused", err)
        self.assertIn("only http://", err)
        self.assertEqual(len(err.strip().splitlines()), 3)


class ThreadsTests(unittest.TestCase):
    """echo_server --threads N: N maps in N threads on one port."""

    def check(self, loop, backend=None):
        srv, host, port = start_server(EX + "/echo_server", "--port", "0",
                                       "--threads", "3", "--loop", loop,
                                       "--backend", backend or MAP_FD)
        try:
            r = run(EX + "/echo_client", "--port", str(port), "--conns",
                    "200", "--size", "1000", "--count", "10")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("conns=200 ok=200 failed=0", r.stdout)
            # 3 loop threads (+ the signal waiter) behind one listening line
            tasks = len(os.listdir("/proc/%d/task" % srv.pid))
            self.assertGreaterEqual(tasks, 3)
        finally:
            self.assertEqual(stop(srv), 0)
        self.assertEqual(srv.stdout.read() if not srv.stdout.closed else "",
                         "")

    def test_native(self):
        self.check("native")

    def test_poll(self):
        self.check("native", "poll")

    def test_glib(self):
        self.check("glib")

    def test_uv(self):
        self.check("uv")

    def test_event(self):
        self.check("event")

    def test_qt(self):
        self.check("qt")

    def test_sdevent(self):
        self.check("sdevent")

    def test_ev(self):
        self.check("ev")

    def test_bad_thread_count(self):
        r = run(EX + "/echo_server", "--threads", "0")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


def silent_listener(accept):
    """A listener on loopback that never answers: with accept False it
    never even accepts (the kernel's backlog completes the connects)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    held = []
    if accept:
        def take():
            try:
                while True:
                    held.append(s.accept()[0])
            except OSError:
                pass
        threading.Thread(target=take, daemon=True).start()
    return s, held


class TimeoutTests(unittest.TestCase):
    def check_client(self, args, accept, reason):
        s, held = silent_listener(accept)
        port = s.getsockname()[1]
        try:
            t0 = time.monotonic()
            r = run(*[a.replace("PORT", str(port)) for a in args])
            took = time.monotonic() - t0
        finally:
            s.close()
            for c in held:
                c.close()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertGreaterEqual(took, 1.0)
        self.assertLess(took, 20)
        self.assertIn(reason, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_http_client_never_accepted(self):
        self.check_client([EX + "/http_client", "--timeout", "1",
                           "http://127.0.0.1:PORT/x"], False,
                          "timed out after 1 s")

    def test_http_client_never_answered(self):
        self.check_client([EX + "/http_client", "--timeout", "1",
                           "http://127.0.0.1:PORT/x"], True,
                          "timed out after 1 s")

    def test_echo_client_never_answered(self):
        self.check_client([EX + "/echo_client", "--port", "PORT", "--conns",
                           "3", "--timeout", "1"], True,
                          "3 connections unfinished after 1 s")

    def test_bad_timeout(self):
        for prog in ("http_client", "echo_client"):
            r = run(EX + "/" + prog, "--timeout", "-1", "--port", "1",
                    "http://x/")
            self.assertEqual(r.returncode, 2)
            self.assertIn("--timeout", r.stderr)

    def test_chat_idle_timeout(self):
        srv, host, port = start_server(EX + "/chat_server", "--port", "0",
                                       "--idle-timeout", "1")
        try:
            quiet = socket.create_connection((host, port), timeout=10)
            talker = socket.create_connection((host, port), timeout=10)
            quiet.sendall(b"quiet\n")
            talker.sendall(b"talker\n")
            t0 = time.monotonic()
            # the talker speaks every 0.3 s for 2 s: never idle 1 s
            for i in range(7):
                talker.sendall(b"line %d\n" % i)
                time.sleep(0.3)
            got = b""
            while not got.endswith(b"error: idle timeout\n"):
                chunk = quiet.recv(4096)
                self.assertTrue(chunk, "closed before the message: %r" % got)
                got += chunk
            self.assertEqual(quiet.recv(4096), b"")  # then closed
            self.assertIn(b"talker: line 0\n", got)
            # the talker was not dropped: it still gets what others say
            late = socket.create_connection((host, port), timeout=10)
            late.sendall(b"late\nhello\n")
            buf = b""
            while b"late: hello\n" not in buf:
                chunk = talker.recv(4096)
                self.assertTrue(chunk, "talker was dropped")
                buf += chunk
            self.assertNotIn(b"idle timeout", buf)
            self.assertGreater(time.monotonic() - t0, 1.0)
            for c in (quiet, talker, late):
                c.close()
        finally:
            self.assertEqual(stop(srv), 0)

    def test_chat_send_timeout(self):
        """A client that stops reading while others talk is dropped after
        --send-timeout; the talkers and a slow reader are not."""
        srv, host, port = start_server(EX + "/chat_server", "--port", "0",
                                       "--send-timeout", "1")
        try:
            stuck = socket.socket()
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.settimeout(10)
            stuck.connect((host, port))
            stuck.sendall(b"stuck\n")
            talker = socket.create_connection((host, port), timeout=10)
            talker.sendall(b"talker\n")
            listener = socket.create_connection((host, port), timeout=10)
            listener.sendall(b"listener\n")
            time.sleep(0.2)
            line = b"x" * 1000 + b"\n"
            heard = 0
            t0 = time.monotonic()
            # 12 MB said, more than the kernel holds for the stuck client
            # (about 3 MB on loopback), read by the listener as it comes
            while heard < 12000000 and time.monotonic() - t0 < 20:
                talker.sendall(line * 200)
                listener.settimeout(0.01)
                try:
                    while True:
                        chunk = listener.recv(1 << 20)
                        self.assertTrue(chunk, "the listener was dropped")
                        heard += len(chunk)
                except socket.timeout:
                    pass
            self.assertGreaterEqual(heard, 12000000)
            time.sleep(1.5)  # the send timeout is 1 s
            # the one that never read: what its buffers held, then the end
            got = 0
            stuck.settimeout(10)
            try:
                while True:
                    chunk = stuck.recv(1 << 20)
                    if not chunk:
                        break
                    got += len(chunk)
            except ConnectionResetError:
                pass
            self.assertLess(got, heard)
            # the talker still gets what others say
            listener.settimeout(10)
            listener.sendall(b"still here\n")
            buf = b""
            while b"listener: still here\n" not in buf:
                chunk = talker.recv(1 << 20)
                self.assertTrue(chunk, "talker was dropped")
                buf += chunk
            for c in (stuck, talker, listener):
                c.close()
        finally:
            self.assertEqual(stop(srv), 0)


if __name__ == "__main__":
    EX = sys.argv.pop(1)
    # the hosts wait on an epoll map's descriptor where there is epoll
    MAP_FD = "epoll" if buildcfg.have(EX, "EPOLL") else "poll"
    unittest.main(verbosity=2)
