/* The map's deadlines: a binary min-heap of embedded timers, run by
 * ac_map_refresh(); what hosts learn through ac_map_timeout(). */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* After EMFILE at accept, listeners pause until a channel of the map closes
 * or this long has passed: bounded retries instead of a busy spin. */
#define STARVE_MS 100

uint64_t ac__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void place(ac_map *map, size_t i, ac__timer *t)
{
    map->timers[i] = t;
    t->slot = i + 1;
}

static void sift_up(ac_map *map, size_t i)
{
    ac__timer *t = map->timers[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (map->timers[parent]->due <= t->due)
            break;
        place(map, i, map->timers[parent]);
        i = parent;
    }
    place(map, i, t);
}

static void sift_down(ac_map *map, size_t i)
{
    ac__timer *t = map->timers[i];
    size_t n = map->ntimers;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && map->timers[c + 1]->due < map->timers[c]->due)
            c++;
        if (t->due <= map->timers[c]->due)
            break;
        place(map, i, map->timers[c]);
        i = c;
    }
    place(map, i, t);
}

void ac__timer_stop(ac_map *map, ac__timer *t)
{
    size_t i;
    ac__timer *last;

    if (!t->slot)
        return;
    i = t->slot - 1;
    t->slot = 0;
    last = map->timers[--map->ntimers];
    if (last == t)
        return;
    map->timers[i] = last;
    if (i > 0 && map->timers[(i - 1) / 2]->due > last->due)
        sift_up(map, i);
    else
        sift_down(map, i);
}

int ac__timer_start(ac_map *map, ac__timer *t, uint64_t ms,
                    void (*fn)(ac__timer *t))
{
    ac__timer_stop(map, t);
    if (map->ntimers == map->timers_cap) {
        size_t cap = map->timers_cap ? map->timers_cap * 2 : 8;
        ac__timer **p = realloc(map->timers, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        map->timers = p;
        map->timers_cap = cap;
    }
    t->due = ac__now_ms() + ms;
    t->fn = fn;
    map->timers[map->ntimers++] = t;
    sift_up(map, map->ntimers - 1);
    return 0;
}

/* Runs inside a frame (ac__refresh): a callback may start or stop any
 * timer, and each one due now runs once. */
void ac__timers_run(ac_map *map)
{
    uint64_t now = ac__now_ms();

    while (map->ntimers && map->timers[0]->due <= now) {
        ac__timer *t = map->timers[0];
        ac__timer_stop(map, t);
        t->fn(t);
    }
}

int ac_map_timeout(const ac_map *map)
{
    uint64_t now, due;

    if (!map)
        return -1;
    if (ac__pending_due(map))
        return 0;
    if (!map->ntimers)
        return -1;
    due = map->timers[0]->due;
    now = ac__now_ms();
    return due <= now ? 0 : (int)(due - now > 0x7fffffff ? 0x7fffffff : due - now);
}

/* ---- paused listeners (D-01) ---- */

static void starve_over(ac__timer *t)
{
    ac_map *map = AC_CONTAINER_OF(t, ac_map, starve);
    ac__unstarve(map);
}

void ac__starve(ac_dispatcher *d)
{
    ac_map *map = d->map;

    if (!map->starved) {
        if (ac__timer_start(map, &map->starve, STARVE_MS, starve_over) < 0)
            return; /* no retry could be scheduled: do not pause */
        map->starved = true;
    }
    d->flags |= AC__F_STARVED;
    if (AC__FLAG(d, AC__F_DECLARED))
        ac__update_interest(d);
}

void ac__unstarve(ac_map *map)
{
    size_t fd;

    map->starved = false;
    ac__timer_stop(map, &map->starve);
    for (fd = 0; fd < map->fds_cap; fd++) {
        ac_dispatcher *d = map->fds[fd];
        if (d && AC__FLAG(d, AC__F_STARVED)) {
            d->flags &= ~AC__F_STARVED;
            ac__update_interest(d);
        }
    }
}
