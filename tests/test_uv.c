/* The libuv adapter: channels next to native libuv handles in one loop,
 * the hazards from libuv's tracker, detach, and loop lifetime. Every core
 * test also runs on this adapter (the "uv" suites of the other files), and
 * so does the host kit (idle channels, the map freed while attached...). */
#include "helpers.h"

#include <asyncore/uv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

static uv_loop_t loop;
static ac_uv *att;
static bool detached;

static void on_detached(void *data)
{
    *(bool *)data = true;
}

static ac_map *setup(void)
{
    ac_map *map = ac_map_new(T_FD_BACKEND);

    CU_ASSERT_PTR_NOT_NULL_FATAL(map);
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
    att = ac_uv_attach(map, &loop);
    CU_ASSERT_PTR_NOT_NULL_FATAL(att);
    return map;
}

/* detach, run the loop dry, and require that libuv has nothing left */
static void teardown(ac_map *map)
{
    detached = false;
    if (att)
        CU_ASSERT_EQUAL(ac_uv_detach(att, on_detached, &detached), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_TRUE(detached || !att);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    if (map)
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
    att = NULL;
}

/* ---- native uv_tcp_t client and uv_timer_t next to an asyncore echo
 * server; uv_run(UV_RUN_DEFAULT) returns by itself when all is done ---- */

typedef struct {
    ac_dispatcher_with_send out;
} echo;

static void echo_read(ac_dispatcher *d)
{
    char buf[4096];
    ssize_t n = ac_recv(d, buf, sizeof(buf));
    if (n > 0)
        ac_with_send(AC_CONTAINER_OF(d, ac_dispatcher_with_send, base), buf,
                     (size_t)n);
}

static void echo_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void echo_destroy(ac_dispatcher *d)
{
    free(AC_CONTAINER_OF(d, echo, out.base));
}

static const ac_dispatcher_class echo_class = {
    .name = "echo", .parent = &ac_with_send_class,
    .handle_read = echo_read, .handle_close = echo_close,
    .destroy = echo_destroy};

static ac_dispatcher listener;

static void lst_accepted(ac_dispatcher *d, int fd, const struct sockaddr *a,
                         socklen_t l)
{
    echo *e = malloc(sizeof(*e));
    (void)a;
    (void)l;
    ac_with_send_init(&e->out, &echo_class, ac_dispatcher_get_map(d));
    CU_ASSERT_EQUAL(ac_set_socket(&e->out.base, fd), 0);
    ac_close(d); /* one client only: the listener goes */
}

static const ac_dispatcher_class lst_class = {
    .name = "listener", .handle_accepted = lst_accepted};

static uv_tcp_t tcp;
static uv_connect_t conn_req;
static uv_write_t wreq;
static char echoed[64];
static size_t echoed_len;
static int ticks;

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    static char mem[256];
    (void)h;
    (void)s;
    *b = uv_buf_init(mem, sizeof(mem));
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n > 0) {
        memcpy(echoed + echoed_len, b->base, (size_t)n);
        echoed_len += (size_t)n;
    }
    if (echoed_len >= 11 || n < 0)
        uv_close((uv_handle_t *)s, NULL); /* the echo channel sees EOF */
}

static void on_connected(uv_connect_t *req, int status)
{
    static char msg[] = "hello uv ac";
    uv_buf_t b = uv_buf_init(msg, 11);

    CU_ASSERT_EQUAL(status, 0);
    uv_write(&wreq, req->handle, &b, 1, NULL);
    uv_read_start(req->handle, on_alloc, on_tcp_read);
}

static void on_tick(uv_timer_t *t)
{
    if (++ticks == 3)
        uv_close((uv_handle_t *)t, NULL);
}

static void test_native_handles_alongside(void)
{
    ac_map *map = setup();
    struct sockaddr_storage a;
    socklen_t l;
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uv_timer_t timer;

    ac_dispatcher_init(&listener, &lst_class, map);
    CU_ASSERT_EQUAL(ac_create_socket(&listener, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_bind(&listener, (struct sockaddr *)&in, sizeof(in)), 0);
    CU_ASSERT_EQUAL(ac_listen(&listener, 8), 0);
    CU_ASSERT_EQUAL(ac_getsockname(&listener, &a, &l), 0);
    uv_tcp_init(&loop, &tcp);
    CU_ASSERT_EQUAL(uv_tcp_connect(&conn_req, &tcp, (struct sockaddr *)&a,
                                   on_connected), 0);
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, on_tick, 5, 5);
    ticks = 0;
    echoed_len = 0;
    /* returns once the client, the timer and every channel are gone */
    CU_ASSERT_EQUAL(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CU_ASSERT_EQUAL(echoed_len, 11);
    CU_ASSERT_EQUAL(memcmp(echoed, "hello uv ac", 11), 0);
    CU_ASSERT_EQUAL(ticks, 3);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    teardown(map);
}

/* ---- 1000 channels, each gets a byte and closes ---- */

static void test_thousand_channels(void)
{
    ac_map *map = setup();
    int i, peers[1000], before = t_destroyed;

    for (i = 0; i < 1000; i++) {
        int sv[2];
        tchan *t = tchan_new(map);
        t_socketpair(sv);
        CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
        peers[i] = sv[1];
    }
    for (i = 0; i < 1000; i++) {
        CU_ASSERT_EQUAL(write(peers[i], "x", 1), 1);
        close(peers[i]); /* EOF after the byte: each channel closes */
    }
    CU_ASSERT_EQUAL(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 1000);
    teardown(map);
}

/* ---- libuv #1148/#1468: a dup'ed descriptor outliving its channel must
 * not keep waking the loop (the registration is removed before close) ---- */

static void close_on_read(tchan *t)
{
    ac_close(&t->d);
}

static void stop_loop(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, NULL);
}

static void test_dup_outlives_channel(void)
{
    ac_map *map = setup();
    tchan *t = tchan_new(map);
    uv_timer_t timer;
    int sv[2], copy;
    unsigned long iters;

    t_socketpair(sv);
    copy = dup(sv[0]);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = close_on_read;
    CU_ASSERT_EQUAL(write(sv[1], "stays readable", 14), 14);
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, stop_loop, 200, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    iters = ac_uv_iterations(att);
    /* the still-readable copy must not wake us: a few iterations, not a
     * busy loop of thousands */
    CU_ASSERT(iters < 10);
    close(copy);
    close(sv[1]);
    teardown(map);
}

/* ---- an idle map does not wake the loop ---- */

/* ---- detach with open channels; the map's backend takes over ---- */

static void test_detach_with_open_channels(void)
{
    ac_map *map = setup();
    tchan *t = tchan_new(map);
    int sv[2];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    detached = false;
    CU_ASSERT_EQUAL(ac_uv_detach(att, on_detached, &detached), 0);
    CU_ASSERT_EQUAL(ac_uv_detach(att, on_detached, &detached), -EALREADY);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_TRUE(detached);
    att = NULL;
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    /* the channel is still there and works natively */
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(ac_poll_once(map, 1000), 1);
    CU_ASSERT_EQUAL(t->n_read, 1);
    ac_close(&t->d);
    close(sv[1]);
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
}

/* ---- the map freed while attached; channels closed after the host is
 * gone (C-74) ---- */

/* ---- a bad descriptor is an error for the channel, never an abort ---- */

static void test_bad_fd(void)
{
    ac_map *map = setup();
    tchan *t = tchan_new(map);
    int sv[2], before = t_destroyed;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0); /* pulled: interest 0 */
    close(sv[0]);                                    /* behind the library */
    uv_run(&loop, UV_RUN_NOWAIT);                    /* watch fails: EBADF */
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    close(sv[1]);
    teardown(map);
}

/* ---- argument checks ---- */

static void test_attach_errors(void)
{
    ac_map *map = setup();
    uv_loop_t other;

    CU_ASSERT_EQUAL(uv_loop_init(&other), 0);
    CU_ASSERT_PTR_NULL(ac_uv_attach(map, &other)); /* already hooked */
    CU_ASSERT_EQUAL(errno, EBUSY);
    uv_run(&other, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(uv_loop_close(&other), 0);
    CU_ASSERT_PTR_NULL(ac_uv_attach(NULL, &loop));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(ac_uv_detach(NULL, NULL, NULL), -EINVAL);
    teardown(map);
}

static CU_TestInfo tests[] = {
    {"native_handles_alongside", test_native_handles_alongside},
    {"thousand_channels", test_thousand_channels},
    {"dup_outlives_channel", test_dup_outlives_channel},
    {"detach_with_open_channels", test_detach_with_open_channels},
    {"bad_fd", test_bad_fd},
    {"attach_errors", test_attach_errors},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register_modes("uv", tests, T_ONCE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
