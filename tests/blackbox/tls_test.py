#!/usr/bin/env python3
"""Black-box tests of TLS through the examples' documented command lines,
against Python's ssl module and openssl s_client/s_server (C-91, C-92).
Certificates are made for this run by tests/tls_make_certs.
Usage: tls_test.py BUILD_DIR"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from examples_test import start_server, stop, run, recv_exactly  # noqa: E402
import examples_test  # noqa: E402

BUILD = None
EX = None
CERTS = None
TIMEOUT = 120


def cert(name):
    return os.path.join(CERTS, name)


def echo_server(*extra):
    return start_server(EX + "/echo_server", "--port", "0",
                        "--tls-cert", cert("server.pem"),
                        "--tls-key", cert("key.pem"), *extra)


def client_context(version=None):
    ctx = ssl.create_default_context(cafile=cert("ca.pem"))
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


class PythonEchoServer:
    """A threaded TLS echo server on Python's ssl module."""

    def __init__(self, version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert("server.pem"), cert("key.pem"))
        if version:
            ctx.minimum_version = ctx.maximum_version = version
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.versions = []
        self.errors = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(raw,),
                             daemon=True).start()

    def echo(self, raw):
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as s:
                self.versions.append(s.version())
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
        except (OSError, ssl.SSLError) as e:
            self.errors.append(e)

    def close(self):
        self.sock.close()


class EchoServerTests(unittest.TestCase):
    def check_loop(self, *args, conns=50):
        srv, host, port = echo_server(*args)
        try:
            r = run(EX + "/echo_client", "--port", str(port), "--tls",
                    "--ca", cert("ca.pem"), "--conns", str(conns),
                    "--size", "1000", "--count", "20")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("ok=%d failed=0" % conns, r.stdout)
            self.assertIn("mismatched=0", r.stdout)
            # big messages: many 16 KB records, partial writes both ways
            r = run(EX + "/echo_client", "--port", str(port), "--tls",
                    "--ca", cert("ca.pem"), "--conns", "3", "--size",
                    "3000000", "--count", "2")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            self.assertEqual(stop(srv), 0)

    def test_native(self):
        self.check_loop()

    def test_threads(self):
        self.check_loop("--threads", "2")

    def test_glib(self):
        self.check_loop("--loop", "glib")

    def test_uv(self):
        self.check_loop("--loop", "uv")

    def test_event(self):
        self.check_loop("--loop", "event")

    def test_qt(self):
        self.check_loop("--loop", "qt")

    def test_1000_connections(self):
        srv, host, port = echo_server()
        try:
            r = run(EX + "/echo_client", "--port", str(port), "--tls",
                    "--ca", cert("ca.pem"), "--conns", "1000",
                    "--size", "4096", "--count", "10")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("conns=1000 ok=1000 failed=0", r.stdout)
            self.assertIn("bytes=40960000 mismatched=0", r.stdout)
        finally:
            self.assertEqual(stop(srv), 0)

    def test_refusals(self):
        srv, host, port = echo_server()
        try:
            cases = [
                ([], "certificate verify failed"),  # the system's CAs
                (["--servername", "other.example"], "hostname mismatch"),
            ]
            for extra, reason in cases:
                r = run(EX + "/echo_client", "--port", str(port), "--tls",
                        *(["--ca", cert("ca.pem")] if extra else []), *extra)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("connection 0: tls: certificate verify failed",
                              r.stderr)
                self.assertIn(reason, r.stderr)
            # a plain client to a TLS server: refused, the server lives on
            r = run(EX + "/echo_client", "--port", str(port), "--timeout",
                    "5")
            self.assertEqual(r.returncode, 1)
            r = run(EX + "/echo_client", "--port", str(port), "--tls",
                    "--ca", cert("ca.pem"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            stop(srv)

    def test_bad_arguments(self):
        for args, msg in [
            (["--tls-cert", cert("server.pem")], "go together"),
            (["--tls-cert", "/nonexistent.pem", "--tls-key", cert("key.pem")],
             "/nonexistent.pem: No such file"),
            (["--tls-cert", cert("ca.pem"), "--tls-key", cert("key.pem")],
             "TLS:"),
        ]:
            r = run(EX + "/echo_server", "--port", "0", *args)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(msg, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = run(EX + "/echo_client", "--port", "1", "--tls", "--ca",
                "/nonexistent.pem")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent.pem", r.stderr)


class PythonInteropTests(unittest.TestCase):
    """Our server with Python's ssl client, our client with its server."""

    def python_client(self, port, version):
        ctx = client_context(version)
        data = os.urandom(200000)
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                got_version = s.version()
                s.sendall(data)
                self.assertEqual(recv_exactly(s, len(data)), data)
                s.unwrap()  # close_notify both ways
        return got_version

    def test_python_client(self):
        srv, host, port = echo_server()
        try:
            self.assertEqual(self.python_client(port, ssl.TLSVersion.TLSv1_3),
                             "TLSv1.3")
            self.assertEqual(self.python_client(port, ssl.TLSVersion.TLSv1_2),
                             "TLSv1.2")
        finally:
            self.assertEqual(stop(srv), 0)

    def test_python_server(self):
        for version, name in [(ssl.TLSVersion.TLSv1_3, "TLSv1.3"),
                              (ssl.TLSVersion.TLSv1_2, "TLSv1.2")]:
            py = PythonEchoServer(version)
            try:
                r = run(EX + "/echo_client", "--port", str(py.port), "--tls",
                        "--ca", cert("ca.pem"), "--servername", "localhost",
                        "--conns", "10", "--size", "100000", "--count", "3")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("ok=10 failed=0", r.stdout)
                self.assertEqual(set(py.versions), {name})
            finally:
                py.close()


def openssl_server(*args):
    p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0",
                          "-cert", cert("server.pem"), "-key",
                          cert("key.pem"), *args], cwd=CERTS,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        line = p.stdout.readline()
        m = re.match(r"ACCEPT .*:(\d+)$", line.strip())
        if m:
            return p, int(m.group(1))
    p.kill()
    raise AssertionError("openssl s_server did not start")


class OpenSSLInteropTests(unittest.TestCase):
    def test_https_fetch(self):
        body = os.urandom(3 << 20)
        with open(cert("body.bin"), "wb") as f:
            f.write(body)
        for version in ["-tls1_3", "-tls1_2"]:
            srv, port = openssl_server("-WWW", version)
            try:
                r = subprocess.run([EX + "/http_client", "--ca",
                                    cert("ca.pem"), "https://127.0.0.1:%d/"
                                    "body.bin" % port], capture_output=True,
                                   timeout=TIMEOUT)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, body)
                # not trusted: the system's CAs do not know the test CA
                r = run(EX + "/http_client", "--timeout", "10",
                        "https://127.0.0.1:%d/body.bin" % port)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr.strip().splitlines(), [
                    "http_client: https://127.0.0.1:%d/body.bin: tls: "
                    "certificate verify failed: unable to get local issuer "
                    "certificate" % port])
            finally:
                srv.kill()
                srv.communicate()
        # a certificate for another name: refused with the reason
        srv, port = openssl_server("-WWW", "-cert", cert("other.pem"))
        try:
            r = run(EX + "/http_client", "--ca", cert("ca.pem"), "--timeout",
                    "10", "https://127.0.0.1:%d/body.bin" % port)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.strip().splitlines(), [
                "http_client: https://127.0.0.1:%d/body.bin: tls: "
                "certificate verify failed: IP address mismatch" % port])
        finally:
            srv.kill()
            srv.communicate()

    def test_s_client(self):
        srv, host, port = echo_server()
        try:
            for version in ["-tls1_3", "-tls1_2"]:
                p = subprocess.Popen(
                    ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                     "-CAfile", cert("ca.pem"), "-verify_return_error",
                     "-verify_ip", "127.0.0.1", version],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True, bufsize=1)
                out = []
                reader = threading.Thread(
                    target=lambda: out.extend(iter(p.stdout.readline, "")),
                    daemon=True)
                reader.start()

                def wait_for(text):
                    deadline = time.time() + 20
                    while time.time() < deadline:
                        if any(text in line for line in out):
                            return True
                        time.sleep(0.05)
                    return False
                p.stdin.write("hello\n")
                p.stdin.flush()
                self.assertTrue(wait_for("hello"), "".join(out))
                if version == "-tls1_3":
                    # "K": a key update, the server asked to update too
                    p.stdin.write("K\n")
                    p.stdin.flush()
                    self.assertTrue(wait_for("KEYUPDATE"), "".join(out))
                p.stdin.write("world\n")
                p.stdin.flush()
                self.assertTrue(wait_for("world"), "".join(out))
                p.stdin.write("Q\n")  # close_notify, then exit
                p.stdin.flush()
                p.wait(timeout=20)
                reader.join(timeout=5)
                text = "".join(out)
                self.assertIn("Verify return code: 0 (ok)", text)
                p.stdin.close()
                p.stdout.close()
        finally:
            self.assertEqual(stop(srv), 0)


class ChatTests(unittest.TestCase):
    def test_chat_over_tls(self):
        srv, host, port = start_server(EX + "/chat_server", "--port", "0",
                                       "--tls-cert", cert("server.pem"),
                                       "--tls-key", cert("key.pem"))
        try:
            ctx = client_context()
            socks = []
            for nick in ["ann", "bob"]:
                raw = socket.create_connection(("127.0.0.1", port))
                s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                s.sendall(nick.encode() + b"\n")
                socks.append(s)
            time.sleep(0.2)
            socks[0].sendall(b"hi bob\n")
            socks[1].settimeout(10)
            got = b""
            while b"\n" not in got:
                got += socks[1].recv(100)
            self.assertEqual(got, b"ann: hi bob\n")
            # a line over the cap: error line, then close_notify
            socks[0].sendall(b"x" * 70000 + b"\n")
            socks[0].settimeout(10)
            got = b""
            while True:
                chunk = socks[0].recv(1000)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(got, b"error: line too long\n")
            for s in socks:
                s.close()
        finally:
            self.assertEqual(stop(srv), 0)


def main():
    global BUILD, EX, CERTS
    BUILD = os.path.abspath(sys.argv.pop(1))
    EX = BUILD + "/examples"
    examples_test.EX = EX
    examples_test.TIMEOUT = TIMEOUT
    CERTS = subprocess.run([BUILD + "/tests/tls_make_certs"],
                           capture_output=True, text=True,
                           check=True).stdout.strip()
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(CERTS, ignore_errors=True)


if __name__ == "__main__":
    main()
