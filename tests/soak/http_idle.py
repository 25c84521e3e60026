#!/usr/bin/env python3
"""10,000 idle keep-alive connections to http_server --idle-timeout 2
(loopback, bounded in time): each makes one request, reads the response,
and stays silent; every one is closed by the server within the timeout's
reach, and the server answers new requests meanwhile.
Usage: http_idle.py BUILD_EXAMPLES_DIR [CONNS]"""
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

EX = sys.argv[1]
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
REQ = b"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n"


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    root = tempfile.mkdtemp(prefix="ac-http-idle-")
    with open(os.path.join(root, "f.txt"), "wb") as f:
        f.write(b"idle test\n")
    srv = subprocess.Popen([EX + "/http_server", "--root", root, "--port",
                            "0", "--idle-timeout", "2", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        port = int(srv.stdout.readline().rsplit(":", 1)[1])
        sel = selectors.DefaultSelector()
        socks = []
        t0 = time.time()
        for i in range(CONNS):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(REQ)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        opened = time.time() - t0
        got = {s: b"" for s in socks}
        ended = {}
        while len(ended) < CONNS and time.time() - t0 < opened + 30:
            for key, _ in sel.select(timeout=0.2):
                s = key.fileobj
                try:
                    b = s.recv(4096)
                except OSError:
                    b = b""
                if b:
                    got[s] += b
                else:
                    ended[s] = time.time() - t0
                    sel.unregister(s)
            if len(ended) < CONNS // 2 and time.time() - t0 > opened + 1:
                # the server still answers while it holds them all
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                c.sendall(b"GET /f.txt HTTP/1.0\r\n\r\n")
                assert c.recv(4096).startswith(b"HTTP/1.1 200"), "no answer"
                c.close()
        answered = sum(1 for s in socks if got[s].endswith(b"idle test\n"))
        last = max(ended.values()) if ended else -1
        print("%d connections opened in %.1f s, %d answered, %d closed by "
              "the server, the last %.1f s after the start"
              % (CONNS, opened, answered, len(ended), last))
        for s in socks:
            s.close()
        ok = answered == CONNS and len(ended) == CONNS and last < opened + 8
        srv.send_signal(signal.SIGTERM)
        srv.communicate(timeout=30)
        return 0 if ok and srv.returncode == 0 else 1
    finally:
        if srv.poll() is None:
            srv.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
