/* The socket map: fd-indexed channel table, handler frames with their
 * end-of-frame work and deferred destroys, logging, backends. Interest and
 * hosts are in interest.c, deadlines in timer.c. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ac_map *default_map;

static const ac__backend_ops *ops_for(ac_backend backend)
{
    switch (backend) {
    case AC_BACKEND_DEFAULT:
#if AC_HAVE_EPOLL
        return &ac__epoll_ops;
#else
        return &ac__poll_ops;
#endif
    case AC_BACKEND_SELECT:
        return &ac__select_ops;
    case AC_BACKEND_POLL:
        return &ac__poll_ops;
    case AC_BACKEND_EPOLL:
#if AC_HAVE_EPOLL
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
    int r = 0;

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
    map->refs = 1;
    map->wake_fd = -1;
    errno = 0;
    if (ops->create(map) < 0 || ac__fired_reserve(map, 64) < 0 ||
        (r = ac__calls_open(map)) < 0) {
        int err = r < 0 ? -r : errno;
        if (map->bstate)
            ops->destroy(map);
        free(map->fired);
        free(map->fds);
        free(map->pending);
        free(map);
        errno = err ? err : ENOMEM;
        return NULL;
    }
    ac__debug_env(map);
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
    ac__calls_close(map); /* queued calls run now, later ones are refused */
    if (map->debug)
        ac__debug_free(map); /* lists what is still open */
    ac_close_all(map, true);
    ac__timers_stop_all(map);
    ac__lookups_free(map);
    ac__timed_free(map);
    ac__budget_free(map);
    ac_map_set_hooks(map, NULL);
    map->ops->destroy(map);
    free(map->fired);
    free(map->fds);
    free(map->pending);
    free(map->timers);
    free(map->scratch);
    map->fired = NULL;
    map->fds = NULL;
    map->fds_cap = 0;
    map->pending = NULL;
    map->timers = NULL;
    map->scratch = NULL;
    if (map == default_map)
        default_map = NULL;
    ac_map_unref(map);
    return 0;
}

size_t ac_map_count(const ac_map *map)
{
    return map ? map->count : 0;
}

ac_dispatcher *ac_map_get(const ac_map *map, int fd)
{
    ac_dispatcher *d;

    if (!map || fd < 0 || (size_t)fd >= map->fds_cap)
        return NULL;
    d = map->fds[fd];
    return d && !AC__FLAG(d, AC__F_INTERNAL) ? d : NULL;
}

bool ac_map_alive(const ac_map *map)
{
    return map && (map->count > 0 || map->nref_timers > 0 ||
                   __atomic_load_n(&map->calls_queued, __ATOMIC_ACQUIRE) > 0);
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

/* ---- handler frames, end-of-frame work, deferred destroy ---- */

void ac__enter(ac_map *map)
{
    if (map->depth++ == 0 && map->debug)
        ac__debug_frame(map, true);
}

void ac__leave(ac_map *map)
{
    if (--map->depth > 0)
        return;
    /* The outermost frame ends: first the work layers queued (async_chat's
     * coalesced sends), then the deferred destroys. Each runs as a frame
     * of its own, so what they close or queue lands here again instead of
     * recursing. */
    while (map->work || map->zombies) {
        map->depth++;
        if (map->work) {
            ac_deferred *w = map->work;
            map->work = w->next;
            if (!map->work)
                map->work_tail = NULL;
            w->next = NULL;
            w->queued = false;
            w->fn(w);
        } else {
            ac_dispatcher *d = map->zombies;
            void (*destroy)(ac_dispatcher *);
            map->zombies = d->next;
            d->next = NULL;
            d->flags &= ~AC__F_ZOMBIE;
            destroy = AC__METHOD(d, destroy);
            if (destroy)
                destroy(d);
        }
        map->depth--;
    }
    if (map->debug)
        ac__debug_frame(map, false);
}

int ac_defer(ac_map *map, ac_deferred *w, void (*fn)(ac_deferred *w))
{
    if (!map || !w || !fn)
        return -EINVAL;
    if (w->queued)
        return 0;
    w->fn = fn;
    w->next = NULL;
    w->queued = true;
    if (map->work_tail)
        map->work_tail->next = w;
    else
        map->work = w;
    map->work_tail = w;
    ac__enter(map); /* outside handlers this runs it now */
    ac__leave(map);
    return 0;
}

void ac_defer_cancel(ac_map *map, ac_deferred *w)
{
    ac_deferred **p, *prev = NULL;

    if (!map || !w || !w->queued)
        return;
    for (p = &map->work; *p; prev = *p, p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            if (map->work_tail == w)
                map->work_tail = prev;
            break;
        }
    w->next = NULL;
    w->queued = false;
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
    if (!AC__FLAG(d, AC__F_INTERNAL) && (r = ac__budget_reserve(map)) < 0)
        return r;
    map->fds[fd] = d;
    if (!AC__FLAG(d, AC__F_INTERNAL))
        map->count++;
    d->epoch = map->epoch;
    d->watched = 0; /* fresh registration: nothing counted yet */
    d->flags |= AC__F_IN_MAP;
    if (!AC__FLAG(d, AC__F_DECLARED))
        ac__pulled_link(map, d);
    r = ac__join(d);
    if (r < 0) {
        ac__map_remove(map, d);
        return r;
    }
    /* a host without watch does not see joins: it refreshes soon instead */
    if (map->hosted && !map->has_hooks)
        ac__wake_host(map);
    return 0;
}

void ac__map_remove(ac_map *map, ac_dispatcher *d)
{
    if (!AC__FLAG(d, AC__F_IN_MAP))
        return;
    ac__forget(d);
    ac__pending_drop(map, d);
    map->fds[d->fd] = NULL;
    if (!AC__FLAG(d, AC__F_INTERNAL))
        map->count--;
    if (!AC__FLAG(d, AC__F_DECLARED))
        ac__pulled_unlink(map, d);
    d->flags &= ~(AC__F_IN_MAP | AC__F_STARVED | AC__F_NOWAIT);
    /* A descriptor is about to be freed: paused listeners may accept. */
    if (map->starved)
        ac__unstarve(map);
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
        if (d && AC__FLAG(d, AC__F_NOWAIT)) {
            /* the new backend may wait on it after all: ask it afresh */
            d->flags &= ~AC__F_NOWAIT;
            d->watched = 0;
            map->nwatched--;
        } else if (d && d->watched && !map->has_hooks) {
            map->ops->modify(map, d, d->watched, 0);
            if (ops->modify(&tmp, d, 0, d->watched) < 0) {
                d->watched = 0; /* re-applied below, reporting the error */
                map->nwatched--;
            }
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
#if AC_HAVE_EPOLL
    if (map->ops == &ac__epoll_ops)
        return *(const int *)map->bstate;
#endif
    return -EOPNOTSUPP;
}

int ac_close_all(ac_map *map, bool ignore_all)
{
    ac_dispatcher *d;
    int first = 0;
    size_t fd;

    if (!map)
        map = ac_map_default();
    if (!map)
        return -ENOMEM;
    ac__enter(map);
    for (fd = 0; fd < map->fds_cap && map->count; fd++) {
        int r;

        d = map->fds[fd];
        if (!d || AC__FLAG(d, AC__F_INTERNAL))
            continue;
        r = ac_close(d);
        if (r < 0 && r != -EBADF && !ignore_all && !first)
            first = r;
    }
    while ((d = ac__connect_first(map))) /* no descriptor yet */
        ac_close(d);
    ac__leave(map);
    return first;
}
