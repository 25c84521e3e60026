/* Connecting by name (ac_connect_host), on every mode. Runs inside
 * tests/dns/netns.py: a private network whose nameserver is the test's own
 * DNS server on 127.0.0.1:53 (zone in netns.py), and whose /etc/hosts maps
 * localhost to ::1 and 127.0.0.1. Names never leave the machine. */
#include "helpers.h"

#include <asyncore/asynchat.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* valgrind runs everything 20-50 times slower: loop gaps are measured
 * against this bound there (set by the memcheck run). */
static int gap_bound_ms(void)
{
    const char *v = getenv("AC_TEST_SLOW");
    return v && *v == '1' ? 150 : 20;
}

static int port_of(const struct sockaddr_storage *ss)
{
    return ac_addr_port((const struct sockaddr *)ss);
}

static tchan *named_client(ac_map *map, const char *host, int port,
                           const ac_connect_opts *opts)
{
    tchan *c = tchan_new(map);

    c->want_write = true;
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, host, port, opts), 0);
    return c;
}

/* Step until the client connected or failed (or `ms`). */
static bool settle(ac_map *map, tchan *c, int ms)
{
    long long end = now_ms() + ms;

    while (c->n_connect == 0 && c->n_error == 0 && now_ms() < end)
        t_step(map, 20);
    return c->n_connect || c->n_error;
}

static int peer_family(tchan *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (ac_getpeername(&c->d, &ss, &len) < 0)
        return -1;
    return ss.ss_family;
}

/* ---- literals and /etc/hosts ---- */

static void test_literals(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a4, a6;
    socklen_t l4, l6;
    tchan *s4 = tchan_server(map, AF_INET, &a4, &l4);
    tchan *s6 = tchan_server(map, AF_INET6, &a6, &l6);
    tchan *c4, *c6;

    (void)s4;
    (void)s6;
    c4 = named_client(map, "127.0.0.1", port_of(&a4), NULL);
    c6 = named_client(map, "::1", port_of(&a6), NULL);
    /* connecting, counted, no descriptor yet; no handler inside the call */
    CU_ASSERT_TRUE(ac_connecting(&c4->d));
    CU_ASSERT_FALSE(ac_connected(&c4->d));
    CU_ASSERT_EQUAL(ac_fileno(&c4->d), -1);
    CU_ASSERT_EQUAL(ac_map_count(map), 4);
    CU_ASSERT_TRUE(ac_map_alive(map));
    CU_ASSERT_EQUAL(c4->n_connect + c4->n_error, 0);
    CU_ASSERT_STRING_EQUAL(ac_connect_host_name(&c4->d), "127.0.0.1");
    /* socket calls wait for the socket */
    CU_ASSERT_EQUAL(ac_set_nodelay(&c4->d, true), -ENOTCONN);
    CU_ASSERT_EQUAL(ac_send(&c4->d, "x", 1), -ENOTCONN);
    CU_ASSERT_TRUE(settle(map, c4, 3000));
    CU_ASSERT_TRUE(settle(map, c6, 3000));
    CU_ASSERT_EQUAL(c4->n_connect, 1);
    CU_ASSERT_EQUAL(c6->n_connect, 1);
    CU_ASSERT_TRUE(ac_connected(&c4->d));
    CU_ASSERT(ac_fileno(&c4->d) >= 0);
    CU_ASSERT_EQUAL(peer_family(c4), AF_INET);
    CU_ASSERT_EQUAL(peer_family(c6), AF_INET6);
    CU_ASSERT_PTR_NULL(ac_connect_host_name(&c4->d));
    CU_ASSERT_EQUAL(ac_map_get(map, ac_fileno(&c4->d)), &c4->d);
    /* the socket is a TCP socket like any other */
    CU_ASSERT_EQUAL(ac_set_nodelay(&c4->d, true), 0);
    t_run_until(map, &(bool){false}, 50);
    ac_close_all(map, true);
    t_map_done(map);
}

static void close_on_connect(tchan *t)
{
    ac_close(&t->d);
}

/* The connect is all the map has, and it starts from outside the host's
 * callbacks: a host that stopped watching the empty map must hear of it
 * (the libevent adapter, which refreshes only when told). The host's own
 * loop runs it, until the map is empty again. */
static void test_alone_in_map(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a4;
    socklen_t l4;
    int lfd = t_listener(AF_INET, &a4, &l4);
    tchan *c;
    int n;

    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    t_step(map, 0); /* the host has seen the map empty */
    c = named_client(map, "v4.test", port_of(&a4), NULL);
    c->keep_memory = true;
    c->on_connect = close_on_connect;
    CU_ASSERT_EQUAL(ac_map_count(map), 1);
    t_run_host(map, 3000);
    n = c->n_connect;
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    close(lfd);
    ac_close_all(map, true);
    t_map_done(map);
    free(c);
}

/* An attempt that fails inside connect() (no route: the test's network
 * has only lo) ends the connect from the loop, not inside the call. */
static void test_failure_at_once(void)
{
    ac_map *map = t_map_new();
    tchan *c = named_client(map, "192.0.2.1", 80, NULL);

    c->keep_memory = true; /* handle_error closes it */
    CU_ASSERT_EQUAL(c->n_error, 0);
    CU_ASSERT_TRUE(ac_connecting(&c->d));
    CU_ASSERT_TRUE(settle(map, c, 3000));
    CU_ASSERT_EQUAL(c->n_connect, 0);
    CU_ASSERT_EQUAL(c->n_error, 1);
    CU_ASSERT_EQUAL(c->err, ENETUNREACH);
    CU_ASSERT_PTR_NOT_NULL(strstr(c->where, "192.0.2.1:80: "));
    ac_close_all(map, true);
    t_map_done(map);
    free(c);
}

static void test_bad_arguments(void)
{
    ac_map *map = t_map_new();
    ac_connect_opts bad_family = {.family = AF_UNIX}, bad_delay = {
                                                         .attempt_delay_ms = -5};
    char longname[1100];
    tchan *c = tchan_new(map);

    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CU_ASSERT_EQUAL(ac_connect_host(NULL, "x.test", 80, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, NULL, 80, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "", 80, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "x.test", 0, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "x.test", 65536, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, longname, 80, NULL), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "x.test", 80, &bad_family),
                    -EAFNOSUPPORT);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "x.test", 80, &bad_delay), -EINVAL);
    CU_ASSERT_EQUAL(ac_map_count(map), 0); /* nothing half-made */
    CU_ASSERT_EQUAL(ac_create_socket(&c->d, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "127.0.0.1", 80, NULL), -EISCONN);
    ac_close(&c->d);
    c = tchan_new(map);
    c->keep_memory = true;
    ac_close(&c->d);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "127.0.0.1", 80, NULL), -EBADF);
    free(c);
    /* a second connect on a channel already connecting by name */
    c = named_client(map, "dual.test", 9, NULL);
    CU_ASSERT_EQUAL(ac_connect_host(&c->d, "dual.test", 9, NULL), -EISCONN);
    ac_close(&c->d);
    t_map_done(map);
}

/* localhost is ::1 and 127.0.0.1 in /etc/hosts; only IPv4 listens. */
static void test_dual_stack_fallback(void)
{
    static const char *const names[] = {"localhost", "dual.test"};
    ac_map *map = t_map_new();
    struct sockaddr_storage a4;
    socklen_t l4;
    tchan *s4 = tchan_server(map, AF_INET, &a4, &l4);
    size_t i;

    (void)s4;
    for (i = 0; i < 2; i++) {
        long long t0 = now_ms();
        tchan *c = named_client(map, names[i], port_of(&a4), NULL);

        CU_ASSERT_TRUE(settle(map, c, 3000));
        CU_ASSERT_EQUAL(c->n_connect, 1);
        CU_ASSERT_EQUAL(c->n_error, 0);
        CU_ASSERT_EQUAL(peer_family(c), AF_INET);
        /* ::1 refuses at once: no attempt delay to wait out */
        CU_ASSERT(now_ms() - t0 < 200);
        ac_close(&c->d);
    }
    ac_close_all(map, true);
    t_map_done(map);
}

static void test_unknown_name(void)
{
    ac_map *map = t_map_new();
    tchan *c = named_client(map, "nosuch.test", 80, NULL);
    tchan *f = named_client(map, "fail.test", 80, NULL);

    c->keep_memory = f->keep_memory = true;
    CU_ASSERT_TRUE(settle(map, c, 3000));
    CU_ASSERT_TRUE(settle(map, f, 3000));
    CU_ASSERT_EQUAL(c->n_error, 1);
    CU_ASSERT_EQUAL(c->n_connect, 0);
    CU_ASSERT_EQUAL(c->err, AC_EAI_NONAME);
    CU_ASSERT_STRING_EQUAL(c->where, "resolve nosuch.test");
    CU_ASSERT_STRING_EQUAL(ac_strerror(c->err), "name not found");
    CU_ASSERT_EQUAL(f->err, AC_EAI_AGAIN);
    CU_ASSERT_STRING_EQUAL(ac_strerror(-f->err),
                           "temporary failure in name resolution");
    CU_ASSERT_EQUAL(ac_resolve("nosuch.test", 80, AF_UNSPEC, false,
                               &(struct sockaddr_storage){0},
                               &(socklen_t){0}),
                    -AC_EAI_NONAME);
    free(c);
    free(f);
    t_map_done(map);
}

/* The base class logs the failure with the host named in it. */
static void test_base_class_logs(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher d;

    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_connect_host(&d, "nosuch.test", 80, NULL), 0);
    CU_ASSERT_TRUE(t_run_until_empty(map, 3000));
    CU_ASSERT_TRUE(ac_closed(&d));
    CU_ASSERT_TRUE(t_log_contains("resolve nosuch.test: name not found"));
    t_map_done(map);
}

static void test_all_refused(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    int fd = t_listener(AF_INET, &a, &l), port = port_of(&a);
    char want6[64], want4[64];
    tchan *c;

    close(fd); /* a port nobody listens on, on either family */
    c = named_client(map, "dual.test", port, NULL);
    c->keep_memory = true;
    CU_ASSERT_TRUE(settle(map, c, 3000));
    CU_ASSERT_EQUAL(c->n_error, 1);
    CU_ASSERT_EQUAL(c->err, ECONNREFUSED);
    snprintf(want6, sizeof(want6), "[::1]:%d: Connection refused", port);
    snprintf(want4, sizeof(want4), "127.0.0.1:%d: Connection refused", port);
    CU_ASSERT_PTR_NOT_NULL(strstr(c->where, "connect dual.test:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c->where, want6));
    CU_ASSERT_PTR_NOT_NULL(strstr(c->where, want4));
    free(c);
    t_map_done(map);
}

/* handle_error of a failed connect by name may connect again. */
static int retry_port;
static void retry_on_error(ac_dispatcher *d, int err, const char *where)
{
    tchan *t = TCHAN(d);

    t->n_error++;
    t->err = err;
    snprintf(t->where, sizeof(t->where), "%s", where);
    CU_ASSERT_EQUAL(ac_fileno(d), -1);
    CU_ASSERT_FALSE(ac_connecting(d));
    if (t->n_error == 1)
        CU_ASSERT_EQUAL(ac_connect_host(d, "127.0.0.1", retry_port, NULL), 0);
}

static void test_retry_from_handle_error(void)
{
    static ac_dispatcher_class retry_class;
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    tchan *s = tchan_server(map, AF_INET, &a, &l), *c;
    long long end = now_ms() + 3000;

    (void)s;
    retry_class = tchan_class;
    retry_class.handle_error = retry_on_error;
    retry_port = port_of(&a);
    c = named_client(map, "nosuch.test", 80, NULL);
    ac_set_class(&c->d, &retry_class);
    while (!c->n_connect && now_ms() < end)
        t_step(map, 20);
    CU_ASSERT_EQUAL(c->n_error, 1);
    CU_ASSERT_EQUAL(c->n_connect, 1);
    CU_ASSERT_TRUE(ac_connected(&c->d));
    ac_close_all(map, true);
    t_map_done(map);
}

static void test_timeout(void)
{
    ac_map *map = t_map_new();
    ac_connect_opts o = {.timeout_ms = 300};
    long long t0 = now_ms(), took;
    tchan *c = named_client(map, "slow1.test", 80, &o);

    c->keep_memory = true;
    CU_ASSERT_TRUE(settle(map, c, 3000));
    took = now_ms() - t0;
    CU_ASSERT_EQUAL(c->n_error, 1);
    CU_ASSERT_EQUAL(c->err, ETIMEDOUT);
    CU_ASSERT_STRING_EQUAL(c->where, "resolve slow1.test (no answer in 300 ms)");
    CU_ASSERT(took >= 300 && took < 1500);
    free(c);
    t_map_done(map);
}

/* A deadline set on a channel connecting by name covers the lookup too:
 * it fires during a slow lookup, and closing from its handler cancels
 * the lookup (no descriptor, no thread left behind). */
static void test_deadline_during_lookup(void)
{
    ac_map *map = t_map_new();
    long long t0 = now_ms(), took;
    tchan *c = named_client(map, "slow1.test", 80, NULL);

    c->keep_memory = true;
    CU_ASSERT_EQUAL(ac_set_deadline(&c->d, 200), 0);
    CU_ASSERT_TRUE(settle(map, c, 3000));
    took = now_ms() - t0;
    CU_ASSERT_EQUAL(c->n_connect, 0);
    CU_ASSERT_EQUAL(c->n_error, 1);
    CU_ASSERT_EQUAL(c->err, ETIMEDOUT);
    CU_ASSERT_STRING_EQUAL(c->where, "deadline");
    CU_ASSERT(took >= 200 && took < 1500);
    CU_ASSERT_TRUE(ac_closed(&c->d));
    free(c);
    t_map_done(map);
}

/* ---- the loop keeps turning ---- */

typedef struct {
    ac_timer t;
    long long last, max_gap, max_at;
    int fires;
} ticker;

static void tick(ac_timer *t)
{
    ticker *k = AC_CONTAINER_OF(t, ticker, t);
    long long now = now_ms();

    if (k->last && now - k->last > k->max_gap) {
        k->max_gap = now - k->last;
        k->max_at = now;
    }
    k->last = now;
    k->fires++;
}

/* A 2 s lookup and a fast one at once; a 5 ms timer keeps firing. */
static void test_slow_lookup_never_blocks(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a4;
    socklen_t l4;
    tchan *s4 = tchan_server(map, AF_INET, &a4, &l4), *slow, *fast;
    long long t0 = now_ms(), fast_ms = -1, slow_ms = -1, end = t0 + 4000;
    ticker k = {0};

    (void)s4;
    ac_timer_init(&k.t, map, tick, NULL);
    ac_timer_start(&k.t, 5, 5);
    slow = named_client(map, "slow.test", port_of(&a4), NULL);
    fast = named_client(map, "dual.test", port_of(&a4), NULL);
    while ((slow->n_connect + slow->n_error == 0) && now_ms() < end) {
        t_step(map, 100);
        if (fast_ms < 0 && fast->n_connect)
            fast_ms = now_ms() - t0;
    }
    slow_ms = now_ms() - t0;
    CU_ASSERT_EQUAL(slow->n_connect, 1);
    CU_ASSERT_EQUAL(fast->n_connect, 1);
    CU_ASSERT(fast_ms >= 0 && fast_ms < 500);
    CU_ASSERT(slow_ms >= 1900);
    CU_ASSERT(k.fires > 100);
    if (k.max_gap >= gap_bound_ms())
        fprintf(stderr, "largest timer gap %lld ms, ending %lld ms in\n",
                k.max_gap, k.max_at - t0);
    CU_ASSERT(k.max_gap < gap_bound_ms());
    ac_timer_stop(&k.t);
    ac_close_all(map, true);
    t_map_done(map);
}

/* AAAA 300 ms late: A waits the resolution delay (50 ms), then IPv4 is
 * tried alone; the IPv6 answer joins the race when it comes. */
static void test_resolution_delay(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a4;
    socklen_t l4;
    tchan *s4 = tchan_server(map, AF_INET, &a4, &l4), *c;
    long long t0 = now_ms(), took;

    (void)s4;
    c = named_client(map, "slow4.test", port_of(&a4), NULL);
    CU_ASSERT_TRUE(settle(map, c, 3000));
    took = now_ms() - t0;
    CU_ASSERT_EQUAL(c->n_connect, 1);
    CU_ASSERT_EQUAL(peer_family(c), AF_INET);
    CU_ASSERT(took >= 45 && took < 280);
    ac_close_all(map, true);
    t_map_done(map);
}

/* One port on both loopbacks: 127.0.0.1:P takes connections (the kernel
 * completes them into the listener's backlog) and [::1]:P, its backlog
 * full, drops SYNs. A connect to dual.test tries [::1] first, and IPv4
 * only 250 ms later. */
typedef struct {
    int l4, l6, fill[4], port;
} listener_pair;

/* [::1]:port, full; -1 if the port is taken there. */
static int full_listener6(listener_pair *p)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                              .sin6_port = htons((uint16_t)p->port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, i;

    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0 || listen(fd, 0) < 0) {
        close(fd);
        return -1;
    }
    for (i = 0; i < 4; i++) {
        p->fill[i] = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            0);
        connect(p->fill[i], (struct sockaddr *)&a6, sizeof(a6));
    }
    usleep(50000);
    return fd;
}

static void pair_open(listener_pair *p)
{
    struct sockaddr_storage a4;
    socklen_t l4;
    int tries;

    /* the port the kernel gave 127.0.0.1 may be some socket's on ::1 */
    for (p->l6 = -1, tries = 0; tries < 50 && p->l6 < 0; tries++) {
        p->l4 = t_listener(AF_INET, &a4, &l4);
        p->port = port_of(&a4);
        p->l6 = full_listener6(p);
        if (p->l6 < 0)
            close(p->l4);
    }
    CU_ASSERT_FATAL(p->l6 >= 0);
}

static void pair_close(listener_pair *p)
{
    int i;

    for (i = 0; i < 4; i++)
        close(p->fill[i]);
    close(p->l6);
    close(p->l4);
}

static void test_first_address_drops(void)
{
    ac_map *map = t_map_new();
    listener_pair p;
    long long t0, took;
    tchan *c;

    pair_open(&p);
    t0 = now_ms();
    c = named_client(map, "dual.test", p.port, NULL);
    CU_ASSERT_TRUE(settle(map, c, 3000));
    took = now_ms() - t0;
    CU_ASSERT_EQUAL(c->n_connect, 1);
    CU_ASSERT_EQUAL(peer_family(c), AF_INET);
    CU_ASSERT(took >= 240 && took < 1500);
    ac_close_all(map, true);
    pair_close(&p);
    t_map_done(map);
}

/* ---- cancelling at every stage ---- */

/* Three channels, each in one stage 20 ms in: in the lookups (1 s
 * answers), in the resolution delay (A answered, AAAA 300 ms late), and
 * in an attempt (to [::1], which drops it; IPv4 would start at 250 ms). */
static void cancel_stages(bool by_free)
{
    static const char *const names[] = {"slow1.test", "slow4.test",
                                        "dual.test"};
    ac_map *map = t_map_new();
    listener_pair p;
    int i, destroyed = t_destroyed;
    long long end;
    tchan *c[3];

    pair_open(&p);
    end = now_ms() + 20;
    for (i = 0; i < 3; i++) {
        c[i] = named_client(map, names[i], p.port, NULL);
        c[i]->keep_memory = true;
    }
    while (now_ms() < end)
        t_step(map, 5);
    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(c[i]->n_connect + c[i]->n_error, 0);
        CU_ASSERT_TRUE(ac_connecting(&c[i]->d));
    }
    if (by_free) {
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
        map = NULL;
    } else {
        for (i = 0; i < 3; i++)
            CU_ASSERT_EQUAL(ac_close(&c[i]->d), 0);
    }
    CU_ASSERT_EQUAL(t_destroyed, destroyed + 3);
    /* past the answers and the attempt delay: nobody is told anything */
    end = now_ms() + 1200;
    while (now_ms() < end)
        if (map)
            t_step(map, 20);
        else
            usleep(20000);
    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(c[i]->n_connect + c[i]->n_error + c[i]->n_close, 0);
        free(c[i]);
    }
    pair_close(&p);
    if (!map)
        map = t_map_new(); /* finishes the freed map's host */
    t_map_done(map);
}

/* Both answers wait in the map's call queue when it is freed: they run
 * inside ac_map_free (as every queued call does), then the channel is
 * closed and its connect cancelled - the lookups must still be there. */
static void test_map_free_with_answers_queued(void)
{
    ac_map *map = t_map_new();
    tchan *c = named_client(map, "dual.test", 9, NULL);
    int destroyed = t_destroyed;

    c->keep_memory = true;
    usleep(200 * 1000); /* answered; nobody stepped the map */
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
    CU_ASSERT_EQUAL(t_destroyed, destroyed + 1);
    CU_ASSERT_EQUAL(c->n_connect + c->n_error + c->n_close, 0);
    free(c);
    map = t_map_new(); /* finishes the freed map's host */
    t_map_done(map);
}

static void test_cancel_by_close(void)
{
    cancel_stages(false);
}

static void test_cancel_by_map_free(void)
{
    cancel_stages(true);
}

/* ---- with_send and async_chat: pushes wait for the connection ---- */

typedef struct {
    ac_chat chat;
    char got[64];
    bool done;
} echo_chat;

static void ec_found(ac_chat *ch)
{
    echo_chat *e = AC_CONTAINER_OF(ch, echo_chat, chat);
    size_t n;
    const void *p = ac_chat_data(ch, &n);

    if (n >= sizeof(e->got))
        n = sizeof(e->got) - 1;
    memcpy(e->got, p, n);
    e->got[n] = '\0';
    ac_chat_clear_data(ch);
    e->done = true;
}

static const ac_chat_class echo_chat_class = {
    .base = {.name = "echo_chat", .parent = &ac_chat_base_class.base},
    .found_terminator = ec_found,
};

static void echo_read(tchan *t)
{
    char buf[256];
    ssize_t n = ac_recv(&t->d, buf, sizeof(buf));

    if (n > 0)
        ac_send(&t->d, buf, (size_t)n);
}

static void echo_accepted(tchan *t, int fd)
{
    t->peer = tchan_new(ac_dispatcher_get_map(&t->d));
    t->peer->on_read = echo_read;
    CU_ASSERT_EQUAL(ac_set_socket(&t->peer->d, fd), 0);
}

static void test_chat_and_with_send_push_early(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a4;
    socklen_t l4;
    tchan *s = tchan_server(map, AF_INET, &a4, &l4);
    echo_chat *e = calloc(1, sizeof(*e));
    ac_dispatcher_with_send w;

    s->on_accepted = echo_accepted;
    CU_ASSERT_EQUAL(ac_chat_init(&e->chat, &echo_chat_class, map), 0);
    CU_ASSERT_EQUAL(ac_chat_set_terminator(&e->chat, "\n", 1), 0);
    CU_ASSERT_EQUAL(ac_connect_host(&e->chat.base, "localhost", port_of(&a4),
                                    NULL), 0);
    CU_ASSERT_EQUAL(ac_chat_push(&e->chat, "hello by name\n", 14), 0);
    CU_ASSERT_TRUE(t_run_until(map, &e->done, 3000));
    CU_ASSERT_STRING_EQUAL(e->got, "hello by name");
    CU_ASSERT_EQUAL(ac_with_send_init(&w, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_connect_host(&w.base, "dual.test", port_of(&a4), NULL),
                    0);
    CU_ASSERT_EQUAL(ac_with_send(&w, "queued", 6), 0);
    CU_ASSERT_EQUAL(ac_with_send_pending(&w), 6);
    {
        long long end = now_ms() + 3000;
        while (ac_with_send_pending(&w) && now_ms() < end)
            t_step(map, 20);
    }
    CU_ASSERT_TRUE(ac_connected(&w.base));
    CU_ASSERT_EQUAL(ac_with_send_pending(&w), 0);
    ac_close_all(map, true);
    t_run_until(map, &(bool){false}, 20);
    free(e);
    t_map_done(map);
}

/* ---- many at once ---- */

static int threads_now(void)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!dir)
        return -1;
    while ((e = readdir(dir)))
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* 100 connects to one slow name at once share its two lookups: a thread
 * or two, not a pool's worth; one of them closed before the answer does
 * not cancel the others'; all answered in one lookup's time. */
static void test_shared_lookup(void)
{
    enum { N = 100 };
    ac_map *map = t_map_new();
    struct sockaddr_storage a4;
    socklen_t l4;
    tchan *s = tchan_server(map, AF_INET, &a4, &l4), *c[N];
    int i, connected, base = threads_now(), peak = 0;
    long long t0 = now_ms(), end = t0 + 5000;

    s->on_accepted = echo_accepted;
    for (i = 0; i < N; i++) {
        c[i] = named_client(map, "slow1.test", port_of(&a4), NULL);
        c[i]->keep_memory = true;
    }
    ac_close(&c[0]->d); /* the first asker goes: the lookup stays */
    do {
        t_step(map, 50);
        if (threads_now() > peak)
            peak = threads_now();
        for (i = 1, connected = 0; i < N; i++)
            connected += c[i]->n_connect;
    } while (connected < N - 1 && now_ms() < end);
    CU_ASSERT_EQUAL(connected, N - 1);
    CU_ASSERT_EQUAL(c[0]->n_connect + c[0]->n_error, 0);
    CU_ASSERT(now_ms() - t0 < 2500); /* one lookup's second, not two */
    CU_ASSERT(peak - base <= 2);
    ac_close_all(map, true);
    t_map_done(map);
    for (i = 0; i < N; i++)
        free(c[i]);
}

static void test_thousand_lookups(void)
{
    enum { N = 1000 };
    ac_map *map;
    struct sockaddr_storage a4;
    socklen_t l4;
    struct rlimit rl;
    tchan *s, **c;
    int n = t_current == T_SELECT ? 200 : N; /* select: FD_SETSIZE */
    int i, connected = 0, errors = 0, base = threads_now(), peak = 0;
    long long end;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    map = t_map_new();
    s = tchan_server(map, AF_INET, &a4, &l4);
    s->on_accepted = echo_accepted;
    /* room for every SYN: a dropped one waits out TCP's 1 s retry */
    CU_ASSERT_EQUAL(ac_listen(&s->d, 4096), 0);
    c = calloc((size_t)n, sizeof(*c));
    for (i = 0; i < n; i++) {
        char name[64];

        snprintf(name, sizeof(name), "n%d.many.test", i);
        c[i] = named_client(map, name, port_of(&a4), NULL);
        c[i]->keep_memory = true;
        if (threads_now() > peak)
            peak = threads_now();
    }
    end = now_ms() + 20000;
    while (now_ms() < end) {
        t_step(map, 50);
        if (threads_now() > peak)
            peak = threads_now();
        for (i = connected = errors = 0; i < n; i++) {
            connected += c[i]->n_connect;
            errors += c[i]->n_error;
        }
        if (connected + errors == n)
            break;
    }
    if (connected != n)
        fprintf(stderr, "%d connected, %d failed of %d\n", connected, errors,
                n);
    if (connected != n)
        for (i = 0; i < n; i++)
            if (c[i]->n_error) {
                fprintf(stderr, "%d connected, %d failed of %d: %s: %s\n",
                        connected, errors, n, c[i]->where,
                        ac_strerror(c[i]->err));
                break;
            }
    CU_ASSERT_EQUAL(connected, n);
    CU_ASSERT_EQUAL(errors, 0);
    /* the pool grows to its bound at most, whatever the demand */
    CU_ASSERT(peak - base <= 64);
    for (i = 0; i < n; i++) {
        ac_close(&c[i]->d);
        free(c[i]);
    }
    free(c);
    ac_close_all(map, true);
    t_run_until(map, &(bool){false}, 20);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"literals", test_literals},
    {"bad_arguments", test_bad_arguments},
    {"dual_stack_fallback", test_dual_stack_fallback},
    {"unknown_name", test_unknown_name},
    {"base_class_logs", test_base_class_logs},
    {"all_refused", test_all_refused},
    {"retry_from_handle_error", test_retry_from_handle_error},
    {"timeout", test_timeout},
    {"deadline_during_lookup", test_deadline_during_lookup},
    {"alone_in_map", test_alone_in_map},
    {"failure_at_once", test_failure_at_once},
    {"slow_lookup_never_blocks", test_slow_lookup_never_blocks},
    {"resolution_delay", test_resolution_delay},
    {"first_address_drops", test_first_address_drops},
    {"cancel_by_close", test_cancel_by_close},
    {"cancel_by_map_free", test_cancel_by_map_free},
    {"map_free_with_answers_queued", test_map_free_with_answers_queued},
    {"chat_and_with_send_push_early", test_chat_and_with_send_push_early},
    {"shared_lookup", test_shared_lookup},
    {"thousand_lookups", test_thousand_lookups},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("connect", tests);
}

int main(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t len;

    /* glibc loads its NSS modules at the first lookup (a dlopen that holds
     * descriptors for seconds under valgrind): once, before any test
     * counts descriptors */
    ac_resolve("dual.test", 9, AF_UNSPEC, false, &ss, &len);
    return t_main(argc, argv, reg);
}
