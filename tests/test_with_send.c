/* dispatcher_with_send (C-23): queued output, in order, across partial
 * writes; write interest only while connecting or while bytes wait. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    ac_dispatcher_with_send w;
    int reads, destroyed, connects;
} wchan;

static int wchan_destroyed;

static void wc_destroy(ac_dispatcher *d)
{
    wchan_destroyed++;
    free(AC_CONTAINER_OF(d, wchan, w.base));
}

static void wc_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void wc_read(ac_dispatcher *d)
{
    char b[256];
    AC_CONTAINER_OF(d, wchan, w.base)->reads++;
    ac_recv(d, b, sizeof(b));
}

static void wc_connect(ac_dispatcher *d)
{
    AC_CONTAINER_OF(d, wchan, w.base)->connects++;
}

static const ac_dispatcher_class wchan_class = {
    .name = "wchan",
    .parent = &ac_with_send_class,
    .handle_read = wc_read,
    .handle_close = wc_close,
    .handle_connect = wc_connect,
    .destroy = wc_destroy,
};

static wchan *wchan_new(ac_map *map)
{
    wchan *c = calloc(1, sizeof(*c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(ac_with_send_init(&c->w, &wchan_class, map), 0);
    return c;
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

/* 4 MiB in uneven pieces to a slow reader: every byte arrives, in order. */
static void test_send_in_order(void)
{
    ac_map *map = t_map_new();
    wchan *c = wchan_new(map);
    int sv[2];
    size_t total = 4u << 20, queued = 0, got = 0, piece = 1;
    unsigned char *buf = malloc(total), rb[7919];
    int bad = 0, rounds = 0;

    for (size_t i = 0; i < total; i++)
        buf[i] = pattern(i);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&c->w.base, sv[0]), 0);
    while (queued < total) {
        size_t n = piece < total - queued ? piece : total - queued;
        CU_ASSERT_EQUAL_FATAL(ac_with_send(&c->w, buf + queued, n), 0);
        queued += n;
        piece = piece * 3 + 1;
        if (piece > 300000)
            piece = 17;
    }
    CU_ASSERT(ac_with_send_pending(&c->w) > 0); /* the peer has not read */
    while (got < total && rounds++ < 100000) {
        ssize_t n = recv(sv[1], rb, sizeof(rb), MSG_DONTWAIT);
        if (n > 0) {
            for (ssize_t k = 0; k < n; k++)
                bad += rb[k] != pattern(got + (size_t)k);
            got += (size_t)n;
        } else {
            t_step(map, 10);
        }
    }
    CU_ASSERT_EQUAL(got, total);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(ac_with_send_pending(&c->w), 0);
    if (t_current == T_HOST) /* drained: write interest dropped */
        CU_ASSERT_EQUAL(t_host_events(sv[0]) & AC_OUT, 0);
    ac_close(&c->w.base);
    close(sv[1]);
    free(buf);
    t_map_done(map);
}

/* Sending while the connect is in progress queues; the bytes go out after
 * handle_connect. */
static void test_send_before_connected(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    int lfd = t_listener(AF_INET, &a, &l), s = -1, i;
    wchan *c = wchan_new(map);
    char got[6] = {0};

    CU_ASSERT_EQUAL(ac_create_socket(&c->w.base, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_connect(&c->w.base, (struct sockaddr *)&a, l), 0);
    CU_ASSERT_EQUAL(ac_with_send(&c->w, "hello", 5), 0);
    for (i = 0; i < 100 && ac_with_send_pending(&c->w); i++)
        t_step(map, 10);
    CU_ASSERT_EQUAL(c->connects, 1);
    CU_ASSERT_EQUAL(ac_with_send_pending(&c->w), 0);
    s = accept(lfd, NULL, NULL);
    CU_ASSERT_FATAL(s >= 0);
    CU_ASSERT_EQUAL(recv(s, got, 5, MSG_WAITALL), 5);
    CU_ASSERT_STRING_EQUAL(got, "hello");
    ac_close(&c->w.base);
    close(s);
    close(lfd);
    t_map_done(map);
}

/* The peer goes away with bytes queued: handle_close, no SIGPIPE, the
 * buffer is freed (checked by ASan/valgrind runs). */
static void test_peer_gone_with_queue(void)
{
    ac_map *map = t_map_new();
    wchan *c = wchan_new(map);
    int sv[2], i, before = wchan_destroyed;
    static char big[1 << 20];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&c->w.base, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_with_send(&c->w, big, sizeof(big)), 0);
    CU_ASSERT(ac_with_send_pending(&c->w) > 0);
    close(sv[1]);
    for (i = 0; i < 100 && ac_map_count(map); i++)
        t_step(map, 10);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(wchan_destroyed, before + 1);
    t_map_done(map);
}

/* Declared interest: the predicates are never asked, unless a subclass
 * brings its own, which puts it back in pulled mode. */
static int asked;
static bool counting_writable(ac_dispatcher *d)
{
    asked++;
    return ac_with_send_class.writable(d);
}

static void test_interest_mode(void)
{
    static ac_dispatcher_class pulled;
    ac_map *map = t_map_new();
    wchan *c = wchan_new(map), *p;
    int sv[2], sp[2], i;

    pulled = wchan_class;
    pulled.writable = counting_writable;
    p = calloc(1, sizeof(*p));
    CU_ASSERT_EQUAL(ac_with_send_init(&p->w, &pulled, map), 0);
    t_socketpair(sv);
    t_socketpair(sp);
    CU_ASSERT_EQUAL(ac_set_socket(&c->w.base, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&p->w.base, sp[0]), 0);
    asked = 0;
    for (i = 0; i < 5; i++)
        t_step(map, 1);
    /* pulled: asked once per iteration (libevent: at its refreshes only,
     * which an idle map does not need); declared: never */
    if (!t_libevent())
        CU_ASSERT_EQUAL(asked, 5);
    CU_ASSERT_EQUAL(c->reads, 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT(t_step(map, 1000) >= 1);
    CU_ASSERT_EQUAL(c->reads, 1);
    ac_close_all(map, false);
    close(sv[1]);
    close(sp[1]);
    t_map_done(map);
}

static void test_bad_args(void)
{
    ac_map *map = t_map_new();
    wchan *c = wchan_new(map);

    CU_ASSERT_EQUAL(ac_with_send(&c->w, "x", 1), -EBADF); /* no socket yet */
    CU_ASSERT_EQUAL(ac_with_send(NULL, "x", 1), -EINVAL);
    CU_ASSERT_EQUAL(ac_with_send(&c->w, NULL, 1), -EINVAL);
    CU_ASSERT_EQUAL(ac_with_send_init(NULL, NULL, map), -EINVAL);
    ac_close(&c->w.base);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"send_in_order", test_send_in_order},
    {"send_before_connected", test_send_before_connected},
    {"peer_gone_with_queue", test_peer_gone_with_queue},
    {"interest_mode", test_interest_mode},
    {"bad_args", test_bad_args},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("with_send", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
