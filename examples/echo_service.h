/* The echo service shared by echo_server and uv_mixed: a listening
 * channel that gives each connection a dispatcher_with_send echoing back
 * what it reads. */
#ifndef AC_EXAMPLES_ECHO_SERVICE_H
#define AC_EXAMPLES_ECHO_SERVICE_H

#include <asyncore/asyncore.h>
#include <stdint.h>

/* Bytes echoed so far and connections open, over all listeners. */
extern uint64_t echo_bytes;
extern size_t echo_connections;

/* Bind `server` to host:port in `map` and listen; exits with a one-line
 * message on failure. */
void echo_listen(ac_dispatcher *server, ac_map *map, const char *host,
                 long port);

#endif
