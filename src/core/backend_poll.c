/* poll(2) backend: a persistent pollfd array; each channel remembers its
 * slot, so changes are O(1) and only the wait itself is O(channels). */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

typedef struct {
    struct pollfd *pfds;
    size_t n, cap;
} poll_state;

static int poll_create(ac_map *map)
{
    poll_state *st = calloc(1, sizeof(*st));

    if (!st)
        return -ENOMEM;
    map->bstate = st;
    return 0;
}

static void poll_destroy(ac_map *map)
{
    poll_state *st = map->bstate;

    free(st->pfds);
    free(st);
    map->bstate = NULL;
}

static int poll_modify(ac_map *map, ac_dispatcher *d, unsigned old,
                       unsigned want)
{
    poll_state *st = map->bstate;

    (void)old;
    if (want && d->slot < 0) {
        if (st->n == st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 64;
            struct pollfd *p = realloc(st->pfds, cap * sizeof(*p));
            if (!p)
                return -ENOMEM;
            st->pfds = p;
            st->cap = cap;
        }
        d->slot = (int)st->n++;
        st->pfds[d->slot].fd = d->fd;
    } else if (!want && d->slot >= 0) {
        /* Move the last entry into the hole. */
        struct pollfd *last = &st->pfds[--st->n];
        if ((size_t)d->slot != st->n) {
            /* by the table: ac_map_get() hides internal channels */
            ac_dispatcher *moved = map->fds[last->fd];
            st->pfds[d->slot] = *last;
            if (moved)
                moved->slot = d->slot;
        }
        d->slot = -1;
        return 0;
    }
    if (d->slot >= 0)
        st->pfds[d->slot].events = (short)want;
    return 0;
}

static int poll_wait(ac_map *map, int timeout_ms)
{
    poll_state *st = map->bstate;
    size_t i;
    int n, k = 0;

    if (ac__fired_reserve(map, st->n) < 0)
        return -ENOMEM;
    n = poll(st->pfds, st->n, timeout_ms);
    if (n < 0)
        return -errno;
    for (i = 0; i < st->n && k < n; i++) {
        if (st->pfds[i].revents) {
            map->fired[k].fd = st->pfds[i].fd;
            map->fired[k].revents = (unsigned)st->pfds[i].revents;
            k++;
        }
    }
    return k;
}

const ac__backend_ops ac__poll_ops = {
    .name = "poll",
    .max_fd = 0x7fffffff,
    .create = poll_create,
    .destroy = poll_destroy,
    .modify = poll_modify,
    .wait = poll_wait,
};
