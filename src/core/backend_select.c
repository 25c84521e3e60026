/* select(2) backend. fd_set holds descriptors below FD_SETSIZE only; the
 * map refuses larger ones (-ERANGE) instead of writing past the set, which
 * is what Python's ValueError guards against (D-02). */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

typedef struct {
    fd_set r, w, e;
    int maxfd;
} select_state;

static int select_create(ac_map *map)
{
    select_state *st = calloc(1, sizeof(*st));

    if (!st)
        return -ENOMEM;
    FD_ZERO(&st->r);
    FD_ZERO(&st->w);
    FD_ZERO(&st->e);
    st->maxfd = -1;
    map->bstate = st;
    return 0;
}

static void select_destroy(ac_map *map)
{
    free(map->bstate);
    map->bstate = NULL;
}

static int select_modify(ac_map *map, ac_dispatcher *d, unsigned old,
                         unsigned want)
{
    select_state *st = map->bstate;
    int fd = d->fd;

    (void)old;
    if (fd < 0 || fd >= FD_SETSIZE)
        return -ERANGE;
    FD_CLR(fd, &st->r);
    FD_CLR(fd, &st->w);
    FD_CLR(fd, &st->e);
    if (want & AC_IN)
        FD_SET(fd, &st->r);
    if (want & AC_OUT)
        FD_SET(fd, &st->w);
    /* Python's select() loop waits for exceptions on every active fd. */
    if (want)
        FD_SET(fd, &st->e);
    if (want && fd > st->maxfd)
        st->maxfd = fd;
    while (st->maxfd >= 0 && !FD_ISSET(st->maxfd, &st->e))
        st->maxfd--;
    return 0;
}

static int select_wait(ac_map *map, int timeout_ms)
{
    select_state *st = map->bstate;
    fd_set r = st->r, w = st->w, e = st->e;
    struct timeval tv, *tvp = NULL;
    int n, fd, k = 0;

    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    if (ac__fired_reserve(map, (size_t)st->maxfd + 1) < 0)
        return -ENOMEM;
    n = select(st->maxfd + 1, &r, &w, &e, tvp);
    if (n < 0)
        return -errno;
    for (fd = 0; fd <= st->maxfd; fd++) {
        unsigned ev = 0;
        if (FD_ISSET(fd, &r))
            ev |= AC_IN;
        if (FD_ISSET(fd, &w))
            ev |= AC_OUT;
        if (FD_ISSET(fd, &e))
            ev |= AC_PRI;
        if (ev) {
            map->fired[k].fd = fd;
            map->fired[k].revents = ev;
            k++;
        }
    }
    return k;
}

const ac__backend_ops ac__select_ops = {
    .name = "select",
    .max_fd = FD_SETSIZE - 1,
    .create = select_create,
    .destroy = select_destroy,
    .modify = select_modify,
    .wait = select_wait,
};
