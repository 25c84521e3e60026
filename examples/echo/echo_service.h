/* The echo service shared by echo_server and uv_mixed: a listening
 * channel that gives each connection a dispatcher_with_send echoing back
 * what it reads. */
#ifndef AC_EXAMPLES_ECHO_SERVICE_H
#define AC_EXAMPLES_ECHO_SERVICE_H

#include "tls_opts.h"

#include <asyncore/asyncore.h>
#include <stdint.h>

/* The connections' TLS (echo_server --tls-cert/--tls-key); NULL: plain. */
extern const ex_tls *echo_tls;

/* Bytes echoed so far and connections open, over the listeners of the
 * calling thread (each thread of echo_server --threads counts its own). */
extern __thread uint64_t echo_bytes;
extern __thread size_t echo_connections;

/* Bind `server` to host:port in `map` and listen (with SO_REUSEPORT when
 * `share_port`, so listeners of other maps can bind the same port); exits
 * with a one-line message on failure. */
void echo_listen(ac_dispatcher *server, ac_map *map, const char *host,
                 long port, bool share_port);

#endif
