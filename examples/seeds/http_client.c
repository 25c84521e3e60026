/* Seeds 003/004 (the Python documentation): "asyncore Example basic HTTP
 * client".
 *
 *   http_client HOST PATH [--port P] [--backend B] [--loop L]
 *
 *   class HTTPClient(asyncore.dispatcher):
 *       def __init__(self, host, path):
 *           asyncore.dispatcher.__init__(self)
 *           self.create_socket()
 *           self.connect( (host, 80) )
 *           self.buffer = bytes('GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' %
 *                               (path, host), 'ascii')
 *       def handle_connect(self): pass
 *       def handle_close(self): self.close()
 *       def handle_read(self): print(self.recv(8192))
 *       def writable(self): return (len(self.buffer) > 0)
 *       def handle_write(self):
 *           sent = self.send(self.buffer)
 *           self.buffer = self.buffer[sent:]
 *   client = HTTPClient('www.python.org', '/')
 *   asyncore.loop()
 *
 * print() of the bytes becomes a plain write of them to stdout. */
#include "seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ac_dispatcher base;
    char buffer[2048];
    size_t len, off;
} http_client;

static http_client *H(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, http_client, base);
}

static void handle_connect(ac_dispatcher *d)
{
    (void)d;
}

static void handle_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void handle_read(ac_dispatcher *d)
{
    char data[8192];
    ssize_t n = ac_recv(d, data, sizeof(data));

    if (n > 0)
        fwrite(data, 1, (size_t)n, stdout);
}

static bool writable(ac_dispatcher *d)
{
    return H(d)->off < H(d)->len;
}

static void handle_write(ac_dispatcher *d)
{
    http_client *c = H(d);
    ssize_t sent = ac_send(d, c->buffer + c->off, c->len - c->off);

    if (sent > 0)
        c->off += (size_t)sent;
}

static const ac_dispatcher_class http_client_class = {
    .name = "HTTPClient",
    .handle_connect = handle_connect,
    .handle_close = handle_close,
    .handle_read = handle_read,
    .writable = writable,
    .handle_write = handle_write,
};

static int http_client_init(http_client *c, const char *host, int port,
                            const char *path)
{
    int r;

    ac_dispatcher_init(&c->base, &http_client_class, NULL);
    if ((r = seed_connect(&c->base, host, port)) < 0)
        return r;
    c->len = (size_t)snprintf(c->buffer, sizeof(c->buffer),
                              "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
                              host);
    return 0;
}

int main(int argc, char **argv)
{
    static const char usage[] =
        "usage: http_client HOST PATH [--port P] [--backend B] [--loop L]";
    seed_loop loop = seed_init(&argc, argv, usage);
    http_client client;
    int port = 80, r;

    if (argc == 5 && !strcmp(argv[3], "--port"))
        port = atoi(argv[4]);
    else if (argc != 3) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    if ((r = http_client_init(&client, argv[1], port, argv[2])) < 0) {
        fprintf(stderr, "http_client: %s\n", ac_strerror(r));
        return 1;
    }
    seed_run(loop);
    return 0;
}
