/* A hand-written level-triggered epoll echo server: the practical limit.
 *   epoll_echo [--port P]   prints "listening on 127.0.0.1:PORT" */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    char *out; /* unsent echo, when the peer is slow */
    size_t off, len;
} pend;

static pend *pending;
static size_t npending;

static pend *slot(int fd)
{
    if ((size_t)fd >= npending) {
        size_t n = (size_t)fd * 2 + 64;
        pending = realloc(pending, n * sizeof(*pending));
        memset(pending + npending, 0, (n - npending) * sizeof(*pending));
        npending = n;
    }
    return &pending[fd];
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    struct epoll_event ev[256];
    struct rlimit rl;
    static char buf[65536];
    int lfd, ep, one = 1;

    a.sin_port = htons(argc > 2 ? (unsigned short)atoi(argv[2]) : 0);
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0)
        return 1;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    ep = epoll_create1(0);
    {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = lfd};
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    }
    for (;;) {
        int n = epoll_wait(ep, ev, 256, -1), i;
        for (i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            pend *p;
            ssize_t r;

            if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (c >= 0) {
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                }
                continue;
            }
            p = slot(fd);
            if (ev[i].events & EPOLLOUT) {
                r = send(fd, p->out + p->off, p->len, MSG_NOSIGNAL);
                if (r > 0) {
                    p->off += (size_t)r;
                    p->len -= (size_t)r;
                }
                if (p->len == 0) {
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
                }
                continue;
            }
            r = recv(fd, buf, sizeof(buf), 0);
            if (r <= 0) {
                if (r == 0 || errno != EAGAIN) {
                    free(p->out);
                    memset(p, 0, sizeof(*p));
                    close(fd);
                }
                continue;
            }
            if (p->len == 0) {
                ssize_t w = send(fd, buf, (size_t)r, MSG_NOSIGNAL);
                if (w == r)
                    continue;
                if (w < 0)
                    w = 0;
                p->out = realloc(p->out, (size_t)(r - w));
                memcpy(p->out, buf + w, (size_t)(r - w));
                p->off = 0;
                p->len = (size_t)(r - w);
                struct epoll_event e = {.events = EPOLLIN | EPOLLOUT,
                                        .data.fd = fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
            } else {
                memmove(p->out, p->out + p->off, p->len);
                p->off = 0;
                p->out = realloc(p->out, p->len + (size_t)r);
                memcpy(p->out + p->len, buf, (size_t)r);
                p->len += (size_t)r;
            }
        }
    }
}
