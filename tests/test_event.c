/* The libevent adapter's own contract (C-100): the plain EVLOOP_ONCE loop,
 * detaching, event_base_dispatch ending with the map, a host swap
 * mid-stream. Every core test also runs on this adapter (the "event" and
 * "event-backend-fd" suites of the other files), and so does the host kit
 * (idle channels, the map freed while attached, ...). */
#include "helpers.h"

#include <asyncore/event.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const ac_event_mode modes[] = {AC_EVENT_PER_FD, AC_EVENT_BACKEND_FD};

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The common start: a base, an epoll map attached in `mode`, and one
 * channel on a socketpair (the other end in sv[1]), seen by one iteration. */
typedef struct {
    struct event_base *base;
    ac_map *map;
    ac_event *a;
    tchan *t;
} fixture;

static fixture attached(ac_event_mode mode, int sv[2])
{
    fixture f;

    f.base = event_base_new();
    f.map = ac_map_new(T_FD_BACKEND);
    f.a = ac_event_attach(f.map, f.base, mode);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.a);
    CU_ASSERT_EQUAL(ac_event_get_mode(f.a), mode);
    f.t = tchan_new(f.map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&f.t->d, sv[0]), 0);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    return f;
}

/* Detached with a channel open: the map's own loop takes over; closing
 * the channel afterwards calls nothing of the adapter's. */
static void test_detach_with_open_channels(void)
{
    size_t m;

    for (m = 0; m < T_HOST_MODES; m++) {
        int sv[2];
        fixture f = attached(modes[m], sv);
        struct event_base *base = f.base;
        ac_map *map = f.map;
        tchan *t = f.t;

        CU_ASSERT_EQUAL(ac_event_detach(f.a), 0);
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        event_base_loop(base, EVLOOP_NONBLOCK); /* nothing of ours runs */
        CU_ASSERT_EQUAL(t->n_read, 0);
        CU_ASSERT_EQUAL(ac_poll_once(map, 1000), 1);
        CU_ASSERT_EQUAL(t->n_read, 1);
        ac_close(&t->d);
        close(sv[1]);
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
        event_base_free(base);
    }
}

/* event_base_dispatch returns by itself once the map is empty; an idle
 * map costs no refreshes in the meantime; 1000 channels each read a byte
 * and EOF. */
static void test_dispatch_ends_with_map(void)
{
    size_t m;

    for (m = 0; m < T_HOST_MODES; m++) {
        struct event_base *base = event_base_new();
        ac_map *map = ac_map_new(T_FD_BACKEND);
        ac_event *a = ac_event_attach(map, base, modes[m]);
        int i, peers[1000], before = t_destroyed;
        unsigned long refreshes;
        long long t0;

        for (i = 0; i < 1000; i++) {
            int sv[2];
            tchan *t = tchan_new(map);
            t_socketpair(sv);
            CU_ASSERT_EQUAL_FATAL(ac_set_interest(&t->d, AC_READ), 0);
            CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
            peers[i] = sv[1];
        }
        /* idle: after the join refresh, nothing wakes the base */
        event_base_loop(base, EVLOOP_NONBLOCK);
        refreshes = ac_event_refreshes(a);
        {
            struct timeval tv = {0, 300000};
            event_base_loopexit(base, &tv);
            event_base_dispatch(base);
        }
        CU_ASSERT(ac_event_refreshes(a) - refreshes <= 1);
        for (i = 0; i < 1000; i++) {
            CU_ASSERT_EQUAL(write(peers[i], "x", 1), 1);
            close(peers[i]);
        }
        t0 = ms_now();
        event_base_dispatch(base); /* returns when the map is empty */
        CU_ASSERT(ms_now() - t0 < 5000);
        CU_ASSERT_EQUAL(ac_map_count(map), 0);
        CU_ASSERT_EQUAL(t_destroyed, before + 1000);
        CU_ASSERT(ac_event_events(a) > 0);
        CU_ASSERT_EQUAL(ac_event_detach(a), 0);
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
        event_base_free(base);
    }
}

/* Mid-stream the map moves from libevent (per fd) to its own loop, to
 * libevent on the epoll fd and back: every byte arrives once, in order. */
static void test_host_swap_mid_stream(void)
{
    int sv[2], phase;
    fixture f = attached(AC_EVENT_PER_FD, sv);
    static char sent[60000];
    size_t off = 0, i;

    for (i = 0; i < sizeof(sent); i++)
        sent[i] = (char)('a' + (i * 7 + i / 251) % 26);
    for (phase = 0; phase < 4; phase++) {
        size_t end = off + sizeof(sent) / 4;
        long long stop = ms_now() + 5000;

        while (off < end) {
            ssize_t n = write(sv[1], sent + off, end - off);
            CU_ASSERT_FATAL(n > 0);
            off += (size_t)n;
        }
        while (f.t->in_len < off && ms_now() < stop) {
            if (phase == 1)
                ac_poll_once(f.map, 10);
            else
                event_base_loop(f.base, EVLOOP_ONCE);
        }
        CU_ASSERT_EQUAL(f.t->in_len, off);
        if (phase == 0 || phase == 2) {
            CU_ASSERT_EQUAL(ac_event_detach(f.a), 0);
            f.a = NULL;
        }
        if (phase == 1 || phase == 2) {
            /* on the map's descriptor where the build has epoll */
            f.a = ac_event_attach(f.map, f.base, phase == 1
                                                     ? modes[T_HOST_MODES - 1]
                                                     : AC_EVENT_PER_FD);
            CU_ASSERT_PTR_NOT_NULL_FATAL(f.a);
        }
    }
    CU_ASSERT_EQUAL(memcmp(f.t->in, sent, sizeof(sent)), 0);
    ac_close(&f.t->d);
    close(sv[1]);
    CU_ASSERT_EQUAL(ac_event_detach(f.a), 0);
    CU_ASSERT_EQUAL(ac_map_free(f.map), 0);
    event_base_free(f.base);
}

static void test_errors(void)
{
    struct event_base *base = event_base_new();
    ac_map *po = ac_map_new(AC_BACKEND_POLL), *ep = ac_map_new(T_FD_BACKEND);
    ac_event *a;

    CU_ASSERT_PTR_NULL(ac_event_attach(NULL, base, AC_EVENT_AUTO));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NULL(ac_event_attach(po, base, AC_EVENT_BACKEND_FD));
    CU_ASSERT_EQUAL(errno, EOPNOTSUPP);
    a = ac_event_attach(po, base, AC_EVENT_AUTO); /* poll map: per fd */
    CU_ASSERT_EQUAL(ac_event_get_mode(a), AC_EVENT_PER_FD);
    CU_ASSERT_PTR_NULL(ac_event_attach(po, base, AC_EVENT_PER_FD));
    CU_ASSERT_EQUAL(errno, EBUSY); /* one host at a time */
    CU_ASSERT_EQUAL(ac_event_detach(a), 0);
    a = ac_event_attach(ep, base, AC_EVENT_AUTO);
    CU_ASSERT_EQUAL(ac_event_get_mode(a), AC_HAVE_EPOLL ? AC_EVENT_BACKEND_FD
                                                   : AC_EVENT_PER_FD);
    CU_ASSERT_EQUAL(ac_event_detach(a), 0);
    CU_ASSERT_EQUAL(ac_event_detach(NULL), -EINVAL);
    ac_map_free(po);
    ac_map_free(ep);
    event_base_free(base);
}

/* The table of issue 23 as a new user writes it, with no
 * ac_event_refresh(): a listener and a 30 ms timer made before the loop,
 * then `while (!done) event_base_loop(base, EVLOOP_ONCE);`. The refresh
 * those changes ask for does not end an iteration (event.h): with or
 * without ac_event_refresh() the first iteration is the timer's (C-86),
 * a timer of 30 ms or one already due. */
static bool plain_done;

static void plain_fire(ac_timer *t)
{
    (void)t;
    plain_done = true;
}

static void plain_guard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* A connect by name started from another libevent callback, on a map with
 * nothing else (whose adapter events were idle): the adapter hears of it
 * and the connect completes under the plain EVLOOP_ONCE loop. */
static void connect_from_timer(evutil_socket_t fd, short what, void *arg)
{
    tchan *c = arg;

    (void)fd;
    (void)what;
    if (!c->flag) {
        c->flag = true;
        CU_ASSERT_EQUAL(ac_connect_host(&c->d, "127.0.0.1", c->n_expt, NULL),
                        0);
    }
}

static void test_connect_by_name_from_callback(void)
{
    int m;

    for (m = 0; m < T_HOST_MODES; m++) {
        struct event_base *base = event_base_new();
        ac_map *map = ac_map_new(T_FD_BACKEND);
        ac_event *a = ac_event_attach(map, base, modes[m]);
        struct sockaddr_storage ss;
        socklen_t len;
        int lfd = t_listener(AF_INET, &ss, &len);
        tchan *c = tchan_new(map);
        struct timeval ms = {0, 1000};
        struct event *tick = event_new(base, -1, EV_PERSIST,
                                       connect_from_timer, c);
        long long t0 = ms_now();

        c->keep_memory = true;
        c->n_expt = ac_addr_port((struct sockaddr *)&ss); /* (the port) */
        event_add(tick, &ms);
        while (c->n_connect + c->n_error == 0 && ms_now() - t0 < 3000)
            event_base_loop(base, EVLOOP_ONCE);
        CU_ASSERT_EQUAL(c->n_connect, 1);
        CU_ASSERT_EQUAL(c->n_error, 0);
        event_free(tick);
        ac_close(&c->d);
        close(lfd);
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
        CU_ASSERT_EQUAL(ac_event_detach(a), 0);
        event_base_free(base);
        free(c);
    }
}

static void close_on_connect(tchan *t)
{
    ac_close(&t->d);
}

/* A connect attempt made before the map was attached, whose descriptor is
 * lower than the map's call wake-up (the epoll descriptor it replaced was
 * freed by ac_map_set_backend): event_base_dispatch still returns once
 * the map is empty (the adapter took the attempt for the wake-up). */
static void test_dispatch_ends_after_early_attempt(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int lfd = t_listener(AF_INET, &ss, &len);
    struct event_base *base = event_base_new();
    ac_map *map = ac_map_new(T_FD_BACKEND);
    tchan *c = tchan_new(map);
    ac_event *a;
    long long t0;

    CU_ASSERT_EQUAL(ac_map_set_backend(map, AC_BACKEND_POLL), 0);
    c->keep_memory = true;
    c->on_connect = close_on_connect;
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "127.0.0.1",
                                    ac_addr_port((struct sockaddr *)&ss), NULL),
                    0);
    a = ac_event_attach(map, base, AC_EVENT_PER_FD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    t0 = ms_now();
    /* (no guard: any pending timer would keep dispatch running; meson's
     * timeout bounds a hang) */
    event_base_dispatch(base);
    CU_ASSERT(ms_now() - t0 < 2000);
    CU_ASSERT_EQUAL(c->n_connect, 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(ac_event_detach(a), 0);
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
    event_base_free(base);
    close(lfd);
    free(c);
}

static void test_plain_once_loop(void)
{
    int m, variant, delay;

    for (m = 0; m < T_HOST_MODES; m++)
        for (variant = 0; variant < 4; variant++) {
            struct event_base *base = event_base_new();
            ac_map *map = ac_map_new(T_FD_BACKEND);
            ac_event *a = ac_event_attach(map, base, modes[m]);
            struct timeval tv = {2, 0}; /* ends a hang: counted as a step */
            struct event *guard = evtimer_new(base, plain_guard, NULL);
            struct sockaddr_storage ss;
            socklen_t len;
            tchan *srv = tchan_server(map, AF_INET, &ss, &len);
            ac_timer t;
            int steps = 0;
            long long t0 = ms_now();

            evtimer_add(guard, &tv);
            delay = variant & 2 ? 0 : 30; /* 0: due before the first wait */
            ac_timer_init(&t, map, plain_fire, NULL);
            ac_timer_start(&t, delay, 0);
            if (variant & 1)
                ac_event_refresh(a);
            plain_done = false;
            while (!plain_done && steps < 10) {
                event_base_loop(base, EVLOOP_ONCE);
                steps++;
            }
            CU_ASSERT_TRUE(plain_done);
            CU_ASSERT_EQUAL(steps, 1);
            CU_ASSERT(ms_now() - t0 < 1000);
            ac_close(&srv->d);
            CU_ASSERT_EQUAL(ac_map_free(map), 0);
            CU_ASSERT_EQUAL(ac_event_detach(a), 0);
            event_free(guard);
            event_base_free(base);
        }
}

static void count_fire(ac_timer *t)
{
    (*(int *)ac_timer_data(t))++;
}

/* A channel with bytes in every iteration does not keep a due timer from
 * running (a refresh after each callback re-added the due deadline event,
 * which took it off libevent's active queue). */
static void test_timer_runs_beside_busy_channel(void)
{
    size_t m;

    for (m = 0; m < T_HOST_MODES; m++) {
        int sv[2], fired = 0, i;
        fixture f = attached(modes[m], sv);
        ac_timer timer;

        ac_set_interest(&f.t->d, AC_READ);
        ac_timer_init(&timer, f.map, count_fire, &fired);
        CU_ASSERT_EQUAL(ac_timer_start(&timer, 20, 0), 0);
        for (i = 0; i < 20000 && !fired; i++) {
            CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
            event_base_loop(f.base, EVLOOP_ONCE);
        }
        CU_ASSERT_EQUAL(fired, 1);
        CU_ASSERT(f.t->n_read > 0);
        ac_close(&f.t->d);
        close(sv[1]);
        CU_ASSERT_EQUAL(ac_event_detach(f.a), 0);
        CU_ASSERT_EQUAL(ac_map_free(f.map), 0);
        event_base_free(f.base);
    }
}

static CU_TestInfo tests[] = {
    {"timer_runs_beside_busy_channel", test_timer_runs_beside_busy_channel},
    {"plain_once_loop", test_plain_once_loop},
    {"detach_with_open_channels", test_detach_with_open_channels},
    {"dispatch_ends_with_map", test_dispatch_ends_with_map},
    {"host_swap_mid_stream", test_host_swap_mid_stream},
    {"errors", test_errors},
    {"connect_by_name_from_callback", test_connect_by_name_from_callback},
    {"dispatch_ends_after_early_attempt", test_dispatch_ends_after_early_attempt},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register_modes("event", tests, T_ONCE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
