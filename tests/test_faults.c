/* Faults and misuse: a connect that never completes, closing from every
 * kind of handler, calls in the wrong order. Every mode. */
#include "helpers.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connect to a listener whose accept queue is full is never answered
 * (loopback's stand-in for a black-holed address). The application's own
 * timeout ends it; until then nothing is dispatched (no spin), and no
 * error or connect is reported. */
static void test_blackholed_connect_app_timeout(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_storage a;
    socklen_t l = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[8], i, dispatched = 0;
    tchan *c;
    long long t0;

    CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&in, sizeof(in)), 0);
    CU_ASSERT_EQUAL_FATAL(listen(lfd, 0), 0);
    getsockname(lfd, (struct sockaddr *)&a, &l);
    for (i = 0; i < 8; i++) { /* fill the accept queue, never accept */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, l);
    }
    usleep(50000);
    c = tchan_client(map, &a, l);
    c->keep_memory = true;
    t0 = ms_now();
    while (ms_now() - t0 < 300) /* the application's timeout: 300 ms */
        dispatched += t_step(map, 50);
    CU_ASSERT_EQUAL(dispatched, 0);
    CU_ASSERT_TRUE(ac_connecting(&c->d));
    CU_ASSERT_EQUAL(c->n_connect + c->n_error + c->n_close, 0);
    CU_ASSERT_EQUAL(ac_close(&c->d), 0); /* the timeout fires: give up */
    CU_ASSERT_EQUAL(c->n_connect + c->n_error, 0);
    free(c);
    for (i = 0; i < 8; i++)
        close(fill[i]);
    close(lfd);
    t_map_done(map);
}

/* ---- closing a channel from each kind of handler ---- */

static int closer_kind;
enum { K_READ, K_WRITE, K_CONNECT, K_ACCEPTED, K_EXPT, K_CLOSE, K_ERROR };

static void close_now(tchan *t)
{
    ac_close(&t->d);
    t->flag = true;
}

static void close_in_accepted(tchan *t, int fd)
{
    close(fd);
    close_now(t);
}

static void test_close_from_every_handler(void)
{
    for (closer_kind = K_READ; closer_kind <= K_ERROR; closer_kind++) {
        if (closer_kind == K_EXPT && t_current == T_EVENT)
            continue; /* libevent has no event for priority data */
        ac_map *map = t_map_new();
        struct sockaddr_storage a;
        socklen_t l;
        tchan *s = tchan_server(map, AF_INET, &a, &l), *c = NULL;
        int before = t_destroyed, destroyed;

        switch (closer_kind) {
        case K_ACCEPTED:
            s->on_accepted = close_in_accepted;
            c = tchan_client(map, &a, l);
            break;
        case K_CONNECT:
            c = tchan_client(map, &a, l);
            c->on_connect = close_now;
            break;
        case K_ERROR: {
            /* refused connect -> handle_error, which closes */
            int fd = t_listener(AF_INET, &a, &l);
            close(fd);
            c = tchan_client(map, &a, l);
            break;
        }
        default:
            c = tchan_client(map, &a, l);
            if (closer_kind == K_READ)
                c->on_read = close_now;
            else if (closer_kind == K_WRITE)
                c->on_write = close_now;
            else if (closer_kind == K_EXPT)
                c->on_expt = close_now;
            else
                c->on_close = close_now;
        }
        /* the test reads both after their handlers may have closed them */
        s->keep_memory = c->keep_memory = true;
        /* drive until connected and accepted (or the closer already ran) */
        {
            long long t0 = ms_now();
            while (!s->peer && !c->flag && !s->flag && c->n_error == 0 &&
                   ms_now() - t0 < 2000)
                t_step(map, 50);
        }
        if (closer_kind == K_READ && s->peer)
            ac_send(&s->peer->d, "r", 1);
        if (closer_kind == K_WRITE) {
            c->want_write = true;
            t_changed_outside(map);
        }
        if (closer_kind == K_EXPT && s->peer)
            send(ac_fileno(&s->peer->d), "!", 1, MSG_OOB);
        if (closer_kind == K_CLOSE && s->peer)
            ac_close(&s->peer->d), s->peer = NULL;
        destroyed = t_destroyed;
        {
            long long t0 = ms_now();
            while (t_destroyed == destroyed && ms_now() - t0 < 2000)
                t_step(map, 20);
        }
        /* the closing handler of this kind ran, and closed its channel */
        if (closer_kind == K_ERROR) {
            CU_ASSERT_EQUAL(c->n_error, 1);
            CU_ASSERT_EQUAL(c->err, ECONNREFUSED);
            CU_ASSERT_TRUE(ac_closed(&c->d));
        } else if (closer_kind == K_ACCEPTED) {
            CU_ASSERT_TRUE(s->flag);
            CU_ASSERT_TRUE(ac_closed(&s->d));
        } else {
            CU_ASSERT_TRUE(c->flag);
            CU_ASSERT_TRUE(ac_closed(&c->d));
        }
        CU_ASSERT(t_destroyed > destroyed || ac_closed(&c->d));
        ac_close_all(map, false);
        CU_ASSERT(t_destroyed >= before + 2);
        CU_ASSERT(ac_closed(&c->d) && ac_closed(&s->d));
        t_map_done(map);
        free(c);
        free(s);
    }
}

/* ---- calls in the wrong order, on the wrong kind of channel ---- */

static void test_wrong_call_order(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_storage a;
    socklen_t l;
    ac_dispatcher d;
    char b[4];

    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    /* nothing before a socket exists */
    CU_ASSERT_EQUAL(ac_listen(&d, 1), -EBADF);
    CU_ASSERT_EQUAL(ac_bind(&d, (struct sockaddr *)&in, sizeof(in)), -EBADF);
    CU_ASSERT_EQUAL(ac_connect(&d, (struct sockaddr *)&in, sizeof(in)), -EBADF);
    CU_ASSERT_EQUAL(ac_send(&d, "x", 1), -EBADF);
    CU_ASSERT_EQUAL(ac_recv(&d, b, sizeof(b)), -EBADF);
    CU_ASSERT_EQUAL(ac_accept(&d, NULL, NULL), -EBADF);
    CU_ASSERT_EQUAL(ac_set_reuse_addr(&d), -EBADF);
    CU_ASSERT_EQUAL(ac_getpeername(&d, &a, &l), -EBADF);
    CU_ASSERT_EQUAL(ac_get_addr(&d, &a, &l), -ENOTCONN);
    /* accept on a socket that does not listen is a real error */
    CU_ASSERT_EQUAL(ac_create_socket(&d, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_accept(&d, NULL, NULL), -EINVAL);
    /* bind twice, bad lengths, NULL addresses */
    CU_ASSERT_EQUAL(ac_bind(&d, (struct sockaddr *)&in, sizeof(in)), 0);
    CU_ASSERT_EQUAL(ac_bind(&d, (struct sockaddr *)&in, sizeof(in)), -EINVAL);
    CU_ASSERT_EQUAL(ac_bind(&d, NULL, 16), -EINVAL);
    CU_ASSERT_EQUAL(ac_connect(&d, (struct sockaddr *)&in, 0), -EINVAL);
    CU_ASSERT_EQUAL(ac_listen(&d, 4), 0);
    /* a listener does not connect (connect(2) would say EISCONN) */
    CU_ASSERT_EQUAL(ac_connect(&d, (struct sockaddr *)&in, sizeof(in)),
                    -EINVAL);
    CU_ASSERT_TRUE(ac_accepting(&d));
    CU_ASSERT_FALSE(ac_connected(&d));
    CU_ASSERT_EQUAL(ac_set_interest(&d, 0x100), -EINVAL);
    CU_ASSERT_FALSE(ac_closed(&d));
    CU_ASSERT_EQUAL(ac_close(&d), 0);
    CU_ASSERT_EQUAL(ac_close(&d), -EBADF);
    /* bad descriptors */
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&d, -1), -EBADF);
    CU_ASSERT_EQUAL(ac_set_socket(&d, 12345), -EBADF);
    CU_ASSERT_EQUAL(ac_create_socket(&d, 12345, SOCK_STREAM), -EAFNOSUPPORT);
    ac_close(&d);
    /* connecting twice */
    {
        struct sockaddr_storage sa;
        socklen_t sl;
        int lfd = t_listener(AF_UNIX, &sa, &sl);
        CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
        CU_ASSERT_EQUAL(ac_create_socket(&d, AF_UNIX, SOCK_STREAM), 0);
        CU_ASSERT_EQUAL(ac_connect(&d, (struct sockaddr *)&sa, sl), 0);
        CU_ASSERT_EQUAL(ac_connect(&d, (struct sockaddr *)&sa, sl), -EISCONN);
        ac_close(&d);
        close(lfd);
    }
    CU_ASSERT_EQUAL(ac_resolve("no.such.host.invalid", 80, AF_UNSPEC, false,
                               &a, &l) < 0, 1);
    CU_ASSERT_EQUAL(ac_resolve(NULL, 70000, AF_INET, false, &a, &l), -EINVAL);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"blackholed_connect_app_timeout", test_blackholed_connect_app_timeout},
    {"close_from_every_handler", test_close_from_every_handler},
    {"wrong_call_order", test_wrong_call_order},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("faults", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
