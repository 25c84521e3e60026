"""Seed 002's asyncore_http_client.py on Python 3.11's asyncore, as the
reference for examples/seeds/http_clients (URLs from the command line)."""
import asyncore
import io
import logging
import socket
import sys
from urllib.parse import urlparse


class HttpClient(asyncore.dispatcher):
    def __init__(self, url):
        self.url = url
        self.logger = logging.getLogger(self.url)
        self.parsed_url = urlparse(url)
        asyncore.dispatcher.__init__(self)
        self.write_buffer = ('GET %s HTTP/1.0\r\n\r\n' % self.url).encode()
        self.read_buffer = io.BytesIO()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (self.parsed_url.hostname, self.parsed_url.port or 80)
        self.logger.debug('connecting to %s', address)
        self.connect(address)

    def handle_connect(self):
        self.logger.debug('handle_connect()')

    def handle_close(self):
        self.logger.debug('handle_close()')
        self.close()

    def writable(self):
        is_writable = (len(self.write_buffer) > 0)
        if is_writable:
            self.logger.debug('writable() -> %s', is_writable)
        return is_writable

    def readable(self):
        self.logger.debug('readable() -> True')
        return True

    def handle_write(self):
        sent = self.send(self.write_buffer)
        self.logger.debug('handle_write() -> "%s"',
                          self.write_buffer[:sent].decode())
        self.write_buffer = self.write_buffer[sent:]

    def handle_read(self):
        data = self.recv(8192)
        self.logger.debug('handle_read() -> %d bytes', len(data))
        self.read_buffer.write(data)


logging.basicConfig(level=logging.DEBUG, format='%(name)s: %(message)s')
clients = [HttpClient(u) for u in sys.argv[1:]]
logging.debug('LOOP STARTING')
asyncore.loop()
logging.debug('LOOP DONE')
for c in clients:
    print(c.url, 'got', len(c.read_buffer.getvalue()), 'bytes')
