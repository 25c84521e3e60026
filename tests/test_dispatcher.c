/* Dispatcher objects and Python's event mapping (CONFORMANCE C-10..C-37),
 * ported from CPython's test_asyncore where a case exists there. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const int families[] = {AF_INET, AF_INET6, AF_UNIX};
#define NFAM 3

/* A connected pair of tchans through a real listener of `family`. */
static void connected_pair(ac_map *map, int family, tchan **srv, tchan **cli,
                           tchan **peer)
{
    struct sockaddr_storage a;
    socklen_t l;
    tchan *s = tchan_server(map, family, &a, &l);
    tchan *c = tchan_client(map, &a, l);

    while ((!s->peer || !ac_connected(&c->d)) && t_step(map, 50) >= 0)
        if (!s->peer && c->n_error)
            break;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->peer);
    CU_ASSERT_TRUE_FATAL(ac_connected(&c->d));
    *srv = s;
    *cli = c;
    *peer = s->peer;
}

/* C-30, C-32: create_socket makes non-blocking close-on-exec sockets and
 * joins the map; set_reuse_addr sets SO_REUSEADDR; for every family. */
static void test_create_socket(void)
{
    int i;
    for (i = 0; i < NFAM; i++) {
        ac_map *map = t_map_new();
        tchan *t = tchan_new(map);
        int fd, v = 0;
        socklen_t vl = sizeof(v);

        CU_ASSERT_EQUAL(ac_create_socket(&t->d, families[i], SOCK_STREAM), 0);
        fd = ac_fileno(&t->d);
        CU_ASSERT(fd >= 0);
        CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
        CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        CU_ASSERT_PTR_EQUAL(ac_map_get(map, fd), &t->d);
        CU_ASSERT_EQUAL(ac_map_count(map), 1);
        CU_ASSERT_EQUAL(ac_create_socket(&t->d, families[i], SOCK_STREAM),
                        -EISCONN);
        if (families[i] != AF_UNIX) {
            CU_ASSERT_EQUAL(ac_set_reuse_addr(&t->d), 0);
            getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &vl);
            CU_ASSERT(v != 0);
        }
        CU_ASSERT_EQUAL(ac_close(&t->d), 0);
        t_map_done(map);
    }
}

/* C-31: set_socket adopts a connected socket: non-blocking, connected. */
static void test_set_socket(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    CU_ASSERT_TRUE(ac_connected(&t->d));
    CU_ASSERT_FALSE(ac_accepting(&t->d));
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[1]), -EISCONN);
    /* An fd already in the map cannot join twice. */
    {
        tchan *u = tchan_new(map);
        CU_ASSERT_EQUAL(ac_set_socket(&u->d, sv[0]), -EEXIST);
        CU_ASSERT_EQUAL(ac_close(&u->d), 0);
    }
    /* A non-socket is refused, and the caller keeps it. */
    {
        tchan *u = tchan_new(map);
        int p[2];
        CU_ASSERT_EQUAL(pipe(p), 0);
        CU_ASSERT_EQUAL(ac_set_socket(&u->d, p[0]), -ENOTSOCK);
        CU_ASSERT_TRUE(t_fd_open(p[0]));
        close(p[0]);
        close(p[1]);
        ac_close(&u->d);
    }
    close(sv[1]);
    ac_close(&t->d);
    t_map_done(map);
}

/* C-36 (test_connection_attributes), C-11, C-13: accept, connect, states,
 * and data both ways, for every family. */
static void test_connection_attributes(void)
{
    int i;
    for (i = 0; i < NFAM; i++) {
        ac_map *map = t_map_new();
        struct sockaddr_storage a;
        socklen_t l;
        tchan *s = tchan_server(map, families[i], &a, &l);
        tchan *c;

        CU_ASSERT_FALSE(ac_connected(&s->d));
        CU_ASSERT_TRUE(ac_accepting(&s->d));
        c = tchan_client(map, &a, l);
        c->keep_memory = true; /* its state is read after close */
        s->keep_memory = true;
        CU_ASSERT_FALSE(ac_accepting(&c->d));
        while (!s->peer && t_step(map, 50) >= 0)
            ;
        while (!ac_connected(&c->d) && t_step(map, 50) >= 0)
            ;
        CU_ASSERT_FALSE(ac_connected(&s->d));
        CU_ASSERT_TRUE(ac_accepting(&s->d));
        CU_ASSERT_TRUE(ac_connected(&c->d));
        CU_ASSERT_FALSE(ac_connecting(&c->d));
        CU_ASSERT_EQUAL(c->n_connect, 1);
        CU_ASSERT_EQUAL(s->n_accepted, 1);
        CU_ASSERT_TRUE(ac_connected(&s->peer->d));

        /* bytes both ways */
        CU_ASSERT_EQUAL(ac_send(&c->d, "ping", 4), 4);
        while (s->peer->in_len < 4 && t_step(map, 50) >= 0)
            ;
        CU_ASSERT_EQUAL(memcmp(s->peer->in, "ping", 4), 0);
        CU_ASSERT_EQUAL(ac_send(&s->peer->d, "pong", 4), 4);
        while (c->in_len < 4 && t_step(map, 50) >= 0)
            ;
        CU_ASSERT_EQUAL(memcmp(c->in, "pong", 4), 0);

        ac_close(&c->d);
        CU_ASSERT_FALSE(ac_connected(&c->d));
        CU_ASSERT_FALSE(ac_accepting(&c->d));
        CU_ASSERT_TRUE(ac_accepting(&s->d));
        /* the server side sees the close: recv of 0 -> handle_close (C-20) */
        while (ac_map_count(map) > 1 && t_step(map, 50) >= 0)
            ;
        CU_ASSERT_EQUAL(ac_map_count(map), 1);
        ac_close(&s->d);
        CU_ASSERT_FALSE(ac_accepting(&s->d));
        CU_ASSERT_FALSE(ac_connected(&s->d));
        free(c);
        free(s);
        t_map_done(map);
    }
}

/* C-13: a refused connect reports its errno, never handle_connect. */
static void test_connect_refused(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    int fd = t_listener(AF_INET, &a, &l);
    int destroyed = t_destroyed;

    close(fd); /* nothing listens on this port now */
    tchan_client(map, &a, l);
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    CU_ASSERT_EQUAL(t_destroyed, destroyed + 1);
    t_map_done(map);
}

static int refused_err, refused_connects;
static void refused_error(ac_dispatcher *d, int err, const char *where)
{
    refused_err = err;
    refused_connects = TCHAN(d)->n_connect;
    CU_ASSERT_STRING_EQUAL(where, "connect");
    ac_close(d);
}

static void test_connect_refused_errno(void)
{
    static ac_dispatcher_class cls;
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    int fd = t_listener(AF_INET, &a, &l);
    tchan *c = tchan_new(map);

    cls = tchan_class;
    cls.handle_error = refused_error;
    c->d.klass = &cls;
    close(fd);
    refused_err = 0;
    refused_connects = -1;
    CU_ASSERT_EQUAL(ac_create_socket(&c->d, AF_INET, SOCK_STREAM), 0);
    c->want_write = true;
    CU_ASSERT_EQUAL(ac_connect(&c->d, (struct sockaddr *)&a, l), 0);
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    CU_ASSERT_EQUAL(refused_err, ECONNREFUSED);
    CU_ASSERT_EQUAL(refused_connects, 0);
    t_map_done(map);
}

/* C-14: an AF_UNIX connect that completes at once runs handle_connect
 * inside ac_connect. */
static void test_connect_immediate(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    int lfd = t_listener(AF_UNIX, &a, &l);
    tchan *c = tchan_new(map);

    CU_ASSERT_EQUAL(ac_create_socket(&c->d, AF_UNIX, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_connect(&c->d, (struct sockaddr *)&a, l), 0);
    CU_ASSERT_EQUAL(c->n_connect, 1);
    CU_ASSERT_TRUE(ac_connected(&c->d));
    CU_ASSERT_FALSE(ac_connecting(&c->d));
    ac_close(&c->d);
    close(lfd);
    t_map_done(map);
}

/* C-12: nothing to accept is -EAGAIN, a distinct non-error. */
static void test_accept_none(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    tchan *s = tchan_server(map, AF_INET, &a, &l);

    s->keep_memory = true;
    CU_ASSERT_EQUAL(ac_accept(&s->d, NULL, NULL), -EAGAIN);
    ac_close(&s->d);
    CU_ASSERT_EQUAL(ac_accept(&s->d, NULL, NULL), -EBADF);
    free(s);
    t_map_done(map);
}

/* C-11 (test_handle_accepted): the base handle_accepted closes the new
 * socket and logs; the listener stays. */
static void test_base_handle_accepted(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    ac_dispatcher srv;
    int c, i;
    char b;

    CU_ASSERT_EQUAL(ac_dispatcher_init(&srv, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_create_socket(&srv, AF_INET, SOCK_STREAM), 0);
    {
        struct sockaddr_in in = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        CU_ASSERT_EQUAL(ac_bind(&srv, (struct sockaddr *)&in, sizeof(in)), 0);
    }
    CU_ASSERT_EQUAL(ac_listen(&srv, 5), 0);
    CU_ASSERT_EQUAL(ac_getsockname(&srv, &a, &l), 0);
    c = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL(connect(c, (struct sockaddr *)&a, l), 0);
    for (i = 0; i < 20 && !t_log_contains("unhandled accepted"); i++)
        t_step(map, 50);
    CU_ASSERT_TRUE(t_log_contains("unhandled accepted event"));
    /* the accepted socket was closed: the client reads EOF */
    CU_ASSERT_EQUAL(recv(c, &b, 1, 0), 0);
    CU_ASSERT_TRUE(ac_accepting(&srv));
    close(c);
    ac_close(&srv);
    t_map_done(map);
}

/* C-16 (test_unhandled): base handlers log once per kind. */
static void test_unhandled_logged_once(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher d;
    int sv[2], i;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&d, sv[0]), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    for (i = 0; i < 5; i++)
        t_step(map, 10);
    CU_ASSERT_TRUE(t_log_contains("unhandled read event"));
    CU_ASSERT_TRUE(t_log_contains("unhandled write event"));
    CU_ASSERT_EQUAL(t_log_count(), 2);
    ac_close(&d);
    close(sv[1]);
    t_map_done(map);
}

/* C-10 (test_readwrite): each poll flag reaches its handler, and a handler
 * that closes the channel stops the remaining steps (D-03). */
static void test_readwrite_flags(void)
{
    static const struct {
        unsigned flags;
        int read, write, expt, close;
    } cases[] = {
        {AC_IN, 1, 0, 0, 0},        {AC_OUT, 0, 1, 0, 0},
        {AC_PRI, 0, 0, 1, 0},       {AC_HUP, 0, 0, 0, 1},
        {AC_ERR, 0, 0, 0, 1},       {AC_NVAL, 0, 0, 0, 1},
        {AC_IN | AC_OUT, 1, 1, 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ac_map *map = t_map_new();
        tchan *t = tchan_new(map);
        int sv[2];

        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        /* keep it open in handle_close so the counts stay readable */
        t->on_close = tchan_keep_open;
        CU_ASSERT(ac_map_refresh(map) >= 0);
        CU_ASSERT_EQUAL(ac_map_dispatch(map, sv[0], cases[i].flags), 1);
        CU_ASSERT_EQUAL(t->n_read, cases[i].read);
        CU_ASSERT_EQUAL(t->n_write, cases[i].write);
        CU_ASSERT_EQUAL(t->n_expt, cases[i].expt);
        CU_ASSERT_EQUAL(t->n_close, cases[i].close);
        if (!ac_closed(&t->d))
            ac_close(&t->d);
        close(sv[1]);
        t_map_done(map);
    }
}

static void close_in_read(tchan *t)
{
    ac_close(&t->d);
    t->flag = true; /* touching the channel after close is allowed here */
}

static bool ran_after_close;
static void record_after_close(tchan *t)
{
    (void)t;
    ran_after_close = true;
}

static void test_readwrite_stops_after_close(void)
{
    ac_map *map;
    tchan *t;
    int sv[2], destroyed;

    map = t_map_new();
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = close_in_read;
    t->on_write = t->on_expt = t->on_close = record_after_close;
    ran_after_close = false;
    CU_ASSERT(ac_map_refresh(map) >= 0);
    destroyed = t_destroyed;
    CU_ASSERT_EQUAL(
        ac_map_dispatch(map, sv[0], AC_IN | AC_OUT | AC_PRI | AC_HUP), 1);
    /* destroyed after the dispatch returned; write/expt/close never ran */
    CU_ASSERT_EQUAL(t_destroyed, destroyed + 1);
    CU_ASSERT_FALSE(ran_after_close);
    close(sv[1]);
    t_map_done(map);
}

/* C-15 (test_handle_expt): OOB data reaches handle_expt. */
static void expt_read_oob(tchan *t)
{
    char b;
    recv(ac_fileno(&t->d), &b, 1, MSG_OOB);
    t->flag = true;
}

static void test_handle_expt(void)
{
    ac_map *map = t_map_new();
    tchan *s, *c, *p;

    if (t_current == T_EVENT) { /* libevent has no event for priority data */
        t_map_done(map);
        return;
    }
    connected_pair(map, AF_INET, &s, &c, &p);
    c->on_expt = expt_read_oob;
    CU_ASSERT_EQUAL(send(ac_fileno(&p->d), "\xf4", 1, MSG_OOB), 1);
    CU_ASSERT_TRUE(t_run_until(map, &c->flag, 2000));
    CU_ASSERT_EQUAL(c->n_expt, 1);
    ac_close_all(map, false);
    t_map_done(map);
}

/* C-17, C-22 (test_handle_close_after_conn_broken): sending to a reset
 * peer closes the channel through handle_close, with no SIGPIPE. */
static void test_send_to_reset_peer(void)
{
    ac_map *map = t_map_new();
    tchan *s, *c, *p;
    struct linger lg = {1, 0};
    char buf[4096];
    int i, r = 0;

    connected_pair(map, AF_INET, &s, &c, &p);
    c->on_read = NULL;
    setsockopt(ac_fileno(&p->d), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ac_close(&p->d); /* RST */
    memset(buf, 'x', sizeof(buf));
    c->want_read = false;
    for (i = 0; i < 100; i++) {
        r = (int)ac_send(&c->d, buf, sizeof(buf));
        if (r < 0)
            break;
        usleep(1000);
    }
    CU_ASSERT(r == -ECONNRESET || r == -EPIPE);
    /* c was closed by handle_close and destroyed (outside a handler). */
    CU_ASSERT_EQUAL(ac_map_count(map), 1);
    ac_close(&s->d);
    t_map_done(map);
}

/* C-21: recv with nothing available is -EAGAIN and calls nothing; send on
 * a full socket returns 0. */
static void test_eagain(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], i;
    char buf[65536];
    ssize_t n = 1;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_recv(&t->d, buf, sizeof(buf)), -EAGAIN);
    CU_ASSERT_EQUAL(ac_recv(&t->d, buf, 0), -EINVAL);
    memset(buf, 'y', sizeof(buf));
    for (i = 0; i < 1000 && n > 0; i++)
        n = ac_send(&t->d, buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(t->n_close + t->n_error, 0);
    CU_ASSERT_FALSE(ac_closed(&t->d));
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

/* C-20 (test_handle_close): recv of 0 bytes calls handle_close. */
static void test_recv_eof(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2];
    char b[8];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_close = tchan_keep_open;
    close(sv[1]);
    CU_ASSERT_EQUAL(ac_recv(&t->d, b, sizeof(b)), 0);
    CU_ASSERT_EQUAL(t->n_close, 1);
    ac_close(&t->d);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    t_map_done(map);
}

/* C-33 (test_close_twice) and calls on a closed channel. */
static void test_close_twice(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher d;
    int sv[2];
    char b;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_close(&d), 0);
    CU_ASSERT_EQUAL(ac_fileno(&d), -1);
    CU_ASSERT_TRUE(ac_closed(&d));
    /* the number is reused by a new descriptor: a second close must not
     * touch it */
    {
        int p[2];
        CU_ASSERT_EQUAL(pipe(p), 0);
        CU_ASSERT_EQUAL(ac_close(&d), -EBADF);
        CU_ASSERT_TRUE(t_fd_open(p[0]));
        close(p[0]);
        close(p[1]);
    }
    CU_ASSERT_EQUAL(ac_send(&d, "x", 1), -EBADF);
    CU_ASSERT_EQUAL(ac_recv(&d, &b, 1), -EBADF);
    CU_ASSERT_EQUAL(ac_listen(&d, 1), -EBADF);
    CU_ASSERT_EQUAL(ac_set_interest(&d, AC_READ), -EBADF);
    CU_ASSERT_EQUAL(ac_create_socket(&d, AF_INET, SOCK_STREAM), -EBADF);
    CU_ASSERT_EQUAL(ac_close(NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_send(NULL, "x", 1), -EINVAL);
    CU_ASSERT_EQUAL(ac_set_interest(NULL, 0), -EINVAL);
    close(sv[1]);
    t_map_done(map);
}

/* C-34 (test_repr). */
static void test_repr(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    char buf[256], want[64];
    tchan *s = tchan_server(map, AF_INET, &a, &l);
    ac_dispatcher d;

    ac_repr(&s->d, buf, sizeof(buf));
    snprintf(want, sizeof(want), "127.0.0.1:%d", ac_addr_port((void *)&a));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<tchan listening "));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    ac_repr(&d, buf, sizeof(buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<dispatcher at 0x"));
    ac_close(&d);
    ac_close(&s->d);
    t_map_done(map);
}

/* C-37 (test_quick_connect): a client that resets right after connecting
 * does not break the loop. */
static void test_quick_connect(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    tchan *s = tchan_server(map, AF_INET, &a, &l);
    struct linger lg = {1, 0};
    int i, c;

    for (i = 0; i < 5; i++) {
        c = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        CU_ASSERT_EQUAL(connect(c, (struct sockaddr *)&a, l), 0);
        close(c);
    }
    for (i = 0; i < 20; i++)
        CU_ASSERT(t_step(map, 10) >= 0);
    CU_ASSERT_FALSE(ac_closed(&s->d));
    CU_ASSERT_EQUAL(ac_map_count(map), 1); /* peers saw the reset, closed */
    ac_close(&s->d);
    t_map_done(map);
}

/* C-36: addr is what was given to bind/connect. */
static void test_addr(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a, got;
    socklen_t l, gl;
    tchan *s = tchan_server(map, AF_INET6, &a, &l);
    tchan *c = tchan_client(map, &a, l);
    char x[AC_ADDRSTRLEN];

    /* the listener's addr is the bound one, with the real port */
    CU_ASSERT_EQUAL(ac_get_addr(&s->d, &got, &gl), 0);
    CU_ASSERT_EQUAL(ac_addr_port((struct sockaddr *)&got),
                    ac_addr_port((struct sockaddr *)&a));
    CU_ASSERT_EQUAL(ac_get_addr(&c->d, &got, &gl), 0);
    CU_ASSERT_EQUAL(gl, l);
    CU_ASSERT_EQUAL(memcmp(&got, &a, l), 0);
    ac_addr_string((struct sockaddr *)&got, gl, x, sizeof(x));
    CU_ASSERT_EQUAL(strncmp(x, "[::1]:", 6), 0);
    ac_close_all(map, false);
    t_map_done(map);
}

/* ac_map_dispatch with chosen flags: independent of the waiting mode. */
/* TCP channels start with Nagle off, created or adopted (the library's
 * default, unlike Python's); ac_set_nodelay and ac_set_keepalive change
 * the socket; other sockets and closed channels say so. */
static int sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);

    CU_ASSERT_EQUAL(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

static void test_tcp_options(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage ss;
    socklen_t len;
    int lfd = t_listener(AF_INET, &ss, &len), fd, sv[2];
    tchan *c = tchan_new(map), *a = tchan_new(map), *u = tchan_new(map);

    CU_ASSERT_EQUAL(ac_create_socket(&c->d, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(sockopt(ac_fileno(&c->d), IPPROTO_TCP, TCP_NODELAY), 1);
    CU_ASSERT_EQUAL(ac_connect(&c->d, (struct sockaddr *)&ss, len), 0);
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&a->d, fd), 0);
    CU_ASSERT_EQUAL(sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    CU_ASSERT_EQUAL(ac_set_nodelay(&a->d, false), 0);
    CU_ASSERT_EQUAL(sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 0);
    CU_ASSERT_EQUAL(ac_set_keepalive(&a->d, true, 30), 0);
    CU_ASSERT_EQUAL(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    CU_ASSERT_EQUAL(sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    CU_ASSERT_EQUAL(ac_set_keepalive(&a->d, true, -1), -EINVAL);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&u->d, sv[0]), 0);
    CU_ASSERT(ac_set_nodelay(&u->d, true) < 0); /* not TCP */
    a->keep_memory = true;
    ac_close(&c->d);
    ac_close(&a->d);
    ac_close(&u->d);
    CU_ASSERT_EQUAL(ac_set_nodelay(&a->d, true), -EBADF);
    free(a);
    close(sv[1]);
    close(lfd);
    t_map_done(map);
}

static CU_TestInfo once[] = {
    {"tcp_options", test_tcp_options},
    {"readwrite_flags", test_readwrite_flags},
    {"readwrite_stops_after_close", test_readwrite_stops_after_close},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo tests[] = {
    {"create_socket", test_create_socket},
    {"set_socket", test_set_socket},
    {"connection_attributes", test_connection_attributes},
    {"connect_refused", test_connect_refused},
    {"connect_refused_errno", test_connect_refused_errno},
    {"connect_immediate", test_connect_immediate},
    {"accept_none", test_accept_none},
    {"base_handle_accepted", test_base_handle_accepted},
    {"unhandled_logged_once", test_unhandled_logged_once},
    {"handle_expt", test_handle_expt},
    {"send_to_reset_peer", test_send_to_reset_peer},
    {"eagain", test_eagain},
    {"recv_eof", test_recv_eof},
    {"close_twice", test_close_twice},
    {"repr", test_repr},
    {"quick_connect", test_quick_connect},
    {"addr", test_addr},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("dispatcher", tests);
    t_register_modes("dispatcher", once, T_ONCE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
