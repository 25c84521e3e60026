/* The time budget of one iteration (ac_map_set_budget). An iteration is
 * what runs between two refreshes: every host refreshes before it waits.
 * Once the handlers of an iteration have used the budget, readiness the
 * map is given is not dispatched but kept in map->deferred, served first
 * in the next iteration; meanwhile ac_map_timeout() answers 0, so the
 * host comes back as soon as it has done its own work (painted). Every
 * waiter here is level-triggered: readiness a deferred channel is given
 * again before it is served is dropped, not lost - it is reported again. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#define NS_PER_MS 1000000ull

struct ac__deferral {
    ac_dispatcher *d; /* NULL once served or dropped */
    unsigned revents;
};

int ac_map_set_budget(ac_map *map, unsigned ms)
{
    uint64_t was;
    int r;

    if (!map)
        return -EINVAL;
    if (ms > 60000)
        return -ERANGE;
    was = map->budget_ns;
    map->budget_ns = ms * NS_PER_MS;
    if ((r = ac__budget_reserve(map)) < 0)
        map->budget_ns = was;
    return r;
}

int ac_map_get_budget(const ac_map *map)
{
    return map ? (int)(map->budget_ns / NS_PER_MS) : -EINVAL;
}

bool ac__budget_over(ac_map *map)
{
    if (ac__now_ns() - map->iter_start < map->budget_ns)
        return false;
    map->cut = true;
    map->budget_cuts++;
    return true;
}

/* `arr` with room for `want` entries, or NULL. */
static void *room(void *arr, size_t want, size_t *cap, size_t esz)
{
    size_t c = *cap ? *cap * 2 : 16;

    if (want <= *cap)
        return arr;
    if (c < want)
        c = want;
    arr = realloc(arr, c * esz);
    if (arr)
        *cap = c;
    return arr;
}

/* Room for every channel of the map (and one joining) to be deferred and
 * served in one iteration, taken when a channel joins or the budget is
 * set: a failure is that call's -ENOMEM, and the dispatch path does not
 * allocate. Deferrals count twice: a served entry stays until the next
 * iteration compacts the list. */
int ac__budget_reserve(ac_map *map)
{
    size_t want = map->count + 1;
    ac__deferral *p;
    ac_dispatcher **s;

    if (!map->budget_ns)
        return 0;
    p = room(map->deferred, 2 * want, &map->deferred_cap, sizeof(*p));
    if (!p)
        return -ENOMEM;
    map->deferred = p;
    s = room(map->served, want, &map->served_cap, sizeof(*s));
    if (!s)
        return -ENOMEM;
    map->served = s;
    return 0;
}

int ac__budget_defer(ac_map *map, ac_dispatcher *d, unsigned revents)
{
    ac__deferral *p;
    size_t i;

    if (AC__FLAG(d, AC__F_DEFERRED)) {
        for (i = 0; i < map->ndeferred; i++)
            if (map->deferred[i].d == d)
                map->deferred[i].revents |= revents;
        return 0;
    }
    /* reserved; past it (channels joining and closing within one
     * iteration), the caller dispatches it now: late beats lost */
    p = room(map->deferred, map->ndeferred + 1, &map->deferred_cap,
             sizeof(*p));
    if (!p)
        return -ENOMEM;
    map->deferred = p;
    map->deferred[map->ndeferred++] = (ac__deferral){d, revents};
    d->flags |= AC__F_DEFERRED;
    return 0;
}

/* Readiness for `d` in this iteration: dispatched, deferred, or dropped
 * because the channel's deferred turn covers it. Returns 1 if dispatched. */
int ac__budget_dispatch(ac_map *map, ac_dispatcher *d, unsigned revents)
{
    if (d->flags & (AC__F_DEFERRED | AC__F_SERVED))
        return 0;
    /* calls (the map's own wake-up) are never held back */
    if (!AC__FLAG(d, AC__F_INTERNAL) && map->iter_runs++ &&
        ac__budget_spent(map)) {
        if (ac__budget_defer(map, d, revents) == 0)
            return 0;
        ac__log(map, AC_LOG_WARNING, "%s fd %d: out of memory deferring it "
                "past the budget; dispatching it now", ac_class_name(d),
                d->fd);
    }
    ac__readwrite(d, revents);
    return 1;
}

/* The iteration's first dispatch: start its clock, then serve what the last
 * one left, in the order it was left, as far as the budget goes. Runs in
 * a frame. Returns how many were served. */
int ac__budget_begin(ac_map *map)
{
    ac_dispatcher **served;
    size_t i, keep;
    int done = 0;

    if (map->iter_epoch == map->epoch)
        return 0;
    map->iter_epoch = map->epoch;
    map->cut = false;
    map->iter_runs = 0;
    if (map->budget_ns)
        map->iter_start = ac__now_ns();
    for (i = 0; i < map->nserved; i++)
        if (map->served[i])
            map->served[i]->flags &= ~AC__F_SERVED;
    map->nserved = 0;
    for (i = 0; i < map->ndeferred && !(map->iter_runs && ac__budget_spent(map));
         i++) {
        ac_dispatcher *d = map->deferred[i].d;

        if (!d)
            continue;
        map->deferred[i].d = NULL;
        d->flags &= ~AC__F_DEFERRED;
        served = room(map->served, map->nserved + 1, &map->served_cap,
                      sizeof(*served));
        if (served) {
            map->served = served;
            map->served[map->nserved++] = d;
            d->flags |= AC__F_SERVED;
        }
        map->iter_runs++;
        ac__readwrite(d, map->deferred[i].revents);
        done++;
    }
    for (i = keep = 0; i < map->ndeferred; i++)
        if (map->deferred[i].d)
            map->deferred[keep++] = map->deferred[i];
    map->ndeferred = keep;
    return done;
}

/* The channel leaves the map: no entry may outlive it. */
void ac__budget_drop(ac_map *map, ac_dispatcher *d)
{
    size_t i;

    if (AC__FLAG(d, AC__F_DEFERRED))
        for (i = 0; i < map->ndeferred; i++)
            if (map->deferred[i].d == d)
                map->deferred[i].d = NULL;
    if (AC__FLAG(d, AC__F_SERVED))
        for (i = 0; i < map->nserved; i++)
            if (map->served[i] == d)
                map->served[i] = NULL;
    d->flags &= ~(AC__F_DEFERRED | AC__F_SERVED);
}

bool ac__budget_left(const ac_map *map)
{
    size_t i;

    for (i = 0; i < map->ndeferred; i++)
        if (map->deferred[i].d)
            return true;
    return false;
}

void ac__budget_free(ac_map *map)
{
    free(map->deferred);
    free(map->served);
    map->deferred = NULL;
    map->served = NULL;
    map->ndeferred = map->nserved = map->deferred_cap = map->served_cap = 0;
}
