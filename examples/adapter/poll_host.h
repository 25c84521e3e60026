/* A complete asyncore host on a plain poll() loop: README "Writing an
 * adapter". poll_host.c implements it with the hooks of asyncore.h only. */
#ifndef POLL_HOST_H
#define POLL_HOST_H

#include <asyncore/asyncore.h>

typedef struct poll_host poll_host;

/* Attach `map` (its hooks must be free); NULL with errno on failure. */
poll_host *poll_host_attach(ac_map *map);
/* One iteration: refresh, poll() at most `timeout_ms` (-1: no limit) and
 * the map's own deadline, dispatch, run what came due. Events dispatched,
 * or a negative errno (-EBUSY from inside one of the map's handlers). */
int poll_host_step(poll_host *h, int timeout_ms);
/* Unhook the map (if it still exists) and free the host. */
void poll_host_free(poll_host *h);

#endif
