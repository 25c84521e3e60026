/* The socket map: fd-indexed channel table, interest bookkeeping, host
 * hooks, and the deferred-destroy machinery that keeps handlers safe. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After EMFILE at accept, listeners pause until a channel of the map closes
 * or this long has passed: bounded retries instead of a busy spin. */
#define AC__STARVE_MS 100

static ac_map *default_map;

static const ac__backend_ops *ops_for(ac_backend backend)
{
    switch (backend) {
    case AC_BACKEND_DEFAULT:
#ifdef __linux__
        return &ac__epoll_ops;
#else
        return &ac__poll_ops;
#endif
    case AC_BACKEND_SELECT:
        return &ac__select_ops;
    case AC_BACKEND_POLL:
        return &ac__poll_ops;
    case AC_BACKEND_EPOLL:
#ifdef __linux__
        return &ac__epoll_ops;
#else
        return NULL;
#endif
    }
    return NULL;
}

static ac_backend backend_of(const ac__backend_ops *ops)
{
    if (ops == &ac__select_ops)
        return AC_BACKEND_SELECT;
    if (ops == &ac__poll_ops)
        return AC_BACKEND_POLL;
    return AC_BACKEND_EPOLL;
}

const char *ac_backend_name(ac_backend backend)
{
    const ac__backend_ops *ops = ops_for(backend);
    return ops ? ops->name : "unknown";
}

static void default_log(ac_map *map, ac_log_level level, const char *msg,
                        void *data)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    (void)map;
    (void)data;
    fprintf(stderr, "%s: %s\n", names[level <= AC_LOG_ERROR ? level : 0], msg);
}

ac_map *ac_map_new(ac_backend backend)
{
    const ac__backend_ops *ops;
    ac_map *map;

    if ((unsigned)backend > AC_BACKEND_EPOLL) {
        errno = EINVAL;
        return NULL;
    }
    ops = ops_for(backend);
    if (!ops) {
        errno = ENOSYS;
        return NULL;
    }
    map = calloc(1, sizeof(*map));
    if (!map) {
        errno = ENOMEM;
        return NULL;
    }
    map->ops = ops;
    map->log_fn = default_log;
    map->log_level = AC_LOG_WARNING;
    if (ops->create(map) < 0 || ac__fired_reserve(map, 64) < 0) {
        int err = errno;
        if (map->bstate)
            ops->destroy(map);
        free(map->fired);
        free(map);
        errno = err ? err : ENOMEM;
        return NULL;
    }
    return map;
}

ac_map *ac_map_default(void)
{
    if (!default_map)
        default_map = ac_map_new(AC_BACKEND_DEFAULT);
    return default_map;
}

int ac_map_free(ac_map *map)
{
    if (!map)
        return -EINVAL;
    if (map->depth > 0)
        return -EBUSY;
    ac_close_all(map, true);
    ac_map_set_hooks(map, NULL);
    map->ops->destroy(map);
    free(map->fired);
    free(map->fds);
    free(map->scratch);
    if (map == default_map)
        default_map = NULL;
    free(map);
    return 0;
}

size_t ac_map_count(const ac_map *map)
{
    return map ? map->count : 0;
}

ac_dispatcher *ac_map_get(const ac_map *map, int fd)
{
    if (!map || fd < 0 || (size_t)fd >= map->fds_cap)
        return NULL;
    return map->fds[fd];
}

ac_backend ac_map_get_backend(const ac_map *map)
{
    return map ? backend_of(map->ops) : AC_BACKEND_DEFAULT;
}

int ac__fired_reserve(ac_map *map, size_t n)
{
    ac__fired *f;

    if (n <= map->fired_cap)
        return 0;
    f = realloc(map->fired, n * sizeof(*f));
    if (!f)
        return -ENOMEM;
    map->fired = f;
    map->fired_cap = n;
    return 0;
}

/* ---- handler frames and deferred destroy ---- */

void ac__enter(ac_map *map)
{
    map->depth++;
}

void ac__leave(ac_map *map)
{
    if (--map->depth > 0)
        return;
    /* The outermost frame ends: first the sends the handlers queued
     * (async_chat coalescing), then the deferred destroys. Each runs as a
     * frame of its own, so what they close or push queues up here instead
     * of recursing. */
    while (map->chat_flush || map->zombies) {
        ac_dispatcher *d = map->zombies;
        void (*destroy)(ac_dispatcher *);

        if (map->chat_flush) {
            map->depth++;
            ac__chat_flush(map);
            map->depth--;
            continue;
        }
        map->zombies = d->next;
        d->next = NULL;
        d->flags &= ~AC__F_ZOMBIE;
        destroy = AC__METHOD(d, destroy);
        map->depth++;
        if (destroy)
            destroy(d);
        map->depth--;
    }
}

void ac__zombie(ac_map *map, ac_dispatcher *d)
{
    d->flags |= AC__F_ZOMBIE;
    d->prev = NULL;
    d->next = map->zombies;
    map->zombies = d;
}

/* ---- logging ---- */

static void vlog(ac_map *map, ac_log_level level, const char *fmt, va_list ap)
{
    char msg[512];

    if (!map || level < map->log_level || !map->log_fn)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    map->log_fn(map, level, msg, map->log_data);
}

void ac__log(ac_map *map, ac_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(map, level, fmt, ap);
    va_end(ap);
}

void ac_log_info(ac_dispatcher *d, ac_log_level level, const char *fmt, ...)
{
    va_list ap;
    if (!d || !fmt)
        return;
    va_start(ap, fmt);
    vlog(d->map, level, fmt, ap);
    va_end(ap);
}

void ac_map_set_log(ac_map *map, ac_log_fn fn, void *data)
{
    if (!map)
        return;
    map->log_fn = fn ? fn : default_log;
    map->log_data = fn ? data : NULL;
}

void ac_map_set_log_level(ac_map *map, ac_log_level level)
{
    if (map)
        map->log_level = level;
}

/* ---- interest ---- */

static void pulled_link(ac_map *map, ac_dispatcher *d)
{
    d->prev = NULL;
    d->next = map->pulled;
    if (map->pulled)
        map->pulled->prev = d;
    map->pulled = d;
}

static void pulled_unlink(ac_map *map, ac_dispatcher *d)
{
    if (map->iter_next == d)
        map->iter_next = d->next;
    if (d->prev)
        d->prev->next = d->next;
    else if (map->pulled == d)
        map->pulled = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
}

static void set_watched(ac_dispatcher *d, unsigned want)
{
    if (!d->watched && want)
        d->map->nwatched++;
    else if (d->watched && !want)
        d->map->nwatched--;
    d->watched = want;
}

/* Push `want` to whoever waits for this map: the host through its hooks, or
 * the map's own backend. Only real changes go out (C-71). */
static int apply(ac_dispatcher *d, unsigned want)
{
    ac_map *map = d->map;
    int r;

    if (map->has_hooks) {
        if (want == d->watched && AC__FLAG(d, AC__F_HOSTED))
            return 0;
        d->flags |= AC__F_HOSTED;
        set_watched(d, want);
        r = map->hooks.watch ? map->hooks.watch(map->hooks.data, d, d->fd, want)
                             : 0;
        return r < 0 ? r : 0;
    }
    if (want == d->watched)
        return 0;
    r = map->ops->modify(map, d, d->watched, want);
    if (r < 0)
        return r;
    set_watched(d, want);
    return 0;
}

/* Whoever waits for this map (host or backend) drops the channel; the fd
 * is still open. */
static void forget(ac_dispatcher *d)
{
    ac_map *map = d->map;

    if (AC__FLAG(d, AC__F_HOSTED)) {
        d->flags &= ~AC__F_HOSTED;
        if (map->hooks.unwatch)
            map->hooks.unwatch(map->hooks.data, d, d->fd);
    } else if (d->watched && !map->has_hooks) {
        map->ops->modify(map, d, d->watched, 0);
    }
    set_watched(d, 0);
}

static unsigned shape(const ac_dispatcher *d, unsigned want)
{
    if (AC__FLAG(d, AC__F_STARVED))
        return 0;
    if (AC__FLAG(d, AC__F_ACCEPTING))
        want &= ~AC_OUT;
    return want;
}

static unsigned declared_interest(const ac_dispatcher *d)
{
    return shape(d, d->interest | (AC__FLAG(d, AC__F_CONNECTING) ? AC_OUT : 0));
}

/* Python's poll2(): readable() means POLLIN|POLLPRI, writable() POLLOUT. */
static unsigned pulled_interest(ac_dispatcher *d)
{
    unsigned want = 0;

    if (ac__readable(d))
        want |= AC_READ;
    if (AC__FLAG(d, AC__F_CLOSED))
        return 0;
    if (!AC__FLAG(d, AC__F_ACCEPTING) && ac__writable(d))
        want |= AC_OUT;
    return shape(d, want);
}

/* A host hears of every channel as it joins (a pulled one with interest 0
 * until the next refresh asks its predicates), so it can keep the loop
 * alive and key its state by channel; the backend only of real interest. */
static int join(ac_dispatcher *d)
{
    if (AC__FLAG(d, AC__F_DECLARED))
        return apply(d, declared_interest(d));
    return d->map->has_hooks ? apply(d, 0) : 0;
}

void ac__update_interest(ac_dispatcher *d)
{
    int r;

    if (!AC__FLAG(d, AC__F_IN_MAP) || !AC__FLAG(d, AC__F_DECLARED))
        return;
    r = apply(d, declared_interest(d));
    if (r < 0) {
        ac__enter(d->map);
        ac__fail(d, -r, "watch");
        ac__leave(d->map);
    }
}

int ac_set_interest(ac_dispatcher *d, unsigned events)
{
    if (!d)
        return -EINVAL;
    if (events & ~(unsigned)(AC_IN | AC_PRI | AC_OUT))
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    if (!AC__FLAG(d, AC__F_DECLARED) && AC__FLAG(d, AC__F_IN_MAP))
        pulled_unlink(d->map, d);
    d->flags |= AC__F_DECLARED;
    d->interest = events;
    ac__update_interest(d);
    return 0;
}

int ac_pull_interest(ac_dispatcher *d)
{
    if (!d)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    if (AC__FLAG(d, AC__F_DECLARED) && AC__FLAG(d, AC__F_IN_MAP))
        pulled_link(d->map, d);
    d->flags &= ~AC__F_DECLARED;
    return 0;
}

/* ---- membership ---- */

int ac__map_add(ac_map *map, ac_dispatcher *d)
{
    int fd = d->fd;
    int r;

    if (fd < 0)
        return -EBADF;
    if (fd > map->ops->max_fd)
        return -ERANGE;
    if ((size_t)fd >= map->fds_cap) {
        size_t cap = map->fds_cap ? map->fds_cap : 64;
        ac_dispatcher **fds;

        while (cap <= (size_t)fd)
            cap *= 2;
        fds = realloc(map->fds, cap * sizeof(*fds));
        if (!fds)
            return -ENOMEM;
        memset(fds + map->fds_cap, 0, (cap - map->fds_cap) * sizeof(*fds));
        map->fds = fds;
        map->fds_cap = cap;
    }
    if (map->fds[fd])
        return -EEXIST;
    map->fds[fd] = d;
    map->count++;
    d->epoch = map->epoch;
    d->watched = 0; /* fresh registration: nothing counted yet */
    d->flags |= AC__F_IN_MAP;
    if (!AC__FLAG(d, AC__F_DECLARED))
        pulled_link(map, d);
    r = join(d);
    if (r < 0) {
        ac__map_remove(map, d);
        return r;
    }
    return 0;
}

static void unstarve(ac_map *map)
{
    size_t fd;

    map->starved = false;
    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (d && AC__FLAG(d, AC__F_STARVED)) {
            d->flags &= ~AC__F_STARVED;
            ac__update_interest(d);
        }
    }
}

void ac__map_remove(ac_map *map, ac_dispatcher *d)
{
    if (!AC__FLAG(d, AC__F_IN_MAP))
        return;
    forget(d);
    map->fds[d->fd] = NULL;
    map->count--;
    if (!AC__FLAG(d, AC__F_DECLARED))
        pulled_unlink(map, d);
    d->flags &= ~(AC__F_IN_MAP | AC__F_STARVED);
    /* A descriptor is about to be freed: paused listeners may accept. */
    if (map->starved)
        unstarve(map);
}

void ac__starve(ac_dispatcher *d)
{
    d->flags |= AC__F_STARVED;
    d->map->starved = true;
    d->map->starved_since = ac__now_ms();
    if (AC__FLAG(d, AC__F_DECLARED))
        ac__update_interest(d);
}

int ac__starve_timeout(ac_map *map, int timeout_ms)
{
    uint64_t elapsed;

    if (!map->starved)
        return timeout_ms;
    elapsed = ac__now_ms() - map->starved_since;
    if (elapsed >= AC__STARVE_MS)
        return 0;
    if (timeout_ms < 0 || (uint64_t)timeout_ms > AC__STARVE_MS - elapsed)
        return (int)(AC__STARVE_MS - elapsed);
    return timeout_ms;
}

/* ---- host interface ---- */

int ac_map_set_hooks(ac_map *map, const ac_hooks *hooks)
{
    size_t fd;

    if (!map)
        return -EINVAL;
    if (map->depth > 0 || (hooks && map->hosted))
        return -EBUSY;
    /* Hand every channel over: out of the old waiter, into the new one. */
    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (d)
            forget(d);
    }
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
    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (d && join(d) < 0) {
            ac__enter(map);
            ac__fail(d, EBADF, "watch");
            ac__leave(map);
        }
    }
    return 0;
}

int ac_map_refresh(ac_map *map)
{
    ac_dispatcher *d;

    if (!map)
        return -EINVAL;
    if (map->depth > 0)
        return -EBUSY;
    map->epoch++;
    if (map->starved && ac__starve_timeout(map, -1) == 0)
        unstarve(map);
    ac__enter(map);
    if (map->lingering)
        ac__linger_expire(map);
    for (d = map->pulled; d; d = map->iter_next) {
        int r;
        unsigned want;

        map->iter_next = d->next;
        want = pulled_interest(d);
        if (AC__FLAG(d, AC__F_CLOSED))
            continue;
        r = apply(d, want);
        if (r < 0)
            ac__fail(d, -r, "watch");
    }
    map->iter_next = NULL;
    ac__leave(map);
    return (int)map->nwatched;
}

/* Readiness belongs to the channels that were in the map when the host last
 * refreshed: one that joined since (maybe on a just-freed fd number) waits
 * for the next refresh, so it never sees its predecessor's events (C-73). */
static ac_dispatcher *due(ac_map *map, int fd)
{
    ac_dispatcher *d = ac_map_get(map, fd);
    return d && d->epoch < map->epoch ? d : NULL;
}

int ac__dispatch_fired(ac_map *map, size_t n)
{
    size_t i;
    int done = 0;

    ac__enter(map);
    for (i = 0; i < n; i++) {
        ac_dispatcher *d = due(map, map->fired[i].fd);
        if (d) {
            ac__readwrite(d, map->fired[i].revents);
            done++;
        }
    }
    ac__leave(map);
    return done;
}

int ac_map_dispatch(ac_map *map, int fd, unsigned revents)
{
    ac_dispatcher *d;

    if (!map || fd < 0)
        return -EINVAL;
    d = due(map, fd);
    if (!d)
        return 0;
    ac__enter(map);
    ac__readwrite(d, revents);
    ac__leave(map);
    return 1;
}

int ac_map_set_backend(ac_map *map, ac_backend backend)
{
    const ac__backend_ops *ops;
    ac_map tmp;
    size_t fd;

    if (!map || (unsigned)backend > AC_BACKEND_EPOLL)
        return -EINVAL;
    if (map->depth > 0)
        return -EBUSY;
    ops = ops_for(backend);
    if (!ops)
        return -ENOSYS;
    if (ops == map->ops)
        return 0;
    for (fd = 0; fd < map->fds_cap; fd++)
        if (map->fds[fd] && (int)fd > ops->max_fd)
            return -ERANGE;
    /* Build the new backend beside the old one, then move the channels. */
    tmp = *map;
    tmp.ops = ops;
    tmp.bstate = NULL;
    if (ops->create(&tmp) < 0)
        return errno ? -errno : -ENOMEM;
    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (d && d->watched && !map->has_hooks) {
            map->ops->modify(map, d, d->watched, 0);
            if (ops->modify(&tmp, d, 0, d->watched) < 0)
                set_watched(d, 0); /* re-applied below, reporting the error */
        }
    }
    map->ops->destroy(map);
    map->ops = ops;
    map->bstate = tmp.bstate;
    for (fd = 0; fd < map->fds_cap; fd++)
        if (map->fds[fd])
            ac__update_interest(map->fds[fd]);
    return 0;
}

int ac_map_backend_fd(const ac_map *map)
{
    if (!map)
        return -EINVAL;
    if (map->ops != &ac__epoll_ops)
        return -EOPNOTSUPP;
    return *(const int *)map->bstate;
}

void *ac_get_host_data(const ac_dispatcher *d)
{
    return d ? d->host_data : NULL;
}

void ac_set_host_data(ac_dispatcher *d, void *data)
{
    if (d)
        d->host_data = data;
}

int ac_close_all(ac_map *map, bool ignore_all)
{
    int first = 0;
    size_t fd;

    if (!map)
        map = ac_map_default();
    if (!map)
        return -ENOMEM;
    ac__enter(map);
    for (fd = 0; fd < map->fds_cap && map->count; fd++) {
        ac_dispatcher *d = map->fds[fd];
        int r;

        if (!d)
            continue;
        r = ac_close(d);
        if (r < 0 && r != -EBADF && !ignore_all && !first)
            first = r;
    }
    ac__leave(map);
    return first;
}
