/* Seed 002 (PyMOTW), "Servers": asyncore_echo_server.py. EchoServer,
 * EchoHandler and EchoClient all live in one map; the server takes one
 * client and closes, the handler closes once it has echoed everything
 * queued, and the loop ends when the map is empty.
 *
 *   echo_pair FILE [--backend B] [--loop L]     (FILE: the message)
 *
 *   class EchoServer(asyncore.dispatcher):
 *       def __init__(self, address):
 *           asyncore.dispatcher.__init__(self)
 *           self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
 *           self.bind(address)
 *           self.address = self.socket.getsockname()
 *           self.logger.debug('binding to %s', self.address)
 *           self.listen(1)
 *       def handle_accept(self):
 *           client_info = self.accept()
 *           self.logger.debug('handle_accept() -> %s', client_info[1])
 *           EchoHandler(sock=client_info[0])
 *           # one client only: close as soon as the handler is set up
 *           self.handle_close()
 *       def handle_close(self):
 *           self.logger.debug('handle_close()')
 *           self.close()
 *
 *   class EchoHandler(asyncore.dispatcher):     # chunk_size=256
 *       def writable(self): return bool(self.data_to_write)
 *       def handle_write(self):
 *           data = self.data_to_write.pop()
 *           sent = self.send(data[:self.chunk_size])
 *           if sent < len(data):
 *               self.data_to_write.append(data[sent:])
 *           self.logger.debug('handle_write() -> (%d) "%s"', sent, data[:sent])
 *           if not self.writable():
 *               self.handle_close()
 *       def handle_read(self):
 *           data = self.recv(self.chunk_size)
 *           self.logger.debug('handle_read() -> (%d) "%s"', len(data), data)
 *           self.data_to_write.insert(0, data)
 *       def handle_close(self):
 *           self.logger.debug('handle_close()')
 *           self.close()
 *
 *   class EchoClient(asyncore.dispatcher):      # chunk_size=512
 *       def handle_connect(self): self.logger.debug('handle_connect()')
 *       def handle_close(self):
 *           self.logger.debug('handle_close()')
 *           self.close()
 *           received_message = ''.join(self.received_data)
 *           if received_message == self.message:
 *               self.logger.debug('RECEIVED COPY OF MESSAGE')
 *           else:
 *               self.logger.debug('ERROR IN TRANSMISSION')
 *       def writable(self): return bool(self.to_send)
 *       def handle_write(self):
 *           sent = self.send(self.to_send[:self.chunk_size])
 *           self.logger.debug('handle_write() -> (%d) "%s"', sent, self.to_send[:sent])
 *           self.to_send = self.to_send[sent:]
 *       def handle_read(self):
 *           data = self.recv(self.chunk_size)
 *           self.logger.debug('handle_read() -> (%d) "%s"', len(data), data)
 *           self.received_data.append(data)
 *
 *   server = EchoServer(('localhost', 0))
 *   ip, port = server.address
 *   client = EchoClient(ip, port, message=open(FILE).read())
 *   asyncore.loop()
 *
 * The data_to_write list becomes a byte queue plus the sizes of the
 * chunks in it, so the handler sends chunk by chunk as the list does. The
 * log lines go to stderr; the verdict is also the exit status (0: a true
 * copy). */
#include "seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    ac_dispatcher base;
    char *buf;
    size_t len, cap;
    size_t *chunks; /* EchoHandler: sizes of the chunks in buf, oldest first */
    size_t nchunks;
} chunky; /* a dispatcher with a byte buffer */

static chunky *K(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, chunky, base);
}

static int append(chunky *k, const char *p, size_t n)
{
    if (k->len + n > k->cap) {
        size_t cap = (k->cap ? k->cap * 2 : 1024) + n;
        char *b = realloc(k->buf, cap);
        if (!b)
            return -1;
        k->buf = b;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    return 0;
}

static void consume(chunky *k, size_t n)
{
    memmove(k->buf, k->buf + n, k->len - n);
    k->len -= n;
}

/* ---- EchoHandler ---- */

static bool handler_writable(ac_dispatcher *d)
{
    return K(d)->len > 0;
}

static void handler_close(ac_dispatcher *d)
{
    seed_log("EchoHandler", "handle_close()");
    ac_close(d);
}

static void handler_write(ac_dispatcher *d)
{
    chunky *k = K(d);
    size_t want = k->chunks[0] < 256 ? k->chunks[0] : 256;
    ssize_t sent = ac_send(d, k->buf, want);

    if (sent < 0)
        return;
    seed_log("EchoHandler", "handle_write() -> (%d) \"%.*s\"", (int)sent,
             (int)sent, k->buf);
    consume(k, (size_t)sent);
    if ((k->chunks[0] -= (size_t)sent) == 0)
        memmove(k->chunks, k->chunks + 1, --k->nchunks * sizeof(size_t));
    if (!handler_writable(d))
        handler_close(d);
}

static void handler_read(ac_dispatcher *d)
{
    chunky *k = K(d);
    size_t *chunks;
    char data[256];
    ssize_t n = ac_recv(d, data, sizeof(data));

    if (n <= 0)
        return;
    seed_log("EchoHandler", "handle_read() -> (%d) \"%.*s\"", (int)n, (int)n,
             data);
    chunks = realloc(k->chunks, (k->nchunks + 1) * sizeof(size_t));
    if (!chunks || append(k, data, (size_t)n) < 0) {
        if (chunks)
            k->chunks = chunks;
        ac_handle_error(d, ENOMEM, "recv");
        return;
    }
    k->chunks = chunks;
    k->chunks[k->nchunks++] = (size_t)n;
}

static void chunky_destroy(ac_dispatcher *d)
{
    free(K(d)->buf);
    free(K(d)->chunks);
    free(K(d));
}

static const ac_dispatcher_class echo_handler_class = {
    .name = "EchoHandler",
    .writable = handler_writable,
    .handle_write = handler_write,
    .handle_read = handler_read,
    .handle_close = handler_close,
    .destroy = chunky_destroy,
};

/* ---- EchoServer ---- */

static void server_close(ac_dispatcher *d)
{
    seed_log("EchoServer", "handle_close()");
    ac_close(d);
}

static void server_accept(ac_dispatcher *d)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    char shown[AC_ADDRSTRLEN];
    int fd = ac_accept(d, &addr, &len);
    chunky *h;

    if (fd < 0)
        return;
    seed_log("EchoServer", "handle_accept() -> %s",
             ac_addr_string((struct sockaddr *)&addr, len, shown,
                            sizeof(shown)));
    h = calloc(1, sizeof(*h));
    if (!h || ac_dispatcher_init(&h->base, &echo_handler_class, NULL) < 0 ||
        ac_set_socket(&h->base, fd) < 0) {
        free(h);
        close(fd);
    }
    server_close(d);
}

static const ac_dispatcher_class echo_server_class = {
    .name = "EchoServer",
    .handle_accept = server_accept,
    .handle_close = server_close,
};

/* ---- EchoClient ---- */

typedef struct {
    chunky received; /* received_data */
    const char *message;
    size_t message_len, sent;
    bool ok;
} echo_client;

static echo_client *E(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, echo_client, received.base);
}

static void client_connect(ac_dispatcher *d)
{
    (void)d;
    seed_log("EchoClient", "handle_connect()");
}

static void client_close(ac_dispatcher *d)
{
    echo_client *c = E(d);

    seed_log("EchoClient", "handle_close()");
    ac_close(d);
    c->ok = c->received.len == c->message_len &&
            memcmp(c->received.buf, c->message, c->message_len) == 0;
    seed_log("EchoClient", c->ok ? "RECEIVED COPY OF MESSAGE"
                                 : "ERROR IN TRANSMISSION");
}

static bool client_writable(ac_dispatcher *d)
{
    return E(d)->sent < E(d)->message_len;
}

static void client_write(ac_dispatcher *d)
{
    echo_client *c = E(d);
    size_t left = c->message_len - c->sent;
    ssize_t sent = ac_send(d, c->message + c->sent, left < 512 ? left : 512);

    if (sent < 0)
        return;
    seed_log("EchoClient", "handle_write() -> (%d) \"%.*s\"", (int)sent,
             (int)sent, c->message + c->sent);
    c->sent += (size_t)sent;
}

static void client_read(ac_dispatcher *d)
{
    char data[512];
    ssize_t n = ac_recv(d, data, sizeof(data));

    if (n <= 0)
        return;
    seed_log("EchoClient", "handle_read() -> (%d) \"%.*s\"", (int)n, (int)n,
             data);
    if (append(&E(d)->received, data, (size_t)n) < 0)
        ac_handle_error(d, ENOMEM, "recv");
}

static const ac_dispatcher_class echo_client_class = {
    .name = "EchoClient",
    .handle_connect = client_connect,
    .handle_close = client_close,
    .writable = client_writable,
    .handle_write = client_write,
    .handle_read = client_read,
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    static const char usage[] = "usage: echo_pair FILE [--backend B] [--loop L]";
    seed_loop loop = seed_init(&argc, argv, usage);
    ac_dispatcher server;
    echo_client client = {0};
    struct sockaddr_storage addr;
    socklen_t len;
    char shown[AC_ADDRSTRLEN];
    int r;

    if (argc != 2) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    client.message = slurp(argv[1], &client.message_len);
    if (!client.message) {
        perror(argv[1]);
        return 1;
    }
    ac_dispatcher_init(&server, &echo_server_class, NULL);
    if ((r = ac_create_socket(&server, AF_INET, SOCK_STREAM)) < 0 ||
        (r = ac_resolve("localhost", 0, AF_INET, true, &addr, &len)) < 0 ||
        (r = ac_bind(&server, (struct sockaddr *)&addr, len)) < 0 ||
        (r = ac_listen(&server, 1)) < 0 ||
        (r = ac_getsockname(&server, &addr, &len)) < 0) {
        fprintf(stderr, "echo_pair: server: %s\n", ac_strerror(r));
        return 1;
    }
    seed_log("EchoServer", "binding to %s",
             ac_addr_string((struct sockaddr *)&addr, len, shown,
                            sizeof(shown)));
    ac_dispatcher_init(&client.received.base, &echo_client_class, NULL);
    if ((r = ac_create_socket(&client.received.base, AF_INET, SOCK_STREAM)) < 0 ||
        (r = ac_connect(&client.received.base, (struct sockaddr *)&addr, len)) < 0) {
        fprintf(stderr, "echo_pair: client: %s\n", ac_strerror(r));
        return 1;
    }
    seed_log("EchoClient", "connecting to %s", shown);
    seed_run(loop);
    free(client.received.buf);
    free((char *)client.message);
    return client.ok ? 0 : 1;
}
