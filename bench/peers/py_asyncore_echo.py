#!/usr/bin/env python3
"""Python 3.11 asyncore echo server, as the PyMOTW seed writes it.
   py_asyncore_echo.py [--poll]   prints "listening on 127.0.0.1:PORT" """
import resource
import socket
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asyncore  # noqa: E402


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(4096)

    def handle_accepted(self, sock, addr):
        EchoHandler(sock)


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
s = EchoServer()
print("listening on 127.0.0.1:%d" % s.socket.getsockname()[1], flush=True)
asyncore.loop(timeout=1.0, use_poll="--poll" in sys.argv)
