/* Interest (pulled or declared), the host hooks, pending readiness, and
 * the dispatch of readiness to channels. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pulled list ---- */

void ac__pulled_link(ac_map *map, ac_dispatcher *d)
{
    d->prev = NULL;
    d->next = map->pulled;
    if (map->pulled)
        map->pulled->prev = d;
    map->pulled = d;
}

void ac__pulled_unlink(ac_map *map, ac_dispatcher *d)
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

/* A host that refreshes only when told (libevent) hears that the map has
 * something for it; inside a handler it refreshes afterwards anyway. */
void ac__wake_host(ac_map *map)
{
    if (map->depth == 0 && map->hooks.wake)
        map->hooks.wake(map->hooks.data);
}

/* ---- pending readiness ---- */

/* What the map delivers without waiting: what a layer holds above the
 * descriptor, and, for a descriptor nobody can wait on, everything it
 * reads or writes (select and poll call such files always ready). */
static unsigned own_interest(const ac_dispatcher *d);

static unsigned pending_events(const ac_dispatcher *d)
{
    unsigned ev = d->pending & own_interest(d) &
                  ~AC__LAYER_BITS(d, AC__F_LHOLD_SHIFT);

    if (AC__FLAG(d, AC__F_NOWAIT))
        ev |= d->watched & (AC_IN | AC_OUT);
    return ev & d->watched;
}

static int pending_list(ac_map *map, ac_dispatcher *d)
{
    if (AC__FLAG(d, AC__F_LISTED))
        return 0;
    if (map->npending == map->pending_cap) {
        size_t cap = map->pending_cap ? map->pending_cap * 2 : 8;
        ac_dispatcher **p = realloc(map->pending, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        map->pending = p;
        map->pending_cap = cap;
    }
    map->pending[map->npending++] = d;
    d->flags |= AC__F_LISTED;
    return 0;
}

/* The channel leaves the map: no entry may outlive it (its memory goes at
 * destroy). Entries are cleared, not moved, so a dispatch walking the list
 * is not disturbed; ac__refresh compacts. */
void ac__pending_drop(ac_map *map, ac_dispatcher *d)
{
    size_t i;

    d->pending = 0;
    d->flags &= ~AC__F_REWATCH;
    if (d->flags & (AC__F_DEFERRED | AC__F_SERVED))
        ac__budget_drop(map, d);
    if (!AC__FLAG(d, AC__F_LISTED))
        return;
    d->flags &= ~AC__F_LISTED;
    for (i = 0; i < map->npending; i++)
        if (map->pending[i] == d)
            map->pending[i] = NULL;
}

bool ac__pending_due(const ac_map *map)
{
    size_t i;

    for (i = 0; i < map->npending; i++) {
        const ac_dispatcher *d = map->pending[i];
        if (d && (pending_events(d) || AC__FLAG(d, AC__F_REWATCH)))
            return true;
    }
    return false;
}

int ac_set_pending(ac_dispatcher *d, unsigned events)
{
    int r;

    if (!d || !d->map)
        return -EINVAL;
    if (events & ~(unsigned)(AC_IN | AC_PRI | AC_OUT))
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED) || !AC__FLAG(d, AC__F_IN_MAP))
        return -EBADF;
    if (events && (r = pending_list(d->map, d)) < 0)
        return r;
    d->pending = events;
    if (events)
        ac__wake_host(d->map);
    return 0;
}

static int apply(ac_dispatcher *d, unsigned want);
static unsigned wanted(const ac_dispatcher *d);
static void set_watched(ac_dispatcher *d, unsigned want);

/* Dispatch every listed channel with pending events that was in the map
 * at the last refresh, and tell a channel whose watch the refresh could
 * not apply (asking again first: the refusal may have been passing);
 * drop the entries that have nothing left. */
static int dispatch_pending(ac_map *map)
{
    size_t i, keep;
    int done = 0;

    for (i = 0; i < map->npending; i++) {
        ac_dispatcher *d = map->pending[i];
        unsigned ev;

        if (d && AC__FLAG(d, AC__F_REWATCH)) {
            int r;
            d->flags &= ~AC__F_REWATCH;
            set_watched(d, 0); /* unknown after the refusal: ask again */
            if ((r = apply(d, wanted(d))) < 0) {
                ac__fail(d, -r, "watch");
                done++;
                continue;
            }
        }
        if (!d || d->epoch >= map->epoch)
            continue;
        ev = pending_events(d);
        if (ev)
            done += ac__budget_dispatch(map, d, ev);
    }
    for (i = keep = 0; i < map->npending; i++) {
        ac_dispatcher *d = map->pending[i];
        if (d && (d->pending || AC__FLAG(d, AC__F_NOWAIT | AC__F_REWATCH)))
            map->pending[keep++] = d;
        else if (d)
            d->flags &= ~AC__F_LISTED;
    }
    map->npending = keep;
    return done;
}

/* A watch the refresh could not apply: reported after the wait. */
static int rewatch_later(ac_map *map, ac_dispatcher *d)
{
    int r = pending_list(map, d);

    if (r == 0)
        d->flags |= AC__F_REWATCH;
    return r;
}

/* ---- interest ---- */

static void set_watched(ac_dispatcher *d, unsigned want)
{
    if (!d->watched && want)
        d->map->nwatched++;
    else if (d->watched && !want)
        d->map->nwatched--;
    d->watched = want;
}

/* A waiter (backend or host) refused the descriptor as one it cannot wait
 * on: epoll and libuv say EPERM for regular files and the like. */
static int cannot_wait(ac_dispatcher *d, unsigned want)
{
    int r = pending_list(d->map, d);

    if (r < 0)
        return r;
    d->flags |= AC__F_NOWAIT;
    set_watched(d, want);
    ac__wake_host(d->map);
    return 0;
}

/* Push `want` to whoever waits for this map: the host through its hooks, or
 * the map's own backend. Only real changes go out (C-71). */
static int apply(ac_dispatcher *d, unsigned want)
{
    ac_map *map = d->map;
    int r;

    if (AC__FLAG(d, AC__F_NOWAIT)) {
        set_watched(d, want);
        return 0;
    }
    if (map->has_hooks) {
        if (want == d->watched && AC__FLAG(d, AC__F_HOSTED))
            return 0;
        d->flags |= AC__F_HOSTED;
        r = map->hooks.watch ? map->hooks.watch(map->hooks.data, d, d->fd, want)
                             : 0;
        if (r == -EPERM)
            return cannot_wait(d, want);
        set_watched(d, want);
        return r < 0 ? r : 0;
    }
    if (want == d->watched)
        return 0;
    r = map->ops->modify(map, d, d->watched, want);
    if (r == -EPERM)
        return cannot_wait(d, want);
    if (r < 0)
        return r;
    set_watched(d, want);
    return 0;
}

void ac__forget(ac_dispatcher *d)
{
    ac_map *map = d->map;

    if (AC__FLAG(d, AC__F_HOSTED)) {
        d->flags &= ~AC__F_HOSTED;
        if (map->hooks.unwatch)
            map->hooks.unwatch(map->hooks.data, d, d->fd);
    } else if (d->watched && !map->has_hooks && !AC__FLAG(d, AC__F_NOWAIT)) {
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

/* What the channel itself wants: declared, or its predicates' last answer
 * (kept in d->interest for pulled channels). */
static unsigned own_interest(const ac_dispatcher *d)
{
    unsigned want = d->interest;

    if (AC__FLAG(d, AC__F_DECLARED) && AC__FLAG(d, AC__F_CONNECTING))
        want |= AC_OUT;
    return shape(d, want);
}

/* What the descriptor is waited on for: the channel's interest as a layer
 * under it reshapes it (a TLS handshake reads whatever the channel wants). */
static unsigned wanted(const ac_dispatcher *d)
{
    unsigned want;

    want = d->interest & ~AC__LAYER_BITS(d, AC__F_LHOLD_SHIFT);
    want |= AC__LAYER_BITS(d, AC__F_LADD_SHIFT);
    /* a connect in progress is waited for even under a layer's hold */
    if (AC__FLAG(d, AC__F_CONNECTING) &&
        (AC__FLAG(d, AC__F_DECLARED) || AC__LAYER_BITS(d, AC__F_LHOLD_SHIFT)))
        want |= AC_OUT;
    return shape(d, want);
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
    d->interest = want;
    return wanted(d);
}

/* A host hears of every channel as it joins (a pulled one with interest 0
 * until the next refresh asks its predicates), so it can keep the loop
 * alive and key its state by channel; the backend only of real interest. */
int ac__join(ac_dispatcher *d)
{
    if (AC__FLAG(d, AC__F_DECLARED) || AC__LAYER_BITS(d, AC__F_LADD_SHIFT))
        return apply(d, wanted(d));
    return d->map->has_hooks ? apply(d, 0) : 0;
}

void ac__update_interest(ac_dispatcher *d)
{
    int r;

    if (!AC__FLAG(d, AC__F_IN_MAP) ||
        !(AC__FLAG(d, AC__F_DECLARED) || AC__LAYER_BITS(d, AC__F_LADD_SHIFT) ||
          AC__LAYER_BITS(d, AC__F_LHOLD_SHIFT) || d->watched))
        return;
    r = apply(d, wanted(d));
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
    AC__THREAD_CHECK(d->map);
    if (!AC__FLAG(d, AC__F_DECLARED) && AC__FLAG(d, AC__F_IN_MAP))
        ac__pulled_unlink(d->map, d);
    d->flags |= AC__F_DECLARED;
    d->interest = events;
    if (d->pending) /* readiness held above the fd may now be wanted */
        ac__wake_host(d->map);
    ac__update_interest(d); /* last: a failure may close and free `d` */
    return 0;
}

int ac_pull_interest(ac_dispatcher *d)
{
    if (!d)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    if (AC__FLAG(d, AC__F_DECLARED) && AC__FLAG(d, AC__F_IN_MAP))
        ac__pulled_link(d->map, d);
    d->flags &= ~AC__F_DECLARED;
    d->interest = 0; /* until the predicates are next asked */
    return 0;
}

unsigned ac_get_interest(const ac_dispatcher *d)
{
    return d && !AC__FLAG(d, AC__F_CLOSED) ? own_interest(d) : 0;
}

int ac_set_layer_interest(ac_dispatcher *d, unsigned hold, unsigned add)
{
    const unsigned all = AC_IN | AC_PRI | AC_OUT;

    if (!d || ((hold | add) & ~all))
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    d->flags &= ~((all << AC__F_LHOLD_SHIFT) | (all << AC__F_LADD_SHIFT));
    d->flags |= (hold << AC__F_LHOLD_SHIFT) | (add << AC__F_LADD_SHIFT);
    if (d->pending)
        ac__wake_host(d->map);
    /* the waiter's refusal goes to the layer, which reports it: no
     * handler runs here, so the layer's state cannot go under its feet */
    return AC__FLAG(d, AC__F_IN_MAP) ? apply(d, wanted(d)) : 0;
}

/* ---- host interface ---- */

/* Before the host's wait: only interest. What is due by time or held
 * above a descriptor runs after the wait (ac_map_run_due), in the step
 * that the deadline ended, so a host loop driven one step at a time never
 * sleeps with work it already took on. A host's refusal of a pulled
 * channel's watch is reported there too: no handler runs before a wait. */
int ac_map_refresh(ac_map *map)
{
    ac_dispatcher *d;

    if (!map)
        return -EINVAL;
    if (map->depth > 0)
        return -EBUSY;
    if (map->debug)
        ac__debug_iteration(map);
    map->epoch++;
    ac__enter(map);
    for (d = map->pulled; d; d = map->iter_next) {
        int r;
        unsigned want;

        map->iter_next = d->next;
        want = pulled_interest(d);
        if (AC__FLAG(d, AC__F_CLOSED))
            continue;
        r = apply(d, want);
        if (r < 0 && rewatch_later(map, d) < 0)
            ac__fail(d, -r, "watch"); /* cannot even keep it for later */
    }
    map->iter_next = NULL;
    ac__leave(map);
    /* the map's own call wake-up is not one of the caller's channels */
    return (int)map->nwatched - (map->wake.watched ? 1 : 0);
}

int ac_map_run_due(ac_map *map)
{
    int n;

    if (!map)
        return -EINVAL;
    if (map->depth > 0)
        return -EBUSY;
    AC__THREAD_CHECK(map);
    ac__enter(map);
    n = ac__budget_begin(map);
    n += ac__timers_run(map);
    if (map->npending)
        n += dispatch_pending(map);
    ac__leave(map);
    return n;
}

/* Readiness belongs to the channels that were in the map when the host last
 * refreshed: one that joined since (maybe on a just-freed fd number) waits
 * for the next refresh, so it never sees its predecessor's events (C-73). */
static ac_dispatcher *due(ac_map *map, int fd)
{
    ac_dispatcher *d;

    if (fd < 0 || (size_t)fd >= map->fds_cap)
        return NULL;
    d = map->fds[fd]; /* the map's own wake-up channel included */
    return d && d->epoch < map->epoch ? d : NULL;
}

int ac__dispatch_fired(ac_map *map, size_t n)
{
    size_t i;
    int done = 0;

    ac__enter(map);
    done = ac__budget_begin(map);
    for (i = 0; i < n; i++) {
        ac_dispatcher *d = due(map, map->fired[i].fd);
        if (d)
            done += ac__budget_dispatch(map, d, map->fired[i].revents);
    }
    ac__leave(map);
    return done;
}

int ac_map_dispatch(ac_map *map, int fd, unsigned revents)
{
    ac_dispatcher *d;
    int n;

    if (!map || fd < 0)
        return -EINVAL;
    AC__THREAD_CHECK(map);
    ac__enter(map);
    ac__budget_begin(map); /* what the last iteration left goes first */
    d = due(map, fd); /* after: those may have closed it */
    n = d ? ac__budget_dispatch(map, d, revents) : 0;
    ac__leave(map);
    return n;
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
