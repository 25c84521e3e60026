/* The example servers' main loop (serve.h). */
#include "serve.h"
#include "common.h"

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

static long bound_port(ac_dispatcher *server)
{
    struct sockaddr_storage ss;
    socklen_t len;

    if (ac_getsockname(server, &ss, &len) < 0)
        ex_fail("cannot read the bound address");
    return ac_addr_port((struct sockaddr *)&ss);
}

int ex_serve(const ex_server *s)
{
    long port = s->port, n = s->threads, i;
    worker *w = calloc((size_t)n, sizeof(*w));
    ac_map **maps = calloc((size_t)n, sizeof(*maps));
    int failed = 0;

    if (!w || !maps)
        ex_fail("out of memory");
    /* Many clients: use what the hard limit allows. */
    ex_raise_nofile(20000);
    for (i = 0; i < n; i++) {
        w[i].kind = s->loop;
        w[i].map = maps[i] = ac_map_new(s->backend);
        if (!w[i].map)
            ex_fail("cannot create the map: %s", strerror(errno));
        ex_stats_start(w[i].map);
        /* the first listener picks the port (maybe 0), the others join it */
        s->listen(&w[i].server, w[i].map, s->host, port, n > 1);
        if (i == 0)
            port = bound_port(&w[0].server);
    }
    /* Handlers first: a supervisor may signal as soon as it reads the
     * listening line. */
    ex_close_maps_on_signals(maps, (int)n);
    ex_print_listening("listening", &w[0].server);
    for (i = 1; i < n; i++)
        if (pthread_create(&w[i].thread, NULL, run_worker, &w[i]) != 0)
            ex_fail("cannot start thread %ld", i);
    run_worker(&w[0]); /* the main thread runs the first map */
    for (i = 1; i < n; i++)
        pthread_join(w[i].thread, NULL);
    for (i = 0; i < n; i++) {
        if (w[i].result < 0) {
            fprintf(stderr, "%s: loop %ld failed: %s\n", ex_prog, i,
                    ac_strerror(w[i].result));
            failed = 1;
        }
        ex_stats_print(w[i].map, i);
        ac_map_free(w[i].map);
    }
    free(w);
    free(maps);
    return failed;
}
