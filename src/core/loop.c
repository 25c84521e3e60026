/* Python's loop() and the single step that a host loop can call. */
#include "internal.h"

#include <errno.h>

/* Wait, retrying EINTR with what is left of the timeout, unless a signal
 * handler asked the loop to stop. */
static int wait_ready(ac_map *map, int timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? (int64_t)ac__now_ms() + timeout_ms : 0;
    uint64_t t0;
    int n;

    for (;;) {
        t0 = map->debug ? ac__now_ns() : 0;
        n = map->ops->wait(map, timeout_ms);
        if (t0)
            ac__debug_waited(map, ac__now_ns() - t0);
        if (n != -EINTR)
            return n;
        if (map->stop)
            return -EINTR;
        if (timeout_ms > 0) {
            int64_t left = deadline - (int64_t)ac__now_ms();
            timeout_ms = left > 0 ? (int)left : 0;
        }
    }
}

/* The second half of an iteration, after the refresh: wait on the map's
 * backend, dispatch what it reports, then run what came due meanwhile (a
 * deadline that ended the wait fires in this step, as libuv's UV_RUN_ONCE
 * runs its timers after the poll). */
static int wait_and_dispatch(ac_map *map, int timeout_ms)
{
    int n = wait_ready(map, timeout_ms), due;

    if (n > 0)
        n = ac__dispatch_fired(map, (size_t)n);
    if (n < 0)
        return n;
    due = ac_map_run_due(map);
    return due < 0 ? due : n + due;
}

int ac_poll_once(ac_map *map, int timeout_ms)
{
    int n, due;

    if (!map)
        map = ac_map_default();
    if (!map)
        return -ENOMEM;
    if (map->depth > 0 || map->has_hooks)
        return -EBUSY;
    AC__THREAD_CHECK(map);
    if (!ac_map_alive(map))
        return 0; /* C-01: nothing to wait for, do not sleep */
    n = ac_map_refresh(map);
    if (n < 0)
        return n;
    if (!ac_map_alive(map))
        return 0; /* a predicate closed the last channel: no wait */
    due = ac_map_timeout(map);
    if (due >= 0 && (timeout_ms < 0 || due < timeout_ms))
        timeout_ms = due;
    return wait_and_dispatch(map, timeout_ms);
}

int ac_map_dispatch_ready(ac_map *map)
{
    if (!map)
        return -EINVAL;
    if (map->depth > 0 || map->has_hooks)
        return -EBUSY;
    return wait_and_dispatch(map, 0);
}

int ac_loop(ac_map *map, const ac_loop_opts *opts)
{
    ac_loop_opts o = {.timeout_ms = 30000, .count = 0,
                      .backend = AC_BACKEND_DEFAULT};
    int r;

    if (!map)
        map = ac_map_default();
    if (!map)
        return -ENOMEM;
    if (opts)
        o = *opts;
    if (o.backend != AC_BACKEND_DEFAULT && o.backend != ac_map_get_backend(map)) {
        r = ac_map_set_backend(map, o.backend);
        if (r < 0)
            return r;
    }
    while (ac_map_alive(map) && !map->stop) {
        r = ac_poll_once(map, o.timeout_ms);
        if (r == -EINTR && map->stop)
            break;
        if (r < 0)
            return r;
        if (o.count > 0 && --o.count == 0)
            break;
    }
    map->stop = 0;
    return 0;
}

void ac_loop_stop(ac_map *map)
{
    if (map)
        map->stop = 1;
}
