/* loadgen: echo load generator (epoll, one thread, loopback only).
 *
 *   loadgen --port P [--host H] [--conns N] [--size S] [--duration SECS]
 *           [--idle K] [--warmup SECS] [--server-pid PID]
 *
 * Opens K idle connections, then N active ones; each idle connection
 * makes one 1-byte round trip before the clock starts (proof that the
 * server accepted it: a client's connect() can return while the server's
 * accept queue is full and the connection is not yet the server's), then
 * stays silent. Each
 * active connection sends S bytes, waits for the whole echo (checked), and
 * sends again (pipeline depth 1). Counts round trips after the warm-up and
 * prints one line:
 *   conns=N size=S idle=K seconds=D round_trips=R rt_per_s=X MB_per_s=Y
 *   p50_us=A p99_us=B errors=E [server_cpu_us_per_rt=C]
 * With --server-pid, C is the server's CPU time (all threads, from
 * /proc/PID/task/TID/schedstat) over the measurement window only, divided
 * by the round trips counted in that window. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define HIST_US 200000 /* latency histogram: 1 us buckets up to 200 ms */

typedef struct {
    int fd;
    size_t sent, got;
    uint64_t t0;
} conn;

static size_t size;
static unsigned char *msg;
static uint32_t *hist;
static uint64_t hist_over, samples, errors;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int dial(const struct sockaddr_storage *ss, socklen_t len)
{
    int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket");
    /* blocking connect: the backlog takes them; simple and reliable */
    if (connect(fd, (const struct sockaddr *)ss, len) < 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void send_some(conn *c)
{
    ssize_t n = send(c->fd, msg + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n > 0)
        c->sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN)
        errors++;
}


/* One blocking 1-byte round trip on a fresh connection: returns only once
 * the server has accepted it and echoed. */
static void touch(int fd)
{
    unsigned char b = 'x';
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
        die("idle connection: send");
    if (poll(&p, 1, 60000) != 1 || recv(fd, &b, 1, 0) != 1)
        die("idle connection: no echo within 60 s");
}

static double pct(double p)
{
    uint64_t want = (uint64_t)(p * (double)samples), seen = 0;
    size_t i;

    for (i = 0; i < HIST_US; i++) {
        seen += hist[i];
        if (seen > want)
            return (double)i;
    }
    return HIST_US;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = -1, nconns = 10, idle = 0, i, ep, server_pid = 0;
    double duration = 2, warmup = 0.5;
    struct sockaddr_storage ss;
    socklen_t len;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    struct rlimit rl;
    conn *conns;
    int *idle_fds;
    struct epoll_event ev[256];
    char port_s[16];
    uint64_t start, measure_from, end, round_trips = 0, measured_rt = 0;
    uint64_t cpu0 = 0, cpu1 = 0, window_rt0 = 0, window_rt = 0;
    int in_window = 0;
    unsigned char buf[65536];

    for (i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "loadgen: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--host"))
            host = v;
        else if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--conns"))
            nconns = atoi(v);
        else if (!strcmp(a, "--size"))
            size = (size_t)atol(v);
        else if (!strcmp(a, "--duration"))
            duration = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--idle"))
            idle = atoi(v);
        else if (!strcmp(a, "--server-pid"))
            server_pid = atoi(v);
        else {
            fprintf(stderr, "loadgen: unknown argument %s\n", a);
            return 2;
        }
    }
    if (port <= 0 || nconns < 1 || idle < 0 || duration <= 0) {
        fprintf(stderr, "usage: loadgen --port P [--host H] [--conns N] "
                        "[--size S] [--duration SECS] [--idle K] "
                        "[--warmup SECS] [--server-pid PID]\n");
        return 2;
    }
    if (!size)
        size = 64;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    snprintf(port_s, sizeof(port_s), "%d", port);
    if (getaddrinfo(host, port_s, &hints, &res) != 0) {
        fprintf(stderr, "loadgen: cannot resolve %s\n", host);
        return 1;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);

    msg = malloc(size);
    hist = calloc(HIST_US, sizeof(*hist));
    conns = calloc((size_t)nconns, sizeof(*conns));
    idle_fds = calloc((size_t)idle + 1, sizeof(*idle_fds));
    if (!msg || !hist || !conns || !idle_fds)
        die("malloc");
    for (size_t k = 0; k < size; k++)
        msg[k] = (unsigned char)(k * 131 + 7);

    for (i = 0; i < idle; i++)
        idle_fds[i] = dial(&ss, len);
    for (i = 0; i < idle; i++) /* after all dials: the backlog fills at once */
        touch(idle_fds[i]);
    ep = epoll_create1(EPOLL_CLOEXEC);
    for (i = 0; i < nconns; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        conns[i].fd = dial(&ss, len);
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &e);
    }
    start = now_us();
    /* The clock starts once every active connection completed one round
     * trip (at most 60 s): a server still accepting a backlog of idle
     * connections is measured in its steady state, not while catching up. */
    measure_from = end = UINT64_MAX;
    for (i = 0; i < nconns; i++) {
        conns[i].t0 = start;
        send_some(&conns[i]);
    }
    while (now_us() < end) {
        if (!in_window && now_us() >= measure_from) {
            in_window = 1;
            cpu0 = server_pid ? cpu_ns(server_pid) : 0;
            window_rt0 = round_trips;
        }
        if (measure_from == UINT64_MAX &&
            (round_trips >= (uint64_t)nconns || now_us() - start > 60000000u)) {
            measure_from = now_us() + (uint64_t)(warmup * 1e6);
            end = measure_from + (uint64_t)(duration * 1e6);
        }
        int n = epoll_wait(ep, ev, 256, 100);
        for (int k = 0; k < n; k++) {
            conn *c = &conns[ev[k].data.u32];
            ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
            if (r <= 0) {
                if (r == 0 || errno != EAGAIN) {
                    errors++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                }
                continue;
            }
            if (c->got + (size_t)r > size ||
                memcmp(buf, msg + c->got, (size_t)r) != 0)
                errors++;
            c->got += (size_t)r;
            if (c->sent < size)
                send_some(c); /* large messages: keep the pipe full */
            if (c->got >= size) {
                uint64_t t = now_us(), lat = t - c->t0;
                round_trips++;
                if (c->t0 >= measure_from && t <= end) {
                    measured_rt++;
                    samples++;
                    if (lat < HIST_US)
                        hist[lat]++;
                    else
                        hist_over++;
                }
                c->sent = c->got = 0;
                c->t0 = t;
                send_some(c);
            }
        }
    }
    if (server_pid)
        cpu1 = cpu_ns(server_pid);
    window_rt = round_trips - window_rt0;
    printf("conns=%d size=%zu idle=%d seconds=%.2f round_trips=%llu "
           "total_round_trips=%llu rt_per_s=%.0f MB_per_s=%.2f p50_us=%.0f "
           "p99_us=%.0f errors=%llu",
           nconns, size, idle, duration, (unsigned long long)measured_rt,
           (unsigned long long)round_trips,
           (double)measured_rt / duration,
           (double)measured_rt * (double)size * 2 / duration / 1e6,
           samples ? pct(0.5) : 0.0, samples ? pct(0.99) : 0.0,
           (unsigned long long)errors);
    if (server_pid && cpu0 && cpu1 > cpu0)
        printf(" server_cpu_us_per_rt=%.3f",
               (double)(cpu1 - cpu0) / 1e3 / (double)(window_rt ? window_rt : 1));
    printf("\n");
    return errors ? 1 : 0;
}
