/* Connecting by name, measured (run inside tests/dns/netns.py, whose
 * /etc/hosts maps localhost to ::1 and 127.0.0.1; the loop's stalls
 * during a slow lookup are bench/connect_stall's):
 *
 *   connect_names connects N     N connects at once to a local listener,
 *                                four ways, in turns, 11 rounds: the
 *                                median time of each, and the median of
 *                                each round's ratio to the numeric
 *                                connect to the same address:
 *                                ac_create_socket + ac_connect to
 *                                127.0.0.1, ac_connect_host("127.0.0.1"),
 *                                the same to ::1, ac_connect_host(
 *                                "localhost") (which connects to ::1)
 *   connect_names connects N HOW only one way (0..3: for profiling)
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

#define ROUNDS 11

/* Each way, and the numeric way to the same address it is compared with:
 * localhost connects to ::1 (IPv6 first), which costs the kernel more
 * than 127.0.0.1. */
static const struct {
    const char *name;
    const char *host; /* NULL: ac_create_socket + ac_connect */
    int family, base;
} ways[] = {
    {"numeric ac_connect 127.0.0.1", NULL, AF_INET, 0},
    {"ac_connect_host 127.0.0.1", "127.0.0.1", AF_INET, 0},
    {"numeric ac_connect ::1", NULL, AF_INET6, 2},
    {"ac_connect_host localhost", "localhost", AF_INET6, 2},
};
#define NWAYS 4

static int connected, failed;

static double first_at;  /* when the first connect of a run completed */
static double issued_at; /* when every connect of the run was asked for */

static void on_connect(ac_dispatcher *d)
{
    (void)d;
    if (connected++ == 0)
        first_at = now_ms();
}

/* after the connect, a write event comes as in Python (handle_connect_event,
 * then handle_write): nothing to write here */
static void on_write(ac_dispatcher *d)
{
    (void)d;
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
    .handle_write = on_write,
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
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_port = htons((uint16_t)port),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    ac_dispatcher *c = calloc((size_t)n, sizeof(*c));
    double t0 = now_ms(), took;
    int i;

    connected = failed = 0;
    for (i = 0; i < n; i++) {
        ac_dispatcher_init(&c[i], &client_class, map);
        ac_set_interest(&c[i], 0); /* the connect is all we wait for */
        if (ways[how].host) {
            ac_connect_host(&c[i], ways[how].host, port, NULL);
        } else if (ways[how].family == AF_INET) {
            ac_create_socket(&c[i], AF_INET, SOCK_STREAM);
            ac_connect(&c[i], (struct sockaddr *)&in, sizeof(in));
        } else {
            ac_create_socket(&c[i], AF_INET6, SOCK_STREAM);
            ac_connect(&c[i], (struct sockaddr *)&in6, sizeof(in6));
        }
    }
    issued_at = now_ms();
    while (connected + failed < n)
        ac_poll_once(map, 100);
    took = now_ms() - t0;
    if (getenv("NAMES_VERBOSE"))
        fprintf(stderr, "%s: all asked for at %.2f ms, first connected at "
                "%.2f ms, all at %.2f ms\n", ways[how].name, issued_at - t0,
                first_at - t0, took);
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

static void connects(int n, int only)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    ac_dispatcher srv, srv6;
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    double t[NWAYS][ROUNDS], ratio[NWAYS][ROUNDS];
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
    run(map, n, ac_addr_port((struct sockaddr *)&ss), only >= 0 ? only : 2);
    /* (warm-up) */
    for (round = 0; round < ROUNDS; round++)
        for (how = 0; how < NWAYS; how++)
            t[how][round] = only >= 0 && how != only ? 0 : run(map, n, ac_addr_port((struct sockaddr *)&ss),
                                how);
    /* each round's ratio to that round's numeric time, then the median:
     * the machine's drift between rounds cancels out */
    for (round = 0; round < ROUNDS; round++)
        for (how = 0; how < NWAYS; how++) {
            double base = t[ways[how].base][round];
            ratio[how][round] = base > 0 ? t[how][round] / base : 0;
        }
    for (how = 0; how < NWAYS; how++) {
        if (only >= 0 && how != only)
            continue;
        qsort(t[how], ROUNDS, sizeof(double), cmp);
        qsort(ratio[how], ROUNDS, sizeof(double), cmp);
        printf("%d connects, %s: %.1f ms (median of %d; %.1f..%.1f), "
               "%.2fx %s (median of the rounds' ratios)\n",
               n, ways[how].name, t[how][ROUNDS / 2], ROUNDS, t[how][0],
               t[how][ROUNDS - 1], ratio[how][ROUNDS / 2],
               ways[ways[how].base].name);
    }
    ac_close(&srv);
    ac_close(&srv6);
    ac_map_free(map);
}

int main(int argc, char **argv)
{
    struct rlimit rl;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "connects"))
        connects(atoi(argv[2]), argc == 4 ? atoi(argv[3]) : -1);
    else {
        fprintf(stderr, "usage: connect_names connects N [HOW]\n");
        return 2;
    }
    return 0;
}
