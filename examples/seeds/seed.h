/* What the seed ports share: Python's asyncore.loop() on any backend and
 * host, Python's logging.debug("NAME: ...") format, and the options every
 * port takes:
 *   --backend select|poll|epoll   the map's backend (default epoll)
 *   --loop native|glib|uv         who runs the map (default native)
 * Seed programs use the default map, as Python's socket_map. */
#ifndef AC_SEED_H
#define AC_SEED_H

#include "run_loop.h"

#include <asyncore/asyncore.h>
#include <stdbool.h>

typedef ex_loop_kind seed_loop;
#define SEED_NATIVE EX_NATIVE
#define SEED_GLIB EX_GLIB
#define SEED_UV EX_UV

/* Removes --backend/--loop (and answers --help with `usage`) from argv,
 * makes the default map use the backend; returns the loop to run. */
seed_loop seed_init(int *argc, char **argv, const char *usage);
/* self.create_socket(AF_INET, SOCK_STREAM); self.connect((host, port)):
 * 0 or the negative errno of the step that failed. */
int seed_connect(ac_dispatcher *d, const char *host, int port);

/* A map of its own (the seeds' `map = {}`) on the chosen backend. */
ac_map *seed_map_new(void);

/* asyncore.loop(): until the map is empty, natively (timeout 30 s), in a
 * GLib main context through its GSource, or in a uv loop. SIGINT and
 * SIGTERM end it too (natively ac_loop_stop; in a host loop every channel
 * is closed, which empties the map). */
void seed_run(seed_loop loop);
/* The same for `map` with waits of `timeout_ms` (natively). */
void seed_run_map(seed_loop loop, ac_map *map, int timeout_ms);

/* logging.debug('%s', ...) with format '%(name)s: %(message)s', on
 * stderr, as the seeds configure logging. */
void seed_log(const char *name, const char *fmt, ...) AC_PRINTF(2, 3);

#endif
