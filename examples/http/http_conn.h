/* http_server's connections (http_conn.c): an async_chat per client that
 * reads requests line by line and queues the responses in order. */
#ifndef AC_EXAMPLES_HTTP_CONN_H
#define AC_EXAMPLES_HTTP_CONN_H

#include <asyncore/asyncore.h>
#include <stdbool.h>

#include "tls_opts.h"

typedef struct http_config {
    int root;            /* O_PATH descriptor of --root */
    int idle_ms;         /* --idle-timeout, 0: none */
    int header_ms;       /* --header-timeout, 0: none */
    int send_ms;         /* --send-timeout, 0: none */
    bool quiet;          /* no access log */
    const ex_tls *tls;   /* NULL: plain HTTP */
} http_config;

/* The server's settings, read by every thread's map. */
extern http_config http_cfg;

/* A listener on host:port in `map` whose connections serve http_cfg's
 * root (SO_REUSEPORT when `share_port`). */
void http_listen(ac_dispatcher *server, ac_map *map, const char *host,
                 long port, bool share_port);

#endif
