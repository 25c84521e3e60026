/* The host interface's installation: handing the map's channels from one
 * waiter (the map's backend, or a host's hooks) to another. */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* Hand every channel to the waiter now in place; a channel it refuses is
 * told (handle_error "watch"). The map's own call wake-up cannot be told:
 * its refusal is returned. */
static int join_all(ac_map *map)
{
    size_t fd;
    int r;

    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (!d || (r = ac__join(d)) >= 0)
            continue;
        if (AC__FLAG(d, AC__F_INTERNAL))
            return r;
        ac__enter(map);
        ac__fail(d, EBADF, "watch");
        ac__leave(map);
    }
    return 0;
}

static void forget_all(ac_map *map)
{
    size_t fd;

    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (d) {
            ac__forget(d);
            d->flags &= ~AC__F_NOWAIT;
        }
    }
}

int ac_map_set_hooks(ac_map *map, const ac_hooks *hooks)
{
    int r;

    if (!map)
        return -EINVAL;
    if (map->depth > 0 || (hooks && map->hosted))
        return -EBUSY;
    /* Hand every channel over: out of the old waiter, into the new one,
     * which is asked afresh whether it can wait on each descriptor. */
    forget_all(map);
    if (map->hosted && map->hooks.detached)
        map->hooks.detached(map->hooks.data);
    if (hooks) {
        map->hooks = *hooks;
        map->hosted = true;
        map->has_hooks = hooks->watch != NULL;
    } else {
        memset(&map->hooks, 0, sizeof(map->hooks));
        map->hosted = map->has_hooks = false;
    }
    r = join_all(map);
    if (r < 0 && hooks) {
        /* A host that cannot wait for the call wake-up would let calls
         * from other threads wait for ever (found by allocation-failure
         * injection): refuse it, and go back to the map's own backend.
         * Nothing was handed over, so `detached` is not called. */
        forget_all(map);
        memset(&map->hooks, 0, sizeof(map->hooks));
        map->hosted = map->has_hooks = false;
        join_all(map);
        return r;
    }
    return 0;
}
