/* Connecting by name, measured (run inside tests/dns/netns.py, whose
 * /etc/hosts maps localhost to ::1 and 127.0.0.1 and whose DNS server
 * answers slow.test after 2 s):
 *
 *   connect_names connects N     N connects at once to a local listener,
 *                                three ways, in turns (median of 5):
 *                                ac_create_socket + ac_connect to
 *                                127.0.0.1, ac_connect_host("127.0.0.1"),
 *                                ac_connect_host("localhost")
 *   connect_names stall           the largest gap of a 1 ms repeating timer
 *                                while one channel connects to slow.test,
 *                                with ac_poll_once (epoll)
 *
 * Prints one line per measurement. */
#include <asyncore/asyncore.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connected, failed;

static void on_connect(ac_dispatcher *d)
{
    (void)d;
    connected++;
}

static void on_error(ac_dispatcher *d, int err, const char *where)
{
    fprintf(stderr, "connect_names: %s: %s\n", where, ac_strerror(err));
    failed++;
    ac_close(d);
}

static void on_accepted(ac_dispatcher *d, int fd, const struct sockaddr *a,
                        socklen_t l)
{
    (void)d;
    (void)a;
    (void)l;
    close(fd);
}

static const ac_dispatcher_class client_class = {
    .name = "client",
    .handle_connect = on_connect,
    .handle_error = on_error,
};
static const ac_dispatcher_class server_class = {
    .name = "server",
    .handle_accepted = on_accepted,
};

/* N connects at once; milliseconds until all are connected. */
static double run(ac_map *map, int n, int port, int how)
{
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ac_dispatcher *c = calloc((size_t)n, sizeof(*c));
    double t0 = now_ms(), took;
    int i;

    connected = failed = 0;
    for (i = 0; i < n; i++) {
        ac_dispatcher_init(&c[i], &client_class, map);
        ac_set_interest(&c[i], 0); /* the connect is all we wait for */
        if (how == 0) {
            ac_create_socket(&c[i], AF_INET, SOCK_STREAM);
            ac_connect(&c[i], (struct sockaddr *)&in, sizeof(in));
        } else {
            ac_connect_host(&c[i], how == 1 ? "127.0.0.1" : "localhost", port,
                            NULL);
        }
    }
    while (connected + failed < n)
        ac_poll_once(map, 100);
    took = now_ms() - t0;
    for (i = 0; i < n; i++)
        ac_close(&c[i]);
    ac_poll_once(map, 0);
    free(c);
    return took;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void connects(int n)
{
    static const char *const names[] = {"numeric ac_connect",
                                        "ac_connect_host 127.0.0.1",
                                        "ac_connect_host localhost"};
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    ac_dispatcher srv, srv6;
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    double t[3][5], med[3];
    int round, how;

    /* the same port on 127.0.0.1 and ::1: localhost's first address
     * (::1) connects, so each way makes one connection */
    ac_dispatcher_init(&srv, &server_class, map);
    ac_create_socket(&srv, AF_INET, SOCK_STREAM);
    ac_set_reuse_addr(&srv);
    ac_bind(&srv, (struct sockaddr *)&in, sizeof(in));
    ac_listen(&srv, 4096);
    ac_getsockname(&srv, &ss, &len);
    in6.sin6_port = htons((uint16_t)ac_addr_port((struct sockaddr *)&ss));
    ac_dispatcher_init(&srv6, &server_class, map);
    ac_create_socket(&srv6, AF_INET6, SOCK_STREAM);
    ac_bind(&srv6, (struct sockaddr *)&in6, sizeof(in6));
    ac_listen(&srv6, 4096);
    run(map, n, ac_addr_port((struct sockaddr *)&ss), 2); /* warm up */
    for (round = 0; round < 5; round++)
        for (how = 0; how < 3; how++)
            t[how][round] = run(map, n, ac_addr_port((struct sockaddr *)&ss),
                                how);
    for (how = 0; how < 3; how++) {
        qsort(t[how], 5, sizeof(double), cmp);
        med[how] = t[how][2];
        printf("%d connects, %s: %.1f ms (median of 5; %.1f..%.1f), %.2fx\n",
               n, names[how], med[how], t[how][0], t[how][4],
               med[how] / med[0]);
    }
    ac_close(&srv);
    ac_close(&srv6);
    ac_map_free(map);
}

typedef struct {
    ac_timer t;
    double last, max_gap;
} ticker;

static void tick(ac_timer *t)
{
    ticker *k = AC_CONTAINER_OF(t, ticker, t);
    double now = now_ms();

    if (k->last > 0 && now - k->last > k->max_gap)
        k->max_gap = now - k->last;
    k->last = now;
}

static void stall(void)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    ac_dispatcher c;
    ticker k = {0};
    double t0 = now_ms();

    connected = failed = 0;
    ac_timer_init(&k.t, map, tick, NULL);
    ac_timer_start(&k.t, 1, 1);
    ac_timer_set_ref(&k.t, false);
    ac_dispatcher_init(&c, &client_class, map);
    ac_set_interest(&c, 0);
    ac_connect_host(&c, "slow.test", 9, NULL); /* answered in 2 s, refused */
    while (connected + failed == 0)
        ac_poll_once(map, 100);
    printf("connect by name through a 2 s lookup: %.0f ms; largest gap of a "
           "1 ms timer meanwhile: %.2f ms\n", now_ms() - t0, k.max_gap);
    ac_map_free(map);
}

int main(int argc, char **argv)
{
    struct rlimit rl;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (argc == 3 && !strcmp(argv[1], "connects"))
        connects(atoi(argv[2]));
    else if (argc == 2 && !strcmp(argv[1], "stall"))
        stall();
    else {
        fprintf(stderr, "usage: connect_names connects N | stall\n");
        return 2;
    }
    return 0;
}
