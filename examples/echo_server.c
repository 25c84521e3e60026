/* echo_server: echoes every byte back, the asyncore way.
 *
 *   echo_server [--host H] [--port P] [--loop native|glib|uv|event|qt|sdevent|ev]
 *               [--backend select|poll|epoll] [--threads N]
 *               [--tls-cert FILE --tls-key FILE]
 *
 * The channels (echo_service.c) are the same whichever loop runs them:
 * ac_loop() itself, a GLib main context, a libuv loop, a libevent
 * event_base or a Qt event loop. With --threads
 * N, N threads each run a map of their own with a listener on the same
 * port (SO_REUSEPORT: the kernel spreads the connections): nothing is
 * shared between them and nothing is locked on the data path. */
#include "common.h"
#include "echo_service.h"
#include "run_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ac_map *map;
    ac_dispatcher server;
    ex_loop_kind kind;
    pthread_t thread;
    int result;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;

    w->result = ex_run_map(w->map, w->kind, 30000);
    return NULL;
}

static void usage(void)
{
    printf("usage: %s [--host H] [--port P] [--loop " EX_LOOPS "]\n"
           "       %*s [--backend select|poll|epoll] [--threads N]\n"
           "       %*s [--tls-cert FILE --tls-key FILE]\n"
           "Echo every byte back. --port 0 picks a free port; the first line\n"
           "on stdout is 'listening on HOST:PORT'. --threads N runs N maps\n"
           "in N threads on that one port. --tls-cert/--tls-key: TLS, with\n"
           "that certificate chain and key (PEM).\n",
           ex_prog, (int)strlen(ex_prog), "", (int)strlen(ex_prog), "");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *loop = "native", *why;
    long port = 8007, nthreads = 1;
    ac_backend backend = AC_BACKEND_DEFAULT;
    ex_loop_kind kind;
    worker *w;
    ac_map **maps;
    ex_tls tls = {0};
    int i, failed = 0;

    ex_prog = "echo_server";
    for (i = 1; i < argc; i++) {
        if (ex_server_option(argc, argv, &i, &host, &port, usage)) {
            continue;
        } else if (!strcmp(argv[i], "--loop")) {
            loop = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--backend")) {
            backend = ex_backend(ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--threads")) {
            nthreads = ex_int("--threads", ex_value(argc, argv, &i), 1, 256);
        } else if (ex_tls_option(argc, argv, &i, &tls, true)) {
            continue;
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    if (ex_loop_kind_of(loop, &kind, &why) < 0)
        ex_usage_error("--loop %s: %s", loop, why);
    ex_tls_setup(&tls, true);
    if (ex_tls_on(&tls))
        echo_tls = &tls; /* one context, shared by every thread's map */

    /* Many clients: use what the hard limit allows. */
    ex_raise_nofile(20000);
    w = calloc((size_t)nthreads, sizeof(*w));
    maps = calloc((size_t)nthreads, sizeof(*maps));
    if (!w || !maps)
        ex_fail("out of memory");
    for (i = 0; i < nthreads; i++) {
        w[i].kind = kind;
        w[i].map = maps[i] = ac_map_new(backend);
        if (!w[i].map)
            ex_fail("cannot create the map: %s", strerror(errno));
        /* the first listener picks the port (maybe 0), the others join it */
        echo_listen(&w[i].server, w[i].map, host, port, nthreads > 1);
        if (i == 0)
            port = echo_port(&w[0].server);
    }
    /* Handlers first: a supervisor may signal as soon as it reads the
     * listening line. */
    ex_close_maps_on_signals(maps, (int)nthreads);
    ex_print_listening("listening", &w[0].server);
    for (i = 1; i < nthreads; i++)
        if (pthread_create(&w[i].thread, NULL, run_worker, &w[i]) != 0)
            ex_fail("cannot start thread %d", i);
    run_worker(&w[0]); /* the main thread runs the first map */
    for (i = 1; i < nthreads; i++)
        pthread_join(w[i].thread, NULL);
    for (i = 0; i < nthreads; i++) {
        if (w[i].result < 0) {
            fprintf(stderr, "%s: loop %d failed: %s\n", ex_prog, i,
                    ac_strerror(w[i].result));
            failed = 1;
        }
        ac_map_free(w[i].map);
    }
    free(w);
    free(maps);
    ex_tls_done(&tls);
    return failed;
}
