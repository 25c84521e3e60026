/* echo_client: sends K messages of S bytes on each of N connections and
 * checks that every byte comes back unchanged.
 *
 *   echo_client --port P [--host H] [--conns N] [--size S] [--count K]
 *               [--timeout SECONDS] [--tls] [--ca FILE] [--servername NAME]
 *
 * Each connection is a dispatcher_with_send: it sends one message, waits
 * for the whole echo, compares it, and sends the next. Exit 1 if any byte
 * differed, a connection failed, or the timeout (default 60 s) ran out.
 * With --tls each connection is a TLS client (the server's certificate
 * verified against --ca or the system store, for --servername or the
 * address): the same channel class, on the TLS layer. */
#include "common.h"
#include "tls_opts.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct client {
    ac_dispatcher_with_send out;
    long id, sent, done; /* messages sent and verified */
    size_t got;          /* bytes of the current echo received */
    unsigned char *msg;  /* the current message */
    bool failed;
} client;

static struct {
    long size, count, ok, failed, mismatched;
    uint64_t bytes;
} run;

/* Deterministic, distinct content per connection and message. */
static void fill(unsigned char *p, size_t n, long id, long k)
{
    uint64_t x = ((uint64_t)id << 32) ^ (uint64_t)k ^ 0x9e3779b97f4a7c15u;
    size_t i;

    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static client *C(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, client, out.base);
}

static void send_next(client *c)
{
    fill(c->msg, (size_t)run.size, c->id, c->sent);
    c->got = 0;
    c->sent++;
    ac_with_send(&c->out, c->msg, (size_t)run.size);
}

static void client_connect(ac_dispatcher *d)
{
    send_next(C(d));
}

static void client_read(ac_dispatcher *d)
{
    client *c = C(d);
    unsigned char buf[65536];
    ssize_t n = ac_recv(d, buf, sizeof(buf)), i;

    if (n <= 0)
        return;
    for (i = 0; i < n; i++) {
        if (c->got >= (size_t)run.size || buf[i] != c->msg[c->got]) {
            run.mismatched++;
            c->failed = true;
            ac_close(d);
            return;
        }
        c->got++;
    }
    run.bytes += (uint64_t)n;
    if (c->got < (size_t)run.size)
        return;
    if (++c->done == run.count) {
        ac_close(d);
        return;
    }
    send_next(c);
}

static void client_close(ac_dispatcher *d)
{
    client *c = C(d);
    if (c->done < run.count)
        c->failed = true; /* the server hung up early */
    ac_close(d);
}

static void client_error(ac_dispatcher *d, int err, const char *where)
{
    char why[300];

    fprintf(stderr, "%s: connection %ld: %s\n", ex_prog, C(d)->id,
            ex_tls_describe(d, err, where, why, sizeof(why)));
    C(d)->failed = true;
    ac_close(d);
}

static void client_destroy(ac_dispatcher *d)
{
    client *c = C(d);
    if (c->failed || c->done < run.count)
        run.failed++;
    else
        run.ok++;
    free(c->msg);
    free(c);
}

static const ac_dispatcher_class client_class = {
    .name = "echo_client",
    .parent = &ac_with_send_class,
    .handle_connect = client_connect,
    .handle_read = client_read,
    .handle_close = client_close,
    .handle_error = client_error,
    .destroy = client_destroy,
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t timed_out; /* connections still open when time ran out */

static void time_is_up(ac_timer *t)
{
    ac_map *map = ac_timer_data(t);

    timed_out = ac_map_count(map);
    ac_close_all(map, true); /* unfinished: destroy counts them failed */
}

static void usage(void)
{
    printf("usage: %s --port P [--host H] [--conns N] [--size S] [--count K]\n"
           "       %*s [--timeout SECONDS] [--tls] [--ca FILE]"
           " [--servername NAME]\n"
           "Send K messages of S bytes on each of N connections and check\n"
           "each echo. Defaults: --host 127.0.0.1 --conns 1 --size 64\n"
           "--count 10 --timeout 60. Exit 1 if any byte differed.\n"
           "--tls: over TLS, verifying the server against --ca FILE (or the\n"
           "system's CAs) for --servername NAME (or the address).\n",
           ex_prog, (int)strlen(ex_prog), "");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = -1, conns = 1, i;
    double timeout = 60;
    ac_timer deadline;
    ac_map *map;
    double t0, t1;
    ex_tls tls = {0};
    int r;
    int a;

    ex_prog = "echo_client";
    run.size = 64;
    run.count = 10;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            usage();
            return 0;
        } else if (!strcmp(argv[a], "--host")) {
            host = ex_value(argc, argv, &a);
        } else if (!strcmp(argv[a], "--port")) {
            port = ex_int("--port", ex_value(argc, argv, &a), 1, 65535);
        } else if (!strcmp(argv[a], "--conns")) {
            conns = ex_int("--conns", ex_value(argc, argv, &a), 1, 100000);
        } else if (!strcmp(argv[a], "--size")) {
            run.size = ex_int("--size", ex_value(argc, argv, &a), 1, 1 << 26);
        } else if (!strcmp(argv[a], "--count")) {
            run.count = ex_int("--count", ex_value(argc, argv, &a), 1, 1L << 30);
        } else if (!strcmp(argv[a], "--timeout")) {
            timeout = ex_seconds("--timeout", ex_value(argc, argv, &a));
        } else if (ex_tls_option(argc, argv, &a, &tls, false)) {
            continue;
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[a]);
        }
    }
    if (port < 0)
        ex_usage_error("--port is required (try --help)");
    ex_tls_setup(&tls, false);
    if (!ex_raise_nofile(conns + 64))
        ex_fail("cannot open %ld connections in one process", conns);
    map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!map)
        ex_fail("cannot create the map: %s", strerror(errno));

    for (i = 0; i < conns; i++) {
        client *c = calloc(1, sizeof(*c));
        if (!c || !(c->msg = malloc((size_t)run.size)))
            ex_fail("out of memory");
        c->id = i;
        ac_with_send_init(&c->out, &client_class, map);
        if ((r = ac_connect_host(&c->out.base, host, (int)port, NULL)) < 0 ||
            (r = ex_tls_start(&tls, &c->out.base, host)) < 0) {
            fprintf(stderr, "%s: connection %ld: %s\n", ex_prog, i,
                    ac_strerror(r));
            c->failed = true;
            ac_close(&c->out.base);
        }
    }

    ex_stop_on_signals(map);
    /* the whole run's deadline; unreferenced: the connections are what
     * keeps the loop going */
    ac_timer_init(&deadline, map, time_is_up, map);
    ac_timer_start(&deadline, (uint64_t)(timeout * 1000), 0);
    ac_timer_set_ref(&deadline, false);
    t0 = now();
    r = ac_loop(map, NULL);
    if (r < 0)
        ex_fail("loop failed: %s", ac_strerror(r));
    t1 = now();
    if (ac_map_count(map) > 0 || timed_out)
        fprintf(stderr, "%s: %zu connections unfinished after %g s\n",
                ex_prog, timed_out ? timed_out : ac_map_count(map), timeout);
    ac_map_free(map); /* destroys the unfinished ones: counted as failed */
    ex_tls_done(&tls);

    printf("conns=%ld ok=%ld failed=%ld messages=%ld bytes=%llu "
           "mismatched=%ld seconds=%.3f round_trips_per_s=%.0f\n",
           conns, run.ok, run.failed, run.ok * run.count,
           (unsigned long long)run.bytes, run.mismatched, t1 - t0,
           (double)(run.bytes / (uint64_t)run.size) / (t1 - t0 > 0 ? t1 - t0 : 1));
    /* interrupted: the summary says how far it got; a signal is a clean
     * stop, but a byte that differed is still a failure */
    if (ex_interrupted())
        return run.mismatched ? 1 : 0;
    return run.failed || run.mismatched ? 1 : 0;
}
