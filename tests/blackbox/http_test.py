#!/usr/bin/env python3
"""http_server through its command line with real clients: curl, Python's
http.client, raw sockets (pipelining, malformed and hostile requests), TLS
with curl --cacert (C-110..C-113). A secret file beside --root must never
appear in any response.

  http_test.py BUILD_DIR [--big-mb N]   (the 1 GB download by default)"""
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import buildcfg  # noqa: E402

BUILD = None
EX = None
BIG_MB = 1024
TIMEOUT = 120
SECRET = b"TOPSECRET-%d" % os.getpid()
ROOT = None
CERTS = None
LOOPS = ("native", "glib", "uv", "event", "qt", "sdevent", "ev")
CLF = re.compile(r'^(\S+) - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                 r'"([^"]*)" (\d{3}) (\d+|-)$')


def block(i):
    """Megabyte i of the big file: a fixed random megabyte, numbered."""
    return b"%08d" % i + BASE[8:]


def make_root(top):
    global BASE
    root = os.path.join(top, "www")
    os.makedirs(os.path.join(root, "sub", "deeper"))
    with open(os.path.join(top, "secret.txt"), "wb") as f:
        f.write(SECRET + b"\n")
    files = {
        "index.html": b"<html>index</html>\n",
        "a.txt": b"A" * 20000,
        "small.txt": b"hello\n",
        "empty": b"",
        "sub/index.html": b"<html>sub</html>\n",
        "sub/deeper/file.css": b"body{}\n",
        "data.bin": os.urandom(3 * 1024 * 1024 + 17),
        "sp ace.txt": b"spaced\n",
        ".hidden": b"dotfile\n",
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    os.symlink(os.path.join(top, "secret.txt"), os.path.join(root, "out"))
    os.symlink("../secret.txt", os.path.join(root, "sub", "up"))
    os.symlink(top, os.path.join(root, "topdir"))
    os.symlink("a.txt", os.path.join(root, "in_link"))
    os.mkfifo(os.path.join(root, "fifo"))
    BASE = os.urandom(1 << 20)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for i in range(BIG_MB):
            f.write(block(i))
    return root, files


class Server:
    def __init__(self, *args, loop="native"):
        self.p = subprocess.Popen(
            [EX + "/http_server", "--root", ROOT, "--port", "0", "--loop",
             loop] + list(args), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        m = re.fullmatch(r"listening on (.+):(\d+)\n", line)
        if not m:
            self.p.kill()
            raise AssertionError("bad first line %r: %r" %
                                 (line, self.p.stderr.read()))
        self.port = int(m.group(2))
        # the access log is read as it comes: a full pipe would block the
        # server's writes (as a full disk would)
        self.lines = []
        self.reader = threading.Thread(target=self.read_log, daemon=True)
        self.reader.start()

    def read_log(self):
        for line in self.p.stdout:
            self.lines.append(line.decode())

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=20)
        self.reader.join(timeout=20)
        err = self.p.stderr.read().decode()
        self.p.stdout.close()
        self.p.stderr.close()
        return self.p.returncode, "".join(self.lines), err


def raw(port, data, shut=True, timeout=10):
    """Send raw bytes, return everything the server answers until EOF."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    s.close()
    return got


def responses(data):
    """Split a byte stream of HTTP responses: [(status, headers, body)]."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError("truncated response: %r" % data[:200])
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", 0))
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def curl(*args):
    return subprocess.run(["curl", "-s", "--max-time", "300"] + list(args),
                          capture_output=True, timeout=TIMEOUT + 200)


class Functions(unittest.TestCase):
    """The HTTP/1.1 behaviours (C-111, C-112), on one loop per run."""
    loop = "native"

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(loop=cls.loop)
        cls.port = cls.srv.port

    @classmethod
    def tearDownClass(cls):
        rc, out, err = cls.srv.stop()
        cls.log = out
        assert rc == 0, (rc, err)
        for line in out.splitlines():
            assert CLF.match(line), "not common log format: %r" % line
        assert SECRET.decode() not in out

    def get(self, path, headers=None, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        self.assertNotIn(SECRET, body)
        return r, body

    def test_get_and_head(self):
        r, body = self.get("/a.txt")
        self.assertEqual((r.status, body), (200, FILES["a.txt"]))
        self.assertEqual(r.getheader("Content-Type"), "text/plain; charset=utf-8")
        h, hbody = self.get("/a.txt", method="HEAD")
        self.assertEqual((h.status, hbody), (200, b""))
        for k in ("Content-Length", "Content-Type", "Last-Modified"):
            self.assertEqual(h.getheader(k), r.getheader(k))
        r, body = self.get("/")
        self.assertEqual((r.status, body), (200, FILES["index.html"]))
        self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
        for path in ("/sub/", "/sub"):
            r, body = self.get(path)
            self.assertEqual((r.status, body), (200, FILES["sub/index.html"]))
        r, body = self.get("/data.bin")
        self.assertEqual(body, FILES["data.bin"])
        r, body = self.get("/empty")
        self.assertEqual((r.status, body), (200, b""))
        r, body = self.get("/sp%20ace.txt")
        self.assertEqual(body, b"spaced\n")
        r, body = self.get("/in_link")  # a symlink inside the root
        self.assertEqual(body, FILES["a.txt"])
        for path in ("/missing", "/sub/deeper/", "/a.txt/", "/fifo"):
            r, _ = self.get(path)
            self.assertEqual(r.status, 404, path)

    def test_ranges(self):
        data = FILES["data.bin"]
        size = len(data)
        for spec, lo, hi in (("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199),
                             ("bytes=%d-" % (size - 10), size - 10, size - 1),
                             ("bytes=-500", size - 500, size - 1),
                             ("bytes=10-%d" % (size * 2), 10, size - 1),
                             ("bytes=-%d" % (size * 2), 0, size - 1)):
            r, body = self.get("/data.bin", {"Range": spec})
            self.assertEqual(r.status, 206, spec)
            self.assertEqual(body, data[lo:hi + 1], spec)
            self.assertEqual(r.getheader("Content-Range"),
                             "bytes %d-%d/%d" % (lo, hi, size))
        for spec in ("bytes=%d-" % size, "bytes=-0", "bytes=%d-%d" %
                     (size + 5, size + 9)):
            r, _ = self.get("/data.bin", {"Range": spec})
            self.assertEqual(r.status, 416, spec)
            self.assertEqual(r.getheader("Content-Range"), "bytes */%d" % size)
        for spec in ("bytes=0-1,5-6", "items=0-5", "bytes=5-2", "bytes=x-y"):
            r, body = self.get("/data.bin", {"Range": spec})
            self.assertEqual((r.status, len(body)), (200, size), spec)

    def test_if_modified_since(self):
        r, _ = self.get("/a.txt")
        lm = r.getheader("Last-Modified")
        r, body = self.get("/a.txt", {"If-Modified-Since": lm})
        self.assertEqual((r.status, body), (304, b""))
        r, body = self.get("/a.txt", {"If-Modified-Since":
                                      "Sat, 01 Jan 2000 00:00:00 GMT"})
        self.assertEqual(r.status, 200)
        r, body = self.get("/a.txt", {"If-Modified-Since": "garbage"})
        self.assertEqual(r.status, 200)

    def test_keep_alive_and_pipelining(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        for _ in range(3):  # one connection, three requests
            c.request("GET", "/small.txt")
            r = c.getresponse()
            self.assertEqual(r.read(), b"hello\n")
        sock = c.sock
        c.request("GET", "/a.txt")
        c.getresponse().read()
        self.assertIs(c.sock, sock)  # not reconnected
        c.close()
        paths = ["/small.txt", "/a.txt", "/data.bin", "/missing", "/"] * 20
        req = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p.encode()
                       for p in paths)
        req += b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        got = responses(raw(self.port, req, shut=False))
        self.assertEqual(len(got), len(paths) + 1)
        want = {"/small.txt": FILES["small.txt"], "/a.txt": FILES["a.txt"],
                "/data.bin": FILES["data.bin"], "/": FILES["index.html"]}
        for path, (status, _, body) in zip(paths, got):
            if path == "/missing":
                self.assertEqual(status, 404)
            else:
                self.assertEqual((status, body), (200, want[path]), path)

    def test_http10_closes(self):
        got = raw(self.port, b"GET /small.txt HTTP/1.0\r\n\r\n", shut=False)
        (status, hdrs, body), = responses(got)
        self.assertEqual((status, body), (200, b"hello\n"))

    def test_malformed(self):
        for req, status in (
                (b"GARBAGE\r\n\r\n", 400),
                (b"GET /\r\n\r\n", 400),
                (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
                (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
                (b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400),
                (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
                (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
                (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                 b"Content-Length: 2\r\n\r\n", 400),
                (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                 b"\r\n\r\n", 501),
                (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
                (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"b" * 17000 +
                 b"\r\n\r\n", 431),
                (b"GET / HTTP/1.1\r\nHost: a\r\n" +
                 b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
                 431)):
            got = responses(raw(self.port, req))
            self.assertEqual(got[0][0], status, req[:60])
            self.assertEqual(len(got), 1)  # and the connection closed

    def test_method_not_allowed_keeps_connection(self):
        req = (b"DELETE /a.txt HTTP/1.1\r\nHost: a\r\n\r\n"
               b"POST /a.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
               b"hello"
               b"GET /small.txt HTTP/1.1\r\nHost: a\r\nConnection: close"
               b"\r\n\r\n")
        got = responses(raw(self.port, req, shut=False))
        self.assertEqual([g[0] for g in got], [405, 405, 200])
        self.assertEqual(got[0][1]["allow"], "GET, HEAD")
        self.assertEqual(got[2][2], b"hello\n")
        # a GET body is read past, not taken for the next request
        got = responses(raw(self.port, b"GET /small.txt HTTP/1.1\r\nHost: a\r\n"
                            b"Content-Length: 19\r\n\r\nGET /a.txt HTTP/1.1"
                            b"GET /small.txt HTTP/1.0\r\n\r\n", shut=False))
        self.assertEqual([g[0] for g in got], [200, 200])

    def test_never_outside_root(self):
        """C-110: 30+ ways out; the secret never comes back."""
        targets = [
            "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt",
            "/%2e%2e%2fsecret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
            "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
            "/sub/..%2f..%2fsecret.txt", "/..\\secret.txt",
            "/%5c..%5csecret.txt", "/sub\\..\\..\\secret.txt",
            "//secret.txt", "//etc/passwd", "/%2fetc/passwd", "/%2Fetc%2Fpasswd",
            "/etc/passwd%00", "/a.txt%00.html", "/%00", "/out", "/sub/up",
            "/topdir/secret.txt", "/topdir/www/a.txt", "/./a.txt/../../secret.txt",
            "/sub/./../../secret.txt", "/..", "/../", "/sub/..",
            "http://x/../secret.txt", "http://x/%2e%2e/secret.txt",
            "/..;/secret.txt", "/%252e%252e/secret.txt", "/.../secret.txt",
            "/%c0%ae%c0%ae/secret.txt", "/sub/deeper/../../../secret.txt",
            "secret.txt", "*", "/proc/self/root/etc/passwd",
        ]
        for t in targets:
            got = raw(self.port, b"GET " + t.encode("latin-1") +
                      b" HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertNotIn(SECRET, got, t)
            self.assertNotIn(b"root:", got, t)
            status = responses(got)[0][0]
            self.assertIn(status, (400, 403, 404), t)
        self.assertGreaterEqual(len(targets), 30)

    def test_curl(self):
        base = "http://127.0.0.1:%d" % self.port
        r = curl("-r", "5-9", base + "/data.bin")
        self.assertEqual(r.stdout, FILES["data.bin"][5:10])
        r = curl("-I", base + "/a.txt")
        self.assertIn(b"Content-Length: 20000", r.stdout)
        r = curl("-o", "/dev/null", "-w", "%{http_code} %{num_connects}\\n",
                 base + "/a.txt", "-o", "/dev/null", base + "/small.txt")
        self.assertEqual(r.stdout.split(b"\n")[:2], [b"200 1", b"200 0"])
        r = curl("-z", "Sat, 01 Jan 2000 00:00:00 GMT", "-o", "/dev/null",
                 "-w", "%{http_code}", base + "/a.txt")
        self.assertEqual(r.stdout, b"200")
        r = curl("-z", "Fri, 01 Jan 2100 00:00:00 GMT", "-o", "/dev/null",
                 "-w", "%{http_code}", base + "/a.txt")
        self.assertEqual(r.stdout, b"304")


def download_ok(url, *curl_args):
    """curl the big file into a pipe; check it megabyte by megabyte."""
    p = subprocess.Popen(["curl", "-s", "--max-time", "600"] +
                         list(curl_args) + [url], stdout=subprocess.PIPE)
    i = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    ok = True
    while True:
        n = 0
        while n < len(buf):
            k = p.stdout.readinto(view[n:])
            if not k:
                break
            n += k
        if n == 0:
            break
        if n != len(buf) or buf != block(i):
            ok = False
        i += 1
    p.wait()
    return ok and i == BIG_MB and p.returncode == 0


class EveryLoop(unittest.TestCase):
    """C-113 on every --loop: the big file byte-exact, with and without
    TLS, and a few requests on one connection."""

    def check(self, loop):
        for tls in (False, True):
            args = ["--quiet"] + (["--tls-cert", CERTS + "/server.pem",
                                   "--tls-key", CERTS + "/key.pem"]
                                  if tls else [])
            srv = Server(*args, loop=loop)
            try:
                scheme = "https" if tls else "http"
                url = "%s://localhost:%d/big.bin" % (scheme, srv.port)
                extra = ["--cacert", CERTS + "/ca.pem"] if tls else []
                t0 = time.monotonic()
                self.assertTrue(download_ok(url, *extra), (loop, tls))
                took = time.monotonic() - t0
                sys.stderr.write("  %s%s: %d MB in %.2f s\n" %
                                 (loop, " tls" if tls else "", BIG_MB, took))
                r = curl(*extra, "-o", "/dev/null", "-w", "%{num_connects} ",
                         url.replace("big.bin", "a.txt"), "-o", "/dev/null",
                         url.replace("big.bin", "small.txt"))
                self.assertEqual(r.stdout, b"1 0 ")
            finally:
                rc, _, err = srv.stop()
            self.assertEqual(rc, 0, err)


for _loop in LOOPS:
    setattr(EveryLoop, "test_" + _loop,
            lambda self, loop=_loop: self.check(loop))
    if _loop != "native":  # the functions too, on every loop
        globals()["Functions_" + _loop] = type(
            "Functions_" + _loop, (Functions,), {"loop": _loop})


class Arguments(unittest.TestCase):
    def test_help_and_errors(self):
        r = subprocess.run([EX + "/http_server", "--help"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for word in ("414", "431", "413", "405", "--root", "--idle-timeout",
                     "--header-timeout", "--send-timeout", "408"):
            self.assertIn(word, r.stdout)
        for args in ([], ["--root", "/nonexistent"], ["--root", ROOT, "--loop",
                                                       "bogus"],
                     ["--root", ROOT, "--port", "x"]):
            r = subprocess.run([EX + "/http_server"] + args,
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_threads_and_idle_timeout(self):
        srv = Server("--threads", "2", "--idle-timeout", "0.5")
        try:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            t0 = time.monotonic()
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            self.assertTrue(got.endswith(b"hello\n"))
            self.assertLess(time.monotonic() - t0, 3)  # closed when idle
        finally:
            self.assertEqual(srv.stop()[0], 0)


class SlowPeers(unittest.TestCase):
    """--header-timeout and --send-timeout (the library's deadlines): a head
    trickled byte by byte is cut, a reader that stops is dropped, a slow
    but steady one is not; on the native loop, a host loop, and TLS."""
    loop = "native"

    def server(self, *args, tls=False):
        extra = (["--tls-cert", CERTS + "/server.pem", "--tls-key",
                  CERTS + "/key.pem"] if tls else [])
        return Server("--header-timeout", "1", "--send-timeout", "1",
                      *(list(args) + extra), loop=self.loop)

    def connect(self, port, tls=False, rcvbuf=None):
        s = socket.socket()
        if rcvbuf:  # the client's own buffer must not take the whole body
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        if tls:
            import ssl
            ctx = ssl.create_default_context(cafile=CERTS + "/ca.pem")
            s = ctx.wrap_socket(s, server_hostname="localhost")
        return s

    def read_all(self, s, limit=None):
        got = 0
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += len(b)
                if limit and got >= limit:
                    break
        except (ConnectionResetError, socket.timeout):
            pass
        return got

    def test_head_trickled_is_cut(self):
        srv = self.server()
        try:
            s = self.connect(srv.port)
            t0 = time.monotonic()
            got = b""
            try:
                for ch in b"GET /small.txt HTTP/1.1\r\nHost: a\r\nX-Slow: ":
                    s.send(bytes([ch]))  # one byte every 50 ms, never a head
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass  # cut: what it answered is read below
            s.settimeout(5)
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
            except ConnectionResetError:
                pass
            took = time.monotonic() - t0
            s.close()
            self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got[:80])
            self.assertGreaterEqual(took, 1.0)
            self.assertLess(took, 6.0)
        finally:
            code, log, _ = srv.stop()
            self.assertEqual(code, 0)
        self.assertIn('"-" 408', log)

    def test_head_in_time_is_served(self):
        srv = self.server()
        try:
            s = self.connect(srv.port)
            for part in (b"GET /small.txt HTT", b"P/1.1\r\nHost: a\r\n",
                         b"\r\n"):
                s.sendall(part)
                time.sleep(0.3)  # 0.9 s in all: within the second
            got = s.recv(4096)
            self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:80])
            # the next request on the connection starts its own clock
            time.sleep(1.5)
            s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            got = s.recv(4096)
            self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:80])
            s.close()
        finally:
            self.assertEqual(srv.stop()[0], 0)

    def check_stopped_reader(self, tls):
        srv = self.server(tls=tls)
        try:
            s = self.connect(srv.port, tls, rcvbuf=16384)
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
            time.sleep(3.5)  # reads nothing: the send timeout is 1 s
            got = self.read_all(s, 64 << 20)
            s.close()
            # abandoned: what the kernel's buffers held, then the end
            self.assertLess(got, 64 << 20)
        finally:
            self.assertEqual(srv.stop()[0], 0)

    def test_stopped_reader_is_dropped(self):
        self.check_stopped_reader(False)

    def test_stopped_reader_is_dropped_tls(self):
        self.check_stopped_reader(True)

    def test_slow_steady_reader_is_kept(self):
        if not buildcfg.have(EX, "SIOCOUTQ"):
            # only bytes the socket accepted are progress there: a reader
            # slower than the kernel's buffer per send timeout is a stall
            self.skipTest("the system cannot tell a socket's unsent bytes")
        srv = self.server()
        try:
            s = self.connect(srv.port, rcvbuf=16384)
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
            got = 0
            t0 = time.monotonic()
            # ~160 KB/s for 5 s: slow beside the server, but the client's
            # receive buffer (about 200 KB here) empties well within each
            # second of the send timeout, so the server's socket drains
            while time.monotonic() - t0 < 5:
                b = s.recv(16384)
                self.assertTrue(b, "dropped after %d bytes" % got)
                got += len(b)
                time.sleep(0.1)
            self.assertGreater(got, 500000)
            rest = self.read_all(s, 32 << 20)  # then it reads fast
            s.close()
            self.assertGreaterEqual(got + rest, 32 << 20)  # still served
        finally:
            self.assertEqual(srv.stop()[0], 0)


class SlowPeers_uv(SlowPeers):
    loop = "uv"


def main():
    global BUILD, EX, ROOT, FILES, CERTS, BIG_MB
    BUILD = os.path.abspath(sys.argv[1])
    EX = BUILD + "/examples"
    if "--big-mb" in sys.argv:
        BIG_MB = int(sys.argv[sys.argv.index("--big-mb") + 1])
    if shutil.which("curl") is None:
        print("curl is not installed")
        return 1
    top = tempfile.mkdtemp(prefix="ac-http-")
    try:
        ROOT, FILES = make_root(top)
        CERTS = subprocess.run([BUILD + "/tests/tls_make_certs"],
                               capture_output=True, text=True,
                               check=True).stdout.strip()
        argv = [a for a in sys.argv[2:] if a[0].isupper()]
        prog = unittest.main(argv=[sys.argv[0], "-v"] + argv, exit=False)
        return 0 if prog.result.wasSuccessful() else 1
    finally:
        shutil.rmtree(top, ignore_errors=True)
        if CERTS:
            shutil.rmtree(CERTS, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
