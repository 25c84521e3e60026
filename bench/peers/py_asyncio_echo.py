#!/usr/bin/env python3
"""asyncio echo server with a Protocol, as asyncio users write it.
   py_asyncio_echo.py [--cert FILE --key FILE]
prints "listening on 127.0.0.1:PORT"; with a certificate, over TLS."""
import asyncio
import resource
import ssl
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport

    def data_received(self, data):
        self.t.write(data)


async def main():
    loop = asyncio.get_running_loop()
    tls = None
    if "--cert" in sys.argv:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[sys.argv.index("--cert") + 1],
                            sys.argv[sys.argv.index("--key") + 1])
    server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=4096,
                                      ssl=tls)
    port = server.sockets[0].getsockname()[1]
    print("listening on 127.0.0.1:%d" % port, flush=True)
    await server.serve_forever()


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
asyncio.run(main())
