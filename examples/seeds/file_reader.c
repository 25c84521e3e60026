/* Seed 002 (PyMOTW), "Working with Files": asyncore_file_dispatcher.py.
 *
 *   file_reader FILE [--backend B] [--loop L]
 *
 *   class FileReader(asyncore.file_dispatcher):
 *       def writable(self): return False
 *       def handle_read(self):
 *           data = self.recv(256)
 *           print('READ: (%d) "%s"' % (len(data), data))
 *       def handle_expt(self): pass   # ignore what looks like OOB data
 *       def handle_close(self): self.close()
 *   reader = FileReader(os.open(FILE, os.O_RDONLY))
 *   asyncore.loop()
 *
 * A regular file: epoll and libuv cannot wait on it, so the map treats it
 * as always ready, as select and poll report it. */
#include "seed.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static bool reader_writable(ac_dispatcher *d)
{
    (void)d;
    return false;
}

static void reader_handle_read(ac_dispatcher *d)
{
    char data[256];
    ssize_t n = ac_recv(d, data, sizeof(data));

    if (n >= 0) /* 0: end of file, after handle_close (Python prints it) */
        printf("READ: (%d) \"%.*s\"\n", (int)n, (int)n, data);
}

static void reader_handle_expt(ac_dispatcher *d)
{
    (void)d;
}

static void reader_handle_close(ac_dispatcher *d)
{
    ac_close(d);
}

static const ac_dispatcher_class file_reader_class = {
    .name = "FileReader",
    .writable = reader_writable,
    .handle_read = reader_handle_read,
    .handle_expt = reader_handle_expt,
    .handle_close = reader_handle_close,
};

int main(int argc, char **argv)
{
    seed_loop loop = seed_init(&argc, argv,
                               "usage: file_reader FILE [--backend B] [--loop L]");
    ac_dispatcher reader;
    int fd, r;

    if (argc != 2) {
        fprintf(stderr, "usage: file_reader FILE [--backend B] [--loop L]\n");
        return 2;
    }
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    ac_dispatcher_init(&reader, &file_reader_class, NULL);
    if ((r = ac_file_dispatcher(&reader, fd)) < 0) {
        fprintf(stderr, "file_dispatcher: %s\n", ac_strerror(r));
        return 1;
    }
    close(fd); /* the dispatcher has its own copy */
    seed_run(loop);
    return 0;
}
