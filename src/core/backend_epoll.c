/* epoll(7) backend: the kernel keeps the interest set, so an iteration
 * costs O(ready channels) (D-05). Level-triggered, as Python's loop is. */
#include "internal.h"

#ifdef __linux__
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 1024

typedef struct {
    int epfd; /* first, for ac_map_backend_fd() */
    int cap;
    struct epoll_event *events;
} epoll_state;

static int epoll_create_(ac_map *map)
{
    epoll_state *st = calloc(1, sizeof(*st));

    if (!st)
        return -ENOMEM;
    st->cap = 64;
    st->events = malloc(sizeof(*st->events) * (size_t)st->cap);
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!st->events || st->epfd < 0) {
        int err = st->epfd < 0 ? errno : ENOMEM;
        if (st->epfd >= 0)
            close(st->epfd); /* found by allocation-failure injection */
        free(st->events);
        free(st);
        errno = err;
        return -err;
    }
    map->bstate = st;
    return 0;
}

static void epoll_destroy(ac_map *map)
{
    epoll_state *st = map->bstate;

    close(st->epfd);
    free(st->events);
    free(st);
    map->bstate = NULL;
}

/* AC_* bits equal EPOLLIN, EPOLLPRI, EPOLLOUT... on Linux. */
static int epoll_modify(ac_map *map, ac_dispatcher *d, unsigned old,
                        unsigned want)
{
    epoll_state *st = map->bstate;
    struct epoll_event ev = {.events = want, .data.fd = d->fd};
    int op = !old ? EPOLL_CTL_ADD : !want ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;

    if (epoll_ctl(st->epfd, op, d->fd, &ev) == 0)
        return 0;
    /* A dup'ed descriptor can keep an old registration alive (libuv #1148):
     * take the number over rather than fail. */
    if (op == EPOLL_CTL_ADD && errno == EEXIST &&
        epoll_ctl(st->epfd, EPOLL_CTL_MOD, d->fd, &ev) == 0)
        return 0;
    if (op == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF))
        return 0;
    return -errno;
}

static int epoll_wait_(ac_map *map, int timeout_ms)
{
    epoll_state *st = map->bstate;
    int n, i;

    /* Grow the event array with the map so one wait sees every ready
     * channel, up to a bound that keeps the array small. */
    if ((size_t)st->cap < map->count && st->cap < MAX_EVENTS) {
        int cap = st->cap * 2;
        struct epoll_event *ev = realloc(st->events, sizeof(*ev) * (size_t)cap);
        if (ev) {
            st->events = ev;
            st->cap = cap;
        }
    }
    if (ac__fired_reserve(map, (size_t)st->cap) < 0)
        return -ENOMEM;
    n = epoll_wait(st->epfd, st->events, st->cap, timeout_ms);
    if (n < 0)
        return -errno;
    for (i = 0; i < n; i++) {
        map->fired[i].fd = st->events[i].data.fd;
        map->fired[i].revents = st->events[i].events;
    }
    return n;
}

const ac__backend_ops ac__epoll_ops = {
    .name = "epoll",
    .max_fd = 0x7fffffff,
    .create = epoll_create_,
    .destroy = epoll_destroy,
    .modify = epoll_modify,
    .wait = epoll_wait_,
};
#endif
