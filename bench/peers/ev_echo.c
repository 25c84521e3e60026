/* The libev echo server as libev users write it: an ev_io for the
 * listener and one per connection, what arrives written back, the rest
 * kept and flushed when writable.
 *   ev_echo [--port P]   prints "listening on 127.0.0.1:PORT" */
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    ev_io io;
    char *out;
    size_t len, cap;
} conn;

static void drop(struct ev_loop *loop, conn *c)
{
    ev_io_stop(loop, &c->io);
    close(c->io.fd);
    free(c->out);
    free(c);
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents)
{
    conn *c = (conn *)w;
    char buf[65536];
    ssize_t n;
    int want;

    if (revents & EV_WRITE && c->len) {
        n = send(w->fd, c->out, c->len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            drop(loop, c);
            return;
        }
        if (n > 0) {
            memmove(c->out, c->out + n, c->len - (size_t)n);
            c->len -= (size_t)n;
        }
    }
    if (revents & EV_READ && !c->len) {
        n = recv(w->fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            drop(loop, c);
            return;
        }
        if (n > 0) {
            ssize_t s = send(w->fd, buf, (size_t)n, MSG_NOSIGNAL);
            if (s < 0)
                s = 0;
            if (s < n) {
                if (c->cap < (size_t)(n - s)) {
                    c->out = realloc(c->out, (size_t)(n - s));
                    c->cap = (size_t)(n - s);
                }
                memcpy(c->out, buf + s, (size_t)(n - s));
                c->len = (size_t)(n - s);
            }
        }
    }
    want = c->len ? EV_WRITE : EV_READ;
    if ((w->events & (EV_READ | EV_WRITE)) != want) {
        ev_io_stop(loop, w);
        ev_io_set(w, w->fd, want);
        ev_io_start(loop, w);
    }
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    int fd;

    (void)revents;
    while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        conn *c = calloc(1, sizeof(*c));
        ev_io_init(&c->io, on_conn, fd, EV_READ);
        ev_io_start(loop, &c->io);
    }
}

static void on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
    struct ev_loop *loop = ev_default_loop(0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    ev_io listener;
    ev_signal term;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(argc > 2 ? (unsigned short)atoi(argv[2]) : 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0)
        return 1;
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    ev_io_init(&listener, on_accept, fd, EV_READ);
    ev_io_start(loop, &listener);
    ev_signal_init(&term, on_term, SIGTERM);
    ev_signal_start(loop, &term);
    ev_run(loop, 0);
    return 0;
}
