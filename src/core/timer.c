/* Timers: a binary min-heap of embedded ac_timer per map, run after the
 * wait by ac_map_run_due(); what hosts learn through ac_map_timeout(). The
 * library's own deadlines (lingering close, paused listeners) are timers
 * too, marked internal: they never keep a loop alive. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* After EMFILE at accept, listeners pause until a channel of the map closes
 * or this long has passed: bounded retries instead of a busy spin. */
#define STARVE_MS 100

#define NS_PER_MS 1000000u

uint64_t ac__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ac__now_ms(void)
{
    return ac__now_ns() / NS_PER_MS;
}

static bool keeps_alive(const ac_timer *t)
{
    return !(t->flags & (AC__T_UNREF | AC__T_INTERNAL));
}

/* One more referenced timer; a host that stops when the map is not alive
 * hears when this makes it alive. */
static void count_ref(ac_map *map)
{
    bool was_alive = ac_map_alive(map);

    map->nref_timers++;
    if (!was_alive && map->hooks.wake) /* even from a handler: libuv */
        map->hooks.wake(map->hooks.data);
}

static void place(ac_map *map, size_t i, ac_timer *t)
{
    map->timers[i] = t;
    t->slot = (uint32_t)(i + 1);
}

static void sift_up(ac_map *map, size_t i)
{
    ac_timer *t = map->timers[i];

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
    ac_timer *t = map->timers[i];
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

static void heap_remove(ac_map *map, ac_timer *t)
{
    size_t i = t->slot - 1;
    ac_timer *last;

    t->slot = 0;
    if (keeps_alive(t))
        map->nref_timers--;
    last = map->timers[--map->ntimers];
    if (map->ntimers == 0 && map->timers_cap > 64) {
        /* a burst of timers is over: give its array back */
        free(map->timers);
        map->timers = NULL;
        map->timers_cap = 0;
        return;
    }
    if (last == t)
        return;
    map->timers[i] = last;
    if (i > 0 && map->timers[(i - 1) / 2]->due > last->due)
        sift_up(map, i);
    else
        sift_down(map, i);
}

static int heap_insert(ac_map *map, ac_timer *t)
{
    if (map->ntimers == UINT32_MAX - 1)
        return -ENOMEM;
    if (map->ntimers == map->timers_cap) {
        size_t cap = map->timers_cap ? map->timers_cap * 2 : 8;
        ac_timer **p = realloc(map->timers, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        map->timers = p;
        map->timers_cap = cap;
    }
    t->gen = map->timer_gen;
    if (keeps_alive(t))
        count_ref(map);
    map->timers[map->ntimers++] = t;
    sift_up(map, map->ntimers - 1);
    if (t->slot == 1 && !(t->flags & AC__T_INTERNAL))
        ac__wake_host(map); /* the earliest deadline moved: re-arm the host */
    return 0;
}

void ac__timer_stop(ac_map *map, ac_timer *t)
{
    if (t->slot)
        heap_remove(map, t);
}

int ac__timer_start(ac_map *map, ac_timer *t, uint64_t ms,
                    void (*fn)(ac_timer *t))
{
    ac__timer_stop(map, t);
    t->map = map;
    t->cb = fn;
    t->repeat = 0;
    t->flags |= AC__T_INTERNAL;
    t->due = ac__now_ns() + ms * NS_PER_MS;
    return heap_insert(map, t);
}

static void fire(ac_timer *t);

/* Runs inside a frame (ac_map_run_due). Each timer due now fires once:
 * one started (or restarted) by a callback during this pass waits for the
 * next, so a callback that restarts itself with 0 cannot spin here. */
int ac__timers_run(ac_map *map)
{
    uint64_t now;
    uint16_t gen;
    int fired = 0;

    if (!map->ntimers)
        return 0;
    now = ac__now_ns();
    gen = ++map->timer_gen;
    while (map->ntimers && map->timers[0]->due <= now &&
           map->timers[0]->gen != gen) {
        ac_timer *t = map->timers[0];
        heap_remove(map, t);
        fired++;
        if (t->flags & AC__T_INTERNAL) {
            t->cb(t);
        } else {
            uint64_t t0 = map->debug ? ac__debug_clock(map) : 0;
            uintptr_t cb = (uintptr_t)t->cb;
            fire(t); /* may free t */
            if (t0)
                ac__debug_after(map, t0, NULL, "timer callback", cb);
        }
    }
    return fired;
}

void ac__timers_stop_all(ac_map *map)
{
    while (map->ntimers)
        heap_remove(map, map->timers[map->ntimers - 1]);
}

int ac_map_timeout(const ac_map *map)
{
    uint64_t now, due, ms;

    if (!map)
        return -1;
    if (ac__pending_due(map) || (map->depth == 0 && ac__budget_left(map)))
        return 0;
    if (!map->ntimers)
        return -1;
    due = map->timers[0]->due;
    now = ac__now_ns();
    if (due <= now)
        return 0;
    /* rounded up: a host that wakes early only to sleep again is a
     * wasted wake-up */
    ms = (due - now + NS_PER_MS - 1) / NS_PER_MS;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* ---- the public timer ---- */

static void fire(ac_timer *t)
{
    if (t->repeat) {
        /* the next multiple of the period after now: no drift, no burst */
        uint64_t now = ac__now_ns();
        t->due += t->repeat;
        if (t->due <= now)
            t->due += ((now - t->due) / t->repeat + 1) * t->repeat;
        if (heap_insert(t->map, t) < 0)
            ac__log(t->map, AC_LOG_ERROR, "timer: out of memory; stopped");
    }
    t->cb(t); /* may stop, restart or free t */
}

int ac_timer_init(ac_timer *t, ac_map *map, ac_timer_cb cb, void *data)
{
    if (!t || !cb)
        return -EINVAL;
    if (!map)
        map = ac_map_default();
    if (!map)
        return -ENOMEM;
    *t = (ac_timer){.map = map, .cb = cb, .data = data};
    return 0;
}

int ac_timer_start(ac_timer *t, uint64_t timeout_ms, uint64_t repeat_ms)
{
    if (!t || !t->map || !t->cb || (t->flags & AC__T_INTERNAL))
        return -EINVAL;
    if (timeout_ms > UINT64_MAX / NS_PER_MS / 2 ||
        repeat_ms > UINT64_MAX / NS_PER_MS / 2)
        return -EINVAL;
    AC__THREAD_CHECK(t->map);
    ac__timer_stop(t->map, t);
    t->due = ac__now_ns() + timeout_ms * NS_PER_MS;
    t->repeat = repeat_ms * NS_PER_MS;
    return heap_insert(t->map, t);
}

int ac_timer_stop(ac_timer *t)
{
    if (!t || !t->map)
        return -EINVAL;
    AC__THREAD_CHECK(t->map);
    ac__timer_stop(t->map, t);
    return 0;
}

bool ac_timer_active(const ac_timer *t)
{
    return t && t->slot != 0;
}

uint64_t ac_timer_due_in(const ac_timer *t)
{
    uint64_t now;

    if (!t || !t->slot)
        return 0;
    now = ac__now_ns();
    return t->due <= now ? 0 : (t->due - now + NS_PER_MS - 1) / NS_PER_MS;
}

void *ac_timer_data(const ac_timer *t)
{
    return t ? t->data : NULL;
}

void ac_timer_set_ref(ac_timer *t, bool ref)
{
    bool before;

    if (!t || !t->map || (t->flags & AC__T_INTERNAL))
        return;
    before = keeps_alive(t);
    if (ref)
        t->flags &= ~AC__T_UNREF;
    else
        t->flags |= AC__T_UNREF;
    if (t->slot && before != keeps_alive(t)) {
        if (before)
            t->map->nref_timers--;
        else
            count_ref(t->map);
    }
}

/* ---- paused listeners (D-01) ---- */

static void starve_over(ac_timer *t)
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
