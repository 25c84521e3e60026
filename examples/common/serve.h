/* The example servers' main loop (serve.c): N maps in N threads, each with
 * a listener on the one port (SO_REUSEPORT), the first line on stdout
 * "listening on HOST:PORT", SIGINT/SIGTERM closing everything. */
#ifndef AC_EXAMPLES_SERVE_H
#define AC_EXAMPLES_SERVE_H

#include "run_loop.h"

typedef struct ex_server {
    const char *host;
    long port, threads;
    ac_backend backend;
    ex_loop_kind loop;
    /* a listener in `map` on host:port (sharing it when `share`) */
    void (*listen)(ac_dispatcher *server, ac_map *map, const char *host,
                   long port, bool share);
} ex_server;

/* Run until a signal (or every map is empty); the exit status. */
int ex_serve(const ex_server *s);

#endif
