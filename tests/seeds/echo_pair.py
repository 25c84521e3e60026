"""Seed 002's asyncore_echo_server.py on Python 3.11's asyncore (server,
handler and client in one map), as the reference for
examples/seeds/echo_pair. The message is read from the file argv[1]."""
import asyncore
import logging
import socket
import sys


class EchoServer(asyncore.dispatcher):
    def __init__(self, address):
        self.logger = logging.getLogger('EchoServer')
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(address)
        self.address = self.socket.getsockname()
        self.logger.debug('binding to %s', self.address)
        self.listen(1)

    def handle_accept(self):
        client_info = self.accept()
        self.logger.debug('handle_accept() -> %s', client_info[1])
        EchoHandler(sock=client_info[0])
        self.handle_close()

    def handle_close(self):
        self.logger.debug('handle_close()')
        self.close()


class EchoHandler(asyncore.dispatcher):
    def __init__(self, sock, chunk_size=256):
        self.chunk_size = chunk_size
        self.logger = logging.getLogger('EchoHandler')
        asyncore.dispatcher.__init__(self, sock=sock)
        self.data_to_write = []

    def writable(self):
        return bool(self.data_to_write)

    def handle_write(self):
        data = self.data_to_write.pop()
        sent = self.send(data[:self.chunk_size])
        if sent < len(data):
            self.data_to_write.append(data[sent:])
        self.logger.debug('handle_write() -> (%d) "%s"', sent,
                          data[:sent].decode())
        if not self.writable():
            self.handle_close()

    def handle_read(self):
        data = self.recv(self.chunk_size)
        self.logger.debug('handle_read() -> (%d) "%s"', len(data),
                          data.decode())
        self.data_to_write.insert(0, data)

    def handle_close(self):
        self.logger.debug('handle_close()')
        self.close()


class EchoClient(asyncore.dispatcher):
    def __init__(self, host, port, message, chunk_size=512):
        self.message = message
        self.to_send = message
        self.received_data = []
        self.chunk_size = chunk_size
        self.logger = logging.getLogger('EchoClient')
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.logger.debug('connecting to %s', (host, port))
        self.connect((host, port))

    def handle_connect(self):
        self.logger.debug('handle_connect()')

    def handle_close(self):
        self.logger.debug('handle_close()')
        self.close()
        received_message = b''.join(self.received_data)
        if received_message == self.message:
            self.logger.debug('RECEIVED COPY OF MESSAGE')
        else:
            self.logger.debug('ERROR IN TRANSMISSION')

    def writable(self):
        return bool(self.to_send)

    def handle_write(self):
        sent = self.send(self.to_send[:self.chunk_size])
        self.logger.debug('handle_write() -> (%d) "%s"', sent,
                          self.to_send[:sent].decode())
        self.to_send = self.to_send[sent:]

    def handle_read(self):
        data = self.recv(self.chunk_size)
        self.logger.debug('handle_read() -> (%d) "%s"', len(data),
                          data.decode())
        self.received_data.append(data)


logging.basicConfig(level=logging.DEBUG, format='%(name)s: %(message)s')
server = EchoServer(('localhost', 0))
ip, port = server.address
client = EchoClient(ip, port, message=open(sys.argv[1], 'rb').read())
asyncore.loop()
