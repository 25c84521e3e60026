/* A hand-written TLS echo server, OpenSSL on level-triggered epoll: the
 * practical limit for TLS. The same OpenSSL settings as asyncore-tls
 * (partial writes, moving write buffer, released buffers, read-ahead, TLS
 * 1.2-1.3, no renegotiation), socket BIOs, an unsent-echo buffer per
 * connection.
 *   tls_echo --cert FILE --key FILE [--port P]
 * prints "listening on 127.0.0.1:PORT" */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    SSL *ssl;
    bool open, established;
    unsigned events;
    char *out; /* decrypted bytes not yet echoed */
    size_t off, len;
} conn;

static conn *conns;
static size_t nconns;
static int ep;

static conn *slot(int fd)
{
    if ((size_t)fd >= nconns) {
        size_t n = (size_t)fd * 2 + 64;
        conns = realloc(conns, n * sizeof(*conns));
        memset(conns + nconns, 0, (n - nconns) * sizeof(*conns));
        nconns = n;
    }
    return &conns[fd];
}

static void want(int fd, conn *c, unsigned events)
{
    struct epoll_event e = {.events = events, .data.fd = fd};

    if (events != c->events) {
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
        c->events = events;
    }
}

static void drop(int fd, conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    if (c->established)
        SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    free(c->out);
    memset(c, 0, sizeof(*c));
    close(fd);
    ERR_clear_error();
}

/* Echo what is queued; false if the connection failed. */
static bool flush(int fd, conn *c)
{
    while (c->len) {
        size_t n;
        int r = SSL_write_ex(c->ssl, c->out + c->off, c->len, &n);
        if (!r) {
            int e = SSL_get_error(c->ssl, 0);
            if (e == SSL_ERROR_WANT_WRITE) {
                want(fd, c, EPOLLIN | EPOLLOUT);
                return true;
            }
            return e == SSL_ERROR_WANT_READ;
        }
        c->off += n;
        c->len -= n;
    }
    c->off = 0;
    want(fd, c, EPOLLIN);
    return true;
}

static void serve(int fd, conn *c)
{
    static char buf[65536];

    if (!c->established) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                want(fd, c, EPOLLIN);
            else if (e == SSL_ERROR_WANT_WRITE)
                want(fd, c, EPOLLIN | EPOLLOUT);
            else
                drop(fd, c);
            return;
        }
        c->established = true;
        want(fd, c, EPOLLIN);
    }
    if (c->len && !flush(fd, c)) {
        drop(fd, c);
        return;
    }
    if (c->len)
        return; /* the peer is slow: read again once the echo is out */
    /* one socket read per readiness (level-triggered), and what OpenSSL
     * already holds: no read that can only say EAGAIN */
    do {
        size_t n;
        if (!SSL_read_ex(c->ssl, buf, sizeof(buf), &n)) {
            int e = SSL_get_error(c->ssl, 0);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                drop(fd, c);
            return;
        }
        c->out = realloc(c->out, c->len + n);
        memcpy(c->out + c->len, buf, n);
        c->len += n;
        if (!flush(fd, c)) {
            drop(fd, c);
            return;
        }
        if (c->len)
            return;
    } while (SSL_has_pending(c->ssl));
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    struct epoll_event ev[256];
    struct rlimit rl;
    const char *cert = NULL, *key = NULL;
    SSL_CTX *ctx;
    int lfd, one = 1, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            a.sin_port = htons((unsigned short)atoi(argv[i + 1]));
        else if (!strcmp(argv[i], "--cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
    }
    if (!cert || !key) {
        fprintf(stderr, "usage: tls_echo --cert FILE --key FILE [--port P]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* socket BIOs write(2) */
    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, 65536);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "tls_echo: cannot load %s / %s\n", cert, key);
        return 1;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(lfd, 4096) < 0) {
        perror("tls_echo");
        return 1;
    }
    getsockname(lfd, (struct sockaddr *)&a, &al);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    ep = epoll_create1(0);
    {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = lfd};
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    }
    for (;;) {
        int n = epoll_wait(ep, ev, 256, -1);
        for (i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    conn *k = slot(c);
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
                    k->ssl = SSL_new(ctx);
                    SSL_set_fd(k->ssl, c);
                    SSL_set_accept_state(k->ssl);
                    k->open = true;
                    k->events = EPOLLIN;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                }
                continue;
            }
            if ((size_t)fd < nconns && conns[fd].open)
                serve(fd, &conns[fd]);
        }
    }
}
