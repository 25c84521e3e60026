/* Seed 000: MyDispatcher, with its own map and the handle_close that
 * flushes the output buffer before closing ("to prevent data loss upon
 * the close").
 *
 *   my_dispatcher --port P MESSAGE [--host H] [--backend B] [--loop L]
 *
 *   class MyDispatcher(asyncore.dispatcher):
 *       def __init__(self, map=None):
 *           asyncore.dispatcher.__init__(self, map=map)
 *           self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
 *           self.connect(("example.com", 2222))
 *           self.out_buffer = ''
 *           self.in_buffer = ''
 *       def handle_read(self):
 *           data = self.recv(4096)
 *           self.in_buffer += data
 *       def handle_write(self):
 *           sent = self.send(self.out_buffer)
 *           self.out_buffer = self.out_buffer[sent:]
 *       def readable(self): return True
 *       def writable(self):
 *           if self.connected and len(self.out_buffer) > 0: return True
 *           return False
 *       def handle_close(self):
 *           # Flush the buffer
 *           while self.writable():
 *               self.handle_write()
 *           self.close()
 *   map = {}
 *   d = MyDispatcher(map=map)
 *   asyncore.loop(timeout=0.1, map=map)
 *
 * What it says: MESSAGE is queued at once, and every time the peer's words
 * end with a line, "thanks\n" is queued too. writable() is the seed's: it
 * is false until connected, so (as in Python) the connect completes on the
 * first read event: this client waits for the peer to speak first. A peer
 * that greets and closes at once gets MESSAGE and the thanks only because
 * handle_close flushes them. At the end in_buffer is printed. */
#include "seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ac_dispatcher base;
    char out_buffer[4096];
    size_t out_len;
    char in_buffer[65536];
    size_t in_len;
} my_dispatcher;

static my_dispatcher *M(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, my_dispatcher, base);
}

static void queue(my_dispatcher *m, const char *s)
{
    size_t n = strlen(s);

    if (n <= sizeof(m->out_buffer) - m->out_len) {
        memcpy(m->out_buffer + m->out_len, s, n);
        m->out_len += n;
    }
}

static void handle_read(ac_dispatcher *d)
{
    my_dispatcher *m = M(d);
    ssize_t n = ac_recv(d, m->in_buffer + m->in_len,
                        sizeof(m->in_buffer) - m->in_len > 4096
                            ? 4096
                            : sizeof(m->in_buffer) - m->in_len);

    if (n <= 0)
        return;
    m->in_len += (size_t)n;
    if (m->in_buffer[m->in_len - 1] == '\n')
        queue(m, "thanks\n");
}

static void handle_write(ac_dispatcher *d)
{
    my_dispatcher *m = M(d);
    ssize_t sent = ac_send(d, m->out_buffer, m->out_len);

    if (sent <= 0)
        return;
    memmove(m->out_buffer, m->out_buffer + sent, m->out_len - (size_t)sent);
    m->out_len -= (size_t)sent;
}

static bool readable(ac_dispatcher *d)
{
    (void)d;
    return true;
}

static bool writable(ac_dispatcher *d)
{
    return ac_connected(d) && M(d)->out_len > 0;
}

static void handle_close(ac_dispatcher *d)
{
    /* Flush the buffer (a send that fails closes the channel: stop then) */
    while (!ac_closed(d) && writable(d)) {
        size_t before = M(d)->out_len;
        handle_write(d);
        if (M(d)->out_len == before)
            break; /* the socket is full: what is left is lost, as in Python */
    }
    if (!ac_closed(d))
        ac_close(d);
}

static void handle_connect(ac_dispatcher *d)
{
    (void)d;
}

static const ac_dispatcher_class my_dispatcher_class = {
    .name = "MyDispatcher",
    .handle_read = handle_read,
    .handle_write = handle_write,
    .readable = readable,
    .writable = writable,
    .handle_close = handle_close,
    .handle_connect = handle_connect,
};

int main(int argc, char **argv)
{
    static const char usage[] = "usage: my_dispatcher --port P MESSAGE "
                                "[--host H] [--backend B] [--loop L]";
    seed_loop loop = seed_init(&argc, argv, usage);
    const char *host = "127.0.0.1", *message = NULL;
    my_dispatcher *m = calloc(1, sizeof(*m));
    ac_map *map;
    int i, port = 0, r;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else
            message = argv[i];
    }
    if (!m || port <= 0 || !message) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    map = seed_map_new();
    ac_dispatcher_init(&m->base, &my_dispatcher_class, map);
    queue(m, message);
    if ((r = seed_connect(&m->base, host, port)) < 0) {
        fprintf(stderr, "my_dispatcher: %s\n", ac_strerror(r));
        return 1;
    }
    seed_run_map(loop, map, 100);
    fwrite(m->in_buffer, 1, m->in_len, stdout);
    ac_map_free(map);
    free(m);
    return 0;
}
