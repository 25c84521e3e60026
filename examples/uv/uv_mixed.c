/* uv_mixed: one libuv loop running an asyncore echo service next to
 * native libuv handles.
 *
 *   uv_mixed [--host H] [--port P] [--stats-port Q]
 *
 * - the asyncore echo service (the same channels as echo_server) on P;
 *   stdout line 1: "listening on HOST:PORT"
 * - a native uv_tcp_t service on Q that answers every connection with
 *   "channels=N bytes=M\n" (open echo connections, bytes echoed so far)
 *   and closes; stdout line 2: "stats on HOST:PORT"
 * - a native uv_timer_t that reports the same figures on stderr every
 *   10 seconds.
 * Nothing polls: the echo channels are uv_poll_t handles of the adapter.
 * SIGINT/SIGTERM close everything and the loop ends by itself. */
#include "common.h"
#include "../echo/echo_service.h"

#include <asyncore/uv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static uv_tcp_t stats_server;
static uv_timer_t timer;
static uv_signal_t sigint, sigterm;
static ac_map *map;

/* ---- the native stats service ---- */

typedef struct {
    uv_tcp_t tcp;
    uv_write_t write;
    uv_shutdown_t shutdown;
    char line[96];
} stats_conn;

static void conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void conn_shut(uv_shutdown_t *req, int status)
{
    (void)status;
    uv_close((uv_handle_t *)req->handle, conn_closed);
}

static void conn_written(uv_write_t *req, int status)
{
    stats_conn *c = req->data;

    if (status < 0 || uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp,
                                  conn_shut) < 0)
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_stats_connection(uv_stream_t *server, int status)
{
    stats_conn *c;
    uv_buf_t buf;
    int n;

    if (status < 0 || !(c = calloc(1, sizeof(*c))))
        return;
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = c->write.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    n = snprintf(c->line, sizeof(c->line), "channels=%zu bytes=%llu\n",
                 echo_connections, (unsigned long long)echo_bytes);
    buf = uv_buf_init(c->line, (unsigned)n);
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, conn_written) < 0)
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void stats_listen(const char *host, long port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char name[64];
    int r = ac_resolve(host, (int)port, AF_UNSPEC, true, &ss, &len);

    if (r < 0)
        ex_fail("cannot resolve '%s': %s", host, ac_strerror(r));
    uv_tcp_init(&loop, &stats_server);
    if ((r = uv_tcp_bind(&stats_server, (struct sockaddr *)&ss, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&stats_server, 128,
                       on_stats_connection)) < 0)
        ex_fail("cannot listen on %s:%ld: %s", host, port, uv_strerror(r));
    len = sizeof(ss);
    uv_tcp_getsockname(&stats_server, (struct sockaddr *)&ss, (int *)&len);
    if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, name, sizeof(name));
    else
        uv_ip4_name((struct sockaddr_in *)&ss, name, sizeof(name));
    printf("stats on %s:%d\n", name, ac_addr_port((struct sockaddr *)&ss));
    fflush(stdout);
}

/* ---- the native timer ---- */

static void on_timer(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "uv_mixed: %zu echo connections, %llu bytes echoed\n",
            echo_connections, (unsigned long long)echo_bytes);
}

/* ---- shutdown: close every handle; uv_run then returns ---- */

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    ac_close_all(map, true);
    uv_close((uv_handle_t *)&stats_server, NULL);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
}

static void usage(void)
{
    printf("usage: %s [--host H] [--port P] [--stats-port Q]\n"
           "An asyncore echo service on P and a native libuv stats service\n"
           "on Q in one libuv loop. Port 0 picks a free port. stdout:\n"
           "'listening on HOST:PORT', then 'stats on HOST:PORT'.\n",
           ex_prog);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 8007, stats_port = 8009;
    ac_dispatcher server;
    ac_uv *a;
    int i;

    ex_prog = "uv_mixed";
    for (i = 1; i < argc; i++) {
        if (ex_server_option(argc, argv, &i, &host, &port, usage)) {
            continue;
        } else if (!strcmp(argv[i], "--stats-port")) {
            stats_port =
                ex_int("--stats-port", ex_value(argc, argv, &i), 0, 65535);
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    ex_raise_nofile(20000);
    uv_loop_init(&loop);
    map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!map)
        ex_fail("cannot create the map: %s", strerror(errno));
    a = ac_uv_attach(map, &loop);
    if (!a)
        ex_fail("cannot attach to libuv: %s", strerror(errno));

    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);

    echo_listen(&server, map, host, port, false);
    ex_print_listening("listening", &server);
    stats_listen(host, stats_port);
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, on_timer, 10000, 10000);

    uv_run(&loop, UV_RUN_DEFAULT); /* until a signal closes everything */
    ac_uv_detach(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ac_map_free(map);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}
