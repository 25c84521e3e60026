/* The sd-event echo server as sd-event users write it: an io source for
 * the listener and one per connection, what arrives written back, the rest
 * kept and flushed on EPOLLOUT.
 *   sdevent_echo [--port P]   prints "listening on 127.0.0.1:PORT" */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>

typedef struct {
    sd_event_source *src;
    char *out;
    size_t len, cap;
} conn;

static void drop(conn *c, int fd)
{
    sd_event_source_disable_unref(c->src);
    close(fd);
    free(c->out);
    free(c);
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *data)
{
    conn *c = data;
    char buf[65536];
    ssize_t n;

    if (revents & EPOLLOUT && c->len) {
        n = send(fd, c->out, c->len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            drop(c, fd);
            return 0;
        }
        if (n > 0) {
            memmove(c->out, c->out + n, c->len - (size_t)n);
            c->len -= (size_t)n;
        }
    }
    if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR) && !c->len) {
        n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            drop(c, fd);
            return 0;
        }
        if (n > 0) {
            ssize_t w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
            if (w < 0)
                w = 0;
            if (w < n) {
                if (c->cap < (size_t)(n - w)) {
                    c->out = realloc(c->out, (size_t)(n - w));
                    c->cap = (size_t)(n - w);
                }
                memcpy(c->out, buf + w, (size_t)(n - w));
                c->len = (size_t)(n - w);
            }
        }
    }
    sd_event_source_set_io_events(s, c->len ? EPOLLOUT : EPOLLIN);
    return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *data)
{
    int c;

    (void)revents;
    (void)data;
    while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        conn *k = calloc(1, sizeof(*k));
        sd_event_add_io(sd_event_source_get_event(s), &k->src, c, EPOLLIN,
                        on_conn, k);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    sigset_t term;
    sd_event *e;
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
    sd_event_default(&e);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL); /* exits the loop */
    sd_event_add_io(e, NULL, fd, EPOLLIN, on_accept, NULL);
    return sd_event_loop(e) < 0;
}
