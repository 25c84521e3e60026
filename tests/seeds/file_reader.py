"""Seed 002's asyncore_file_dispatcher.py on Python 3.11's asyncore, as
the reference output for examples/seeds/file_reader."""
import asyncore
import os
import sys


class FileReader(asyncore.file_dispatcher):
    def writable(self):
        return False

    def handle_read(self):
        data = self.recv(256)
        print('READ: (%d) "%s"' % (len(data), data.decode()))

    def handle_expt(self):
        pass

    def handle_close(self):
        self.close()


reader = FileReader(os.open(sys.argv[1], os.O_RDONLY))
asyncore.loop()
