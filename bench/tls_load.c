/* tls_load: TLS load generator (OpenSSL, epoll, one thread, loopback).
 *
 *   tls_load --port P --mode echo|bulk|handshake|idle [--conns N]
 *            [--size S] [--duration SECS] [--warmup SECS] [--server-pid PID]
 *
 * echo:      N connections, each sends S bytes and waits for the whole
 *            echo (checked), pipeline depth 1; prints rt_per_s.
 * bulk:      N connections, each keeps 256 KB in flight in 16 KB writes
 *            and reads the echo back (checked); prints MB_per_s (echoed).
 * handshake: N connections at a time, each a full handshake (no session
 *            resumption) then a close; prints handshakes_per_s.
 * idle:      opens N connections, finishes their handshakes and one
 *            1-byte round trip each, then prints the server's RSS growth
 *            per connection (rss_per_conn).
 * With --server-pid, the server's CPU time over the measurement window
 * (all threads, /proc/PID/task/TID/schedstat) per unit: server_cpu_us.
 * The client does not verify the server: it is the server's cost that
 * is measured. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

enum { ECHO, BULK, HANDSHAKE, IDLE };

typedef struct {
    int fd;
    SSL *ssl;
    bool up;              /* handshake done */
    uint64_t sent, got;   /* stream offsets (bulk) or this message (echo) */
} conn;

static int mode, ep, port, server_pid;
static size_t size = 64;
static SSL_CTX *ctx;
static uint64_t counted, errors;
static bool counting;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned char pat(uint64_t i)
{
    return (unsigned char)(i * 31 + 7);
}

static long rss(void)
{
    char path[64], line[256];
    long kb = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", server_pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

static void arm(conn *c, unsigned events)
{
    struct epoll_event e = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void dial(conn *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("tls_load: connect");
        exit(1);
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
}

static void hang_up(conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    SSL_free(c->ssl);
    close(c->fd);
    ERR_clear_error();
}

/* Write what the mode wants in flight; true while bytes wait. */
static bool pump_out(conn *c)
{
    unsigned char chunk[16384];
    uint64_t limit = mode == BULK ? c->got + (256u << 10) : size;

    while (c->sent < limit) {
        size_t i, n = sizeof(chunk), w;
        if (limit - c->sent < n)
            n = (size_t)(limit - c->sent);
        for (i = 0; i < n; i++)
            chunk[i] = pat(c->sent + i);
        if (!SSL_write_ex(c->ssl, chunk, n, &w))
            return SSL_get_error(c->ssl, 0) == SSL_ERROR_WANT_WRITE;
        c->sent += w;
    }
    return false;
}

static void step(conn *c)
{
    static unsigned char buf[65536];
    size_t n, i;

    if (!c->up) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                arm(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
                return;
            }
            errors++;
            hang_up(c);
            dial(c);
            return;
        }
        c->up = true;
        if (mode == HANDSHAKE) {
            if (counting)
                counted++;
            hang_up(c);
            dial(c);
            return;
        }
        if (mode == IDLE)
            size = 1;
    }
    while (SSL_read_ex(c->ssl, buf, sizeof(buf), &n)) {
        for (i = 0; i < n; i++)
            if (buf[i] != pat(c->got + i))
                errors++;
        c->got += n;
        if (mode == BULK && counting)
            counted += n;
        if (mode != BULK && c->got == size) {
            if (counting || mode == IDLE)
                counted++;
            if (mode == IDLE) {
                arm(c, 0);
                return;
            }
            c->sent = c->got = 0;
        }
    }
    arm(c, EPOLLIN | (pump_out(c) ? EPOLLOUT : 0));
}

int main(int argc, char **argv)
{
    double duration = 1.5, warmup = 0.3;
    long conns = 1, i;
    conn *cs;
    struct epoll_event ev[256];
    struct rlimit rl;
    uint64_t t_start, t_end, cpu0 = 0, cpu1, elapsed;
    long rss0 = 0;

    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--conns"))
            conns = atol(v);
        else if (!strcmp(a, "--size"))
            size = (size_t)atol(v);
        else if (!strcmp(a, "--duration"))
            duration = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--server-pid"))
            server_pid = atoi(v);
        else if (!strcmp(a, "--mode"))
            mode = !strcmp(v, "bulk") ? BULK : !strcmp(v, "handshake") ? HANDSHAKE
                   : !strcmp(v, "idle") ? IDLE : ECHO;
    }
    if (!port || conns < 1 || size < 1) {
        fprintf(stderr, "usage: tls_load --port P --mode echo|bulk|handshake|"
                        "idle [--conns N] [--size S] [--duration SECS] "
                        "[--warmup SECS] [--server-pid PID]\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ep = epoll_create1(0);
    cs = calloc((size_t)conns, sizeof(*cs));
    if (mode == IDLE)
        rss0 = rss();
    for (i = 0; i < conns; i++)
        dial(&cs[i]);
    t_start = now_us();
    t_end = t_start + (uint64_t)((warmup + duration) * 1e6);
    for (;;) {
        uint64_t t = now_us();
        int n, k;
        if (mode == IDLE ? counted == (uint64_t)conns
                         : t >= t_end)
            break;
        if (mode == IDLE && t > t_start + 60000000u) {
            fprintf(stderr, "tls_load: idle connections not up in 60 s\n");
            return 1;
        }
        if (!counting && mode != IDLE && t >= t_start + (uint64_t)(warmup * 1e6)) {
            counting = true;
            cpu0 = server_pid ? cpu_ns(server_pid) : 0;
            t_start = t;
        }
        n = epoll_wait(ep, ev, 256, 10);
        for (k = 0; k < n; k++)
            step(ev[k].data.ptr);
    }
    if (mode == IDLE) {
        usleep(300000);
        printf("conns=%ld rss_per_conn=%.0f errors=%llu\n", conns,
               (double)(rss() - rss0) / (double)conns,
               (unsigned long long)errors);
        return errors != 0;
    }
    cpu1 = server_pid ? cpu_ns(server_pid) : 0;
    elapsed = now_us() - t_start;
    printf("mode=%s conns=%ld size=%zu seconds=%.3f count=%llu",
           mode == BULK ? "bulk" : mode == HANDSHAKE ? "handshake" : "echo",
           conns, size, (double)elapsed / 1e6, (unsigned long long)counted);
    if (mode == BULK)
        printf(" MB_per_s=%.1f", (double)counted / 1e6 / ((double)elapsed / 1e6));
    else
        printf(" %s=%.0f", mode == HANDSHAKE ? "handshakes_per_s" : "rt_per_s",
               (double)counted / ((double)elapsed / 1e6));
    if (server_pid && counted)
        printf(" server_cpu_us=%.3f",
               (double)(cpu1 - cpu0) / 1e3 /
                   (mode == BULK ? (double)counted / 1e6 : (double)counted));
    printf(" errors=%llu\n", (unsigned long long)errors);
    return errors != 0;
}
