#!/usr/bin/env python3
"""The seed documents' programs, ported to C (examples/seeds/), on every
backend (select, poll, epoll) and host (native, glib, uv), against local
servers; where the seed's program runs on Python 3.11's asyncore
(tests/seeds/*.py), its output is the reference.

Usage: seeds_test.py BUILD_EXAMPLES_DIR"""
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

import buildcfg

EX = None
HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(os.path.dirname(HERE), "seeds")
TIMEOUT = 30
BACKENDS = ("select", "poll", "epoll")
LOOPS = ("native", "glib", "uv", "event", "qt", "sdevent", "ev")
LOREM = ("Lorem ipsum dolor sit amet, consectetuer adipiscing elit. Donec\n"
         "egestas, enim et consectetuer ullamcorper, lectus ligula rutrum "
         "leo, a\nelementum elit tortor eu quam. Duis tincidunt nisi ut ante."
         " Nulla\nfacilisi. Sed tristique eros eu libero. Pellentesque vel "
         "arcu. Vivamus\npurus orci, iaculis ac, suscipit sit amet, pulvinar "
         "eu, lacus.\n") * 2


def seed(name):
    return os.path.join(EX, "seeds", name)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=TIMEOUT, **kw)


def py_ref(script, *args):
    return run([sys.executable, "-W", "ignore", os.path.join(REF, script)]
               + list(args))


def every_host():
    for b in BACKENDS:
        for loop in LOOPS:
            yield b, loop


PAGES = {"/": b"<html>index</html>\n", "/a.txt": b"A" * 20000,
         "/b.txt": b"b\n" * 5000}


class Pages(http.server.BaseHTTPRequestHandler):
    """Serves PAGES for origin-form and absolute-form request targets (the
    PyMOTW client asks for the whole URL); fixed headers, so every run's
    response has the same length."""
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        path = re.sub(r"^http://[^/]+", "", self.path) or "/"
        body = PAGES.get(path)
        self.send_response(200 if body else 404)
        body = body or b"not found\n"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def version_string(self):
        return "seed-test"

    def log_message(self, *args):
        pass


class SeedTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
        cls.port = cls.httpd.server_address[1]
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.lorem = os.path.join(cls.tmp.name, "lorem.txt")
        with open(cls.lorem, "w") as f:
            f.write(LOREM)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        cls.tmp.cleanup()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # seed 002: file_dispatcher reading a regular file in 256-byte chunks
    def test_file_reader(self):
        ref = py_ref("file_reader.py", self.lorem)
        self.assertEqual(ref.returncode, 0, ref.stderr)
        chunks = [int(n) for n in re.findall(r"READ: \((\d+)\)", ref.stdout)]
        n = len(LOREM)  # recv at EOF returns b'' after handle_close
        self.assertEqual(chunks, [256] * (n // 256) + [n % 256, 0])
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                r = run([seed("file_reader"), self.lorem, "--backend", b,
                         "--loop", loop])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, ref.stdout)
                self.assertEqual(r.stderr, "")

    # seed 002: two HttpClients in one loop
    def test_http_clients(self):
        urls = [self.url("/a.txt"), self.url("/b.txt")]
        ref = py_ref("http_clients.py", *urls)
        self.assertEqual(ref.returncode, 0, ref.stderr)
        self.assertEqual(len(ref.stdout.splitlines()), 2)
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                r = run([seed("http_clients")] + urls +
                        ["--backend", b, "--loop", loop])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, ref.stdout)
                log = r.stderr.splitlines()
                self.assertEqual(log[0], "%s: connecting to ('127.0.0.1', %d)"
                                 % (urls[0], self.port))
                self.assertEqual(log[2], "root: LOOP STARTING")
                self.assertEqual(log[-1], "root: LOOP DONE")
                for u in urls:  # each one's story, in Python's order
                    mine = [l[len(u) + 2:] for l in log if l.startswith(u)]
                    theirs = [l[len(u) + 2:] for l in ref.stderr.splitlines()
                              if l.startswith(u)]
                    self.assertEqual(self.story(mine), self.story(theirs))

    @staticmethod
    def story(lines):
        """The events of one client without the predicate chatter, whose
        count depends on how often the loop went round."""
        return [l for l in lines if not l.startswith(("readable()",
                                                      "writable()"))
                and not l.startswith("handle_read() ->")] + \
            [sum(int(m) for m in re.findall(r"handle_read\(\) -> (\d+)",
                                            "\n".join(lines)))]

    # seed 002: loop(count=1) driven from our own loop or an idle handler
    def test_loop_count(self):
        urls = [self.url("/"), self.url("/a.txt")]
        ref = py_ref("http_clients.py", *urls)
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                r = run([seed("loop_count")] + urls +
                        ["--backend", b, "--loop", loop])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, ref.stdout)
                counts = [int(n) for n in
                          re.findall(r"^root: loop_counter=(\d+)$", r.stderr,
                                     re.M)]
                self.assertGreaterEqual(len(counts), 3)
                self.assertEqual(counts, list(range(1, len(counts) + 1)))

    # seeds 003/004: the documentation's HTTPClient(host, path)
    def test_http_client(self):
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                r = run([seed("http_client"), "127.0.0.1", "/b.txt",
                         "--port", str(self.port), "--backend", b,
                         "--loop", loop])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("HTTP/1.0 200 OK"))
                self.assertTrue(r.stdout.endswith(PAGES["/b.txt"].decode()))

    # seed 002: EchoServer, EchoHandler and EchoClient in one map
    def test_echo_pair(self):
        ref = py_ref("echo_pair.py", self.lorem)
        self.assertIn("EchoClient: RECEIVED COPY OF MESSAGE", ref.stderr)
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                r = run([seed("echo_pair"), self.lorem, "--backend", b,
                         "--loop", loop])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("EchoClient: RECEIVED COPY OF MESSAGE",
                              r.stderr)
                self.assertIn("EchoServer: handle_close()", r.stderr)
                self.assertIn("EchoHandler: handle_close()", r.stderr)

    # seeds 003/004: the documentation's echo server
    def test_echo_server(self):
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                p = subprocess.Popen([seed("echo_server"), "--port", "0",
                                      "--backend", b, "--loop", loop],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
                try:
                    m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n",
                                     p.stdout.readline())
                    self.assertIsNotNone(m)
                    with socket.create_connection(
                            ("127.0.0.1", int(m.group(1))), timeout=10) as s:
                        me = s.getsockname()
                        s.sendall(b"hello seed\n")
                        got = b""
                        while len(got) < 11:
                            got += s.recv(100)
                        self.assertEqual(got, b"hello seed\n")
                        self.assertEqual(
                            p.stdout.readline(),
                            "Incoming connection from ('127.0.0.1', %d)\n"
                            % me[1])
                finally:
                    p.send_signal(signal.SIGTERM)
                    out, err = p.communicate(timeout=10)
                self.assertEqual(p.returncode, 0, err)

    # seed 000: MyDispatcher's flushing handle_close
    def test_my_dispatcher(self):
        for b, loop in every_host():
            with self.subTest(backend=b, loop=loop):
                srv = socket.socket()
                srv.bind(("127.0.0.1", 0))
                srv.listen(1)
                got = []

                def peer():
                    c, _ = srv.accept()
                    with c:
                        # greet and close the writing side at once: what
                        # the client queued is still queued when it sees
                        # EOF, and only its flushing handle_close sends it
                        c.sendall(b"hello\n")
                        c.shutdown(socket.SHUT_WR)
                        c.settimeout(20)
                        data = b""
                        while True:
                            more = c.recv(100)
                            if not more:
                                break
                            data += more
                        got.append(data)

                t = threading.Thread(target=peer)
                t.start()
                r = run([seed("my_dispatcher"), "--port",
                         str(srv.getsockname()[1]), "ping\n", "--backend", b,
                         "--loop", loop])
                t.join(10)
                srv.close()
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, "hello\n")
                self.assertEqual(got, [b"ping\nthanks\n"])


if __name__ == "__main__":
    EX = sys.argv.pop(1)
    if not buildcfg.have(EX, "EPOLL"):
        BACKENDS = ("select", "poll")
    unittest.main(verbosity=2)
