/* Debug mode (ac_map_set_debug, AC_DEBUG=1): slow handlers named, channels
 * left open at ac_map_free listed, calls from a thread other than the
 * map's reported once per call site, and the map's statistics. Off, it
 * costs one test of map->debug where it hooks in. */
#include "connect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS ((uint64_t)1000000)
#define SITES 64
/* loop delay: buckets by the bit length of the nanoseconds, each split in
 * SUB by the next bits: within 1/SUB of the true value */
#define SUB_BITS 3
#define SUB (1u << SUB_BITS)
#define BUCKETS (64 * SUB)

struct ac__debug {
    unsigned flags;
    uint64_t slow_ns;
    pthread_t owner;        /* the thread that created, then first ran it */
    bool ran;
    const void *sites[SITES]; /* wrong-thread call sites already told */
    size_t nsites;

    uint64_t since;         /* statistics began */
    uint64_t iterations;
    uint64_t busy_ns, frame_start, iter_busy;
    uint64_t wait_ns;       /* measured by ac_poll_once */
    bool hosted;            /* a host ran it: its waits are the host's */
    uint64_t slow;
    uint64_t delay_max, delay_n;
    uint32_t delay[BUCKETS];
};

static unsigned env_flags(unsigned *slow_ms)
{
    const char *v = getenv("AC_DEBUG"), *ms = getenv("AC_DEBUG_SLOW_MS");
    unsigned flags = 0;

    if (!v || !*v || strcmp(v, "0") == 0)
        return 0;
    /* "1" or anything unknown: everything; a list picks */
    if (strstr(v, "slow"))
        flags |= AC_DEBUG_SLOW;
    if (strstr(v, "unclosed"))
        flags |= AC_DEBUG_UNCLOSED;
    if (strstr(v, "thread"))
        flags |= AC_DEBUG_THREADS;
    if (strstr(v, "stats"))
        flags |= AC_DEBUG_STATS;
    *slow_ms = ms ? (unsigned)strtoul(ms, NULL, 10) : 0;
    return flags ? flags : AC_DEBUG_ALL;
}

void ac__debug_env(ac_map *map)
{
    unsigned slow_ms = 0, flags = env_flags(&slow_ms);

    if (flags && ac_map_set_debug(map, flags, slow_ms) < 0)
        ac__log(map, AC_LOG_WARNING, "AC_DEBUG: out of memory; debug off");
}

int ac_map_set_debug(ac_map *map, unsigned flags, unsigned slow_ms)
{
    struct ac__debug *g;

    if (!map || (flags & ~(unsigned)AC_DEBUG_ALL))
        return -EINVAL;
    if (map->depth > 0)
        return -EBUSY; /* a frame's clock would straddle the change */
    if (!flags) {
        free(map->debug);
        map->debug = NULL;
        return 0;
    }
    g = map->debug;
    if (!g) {
        g = calloc(1, sizeof(*g));
        if (!g)
            return -ENOMEM;
        g->owner = pthread_self();
        g->since = ac__now_ns();
        map->debug = g;
    }
    g->flags = flags;
    g->slow_ns = (slow_ms ? slow_ms : AC_DEBUG_SLOW_DEFAULT_MS) * NS_PER_MS;
    return 0;
}

unsigned ac_map_get_debug(const ac_map *map)
{
    return map && map->debug ? map->debug->flags : 0;
}

/* ---- slow handlers, timer callbacks and calls ---- */

uint64_t ac__debug_clock(const ac_map *map)
{
    return map->debug && (map->debug->flags & AC_DEBUG_SLOW) ? ac__now_ns()
                                                             : 0;
}

void ac__debug_after(ac_map *map, uint64_t t0, const ac_dispatcher *d,
                     const char *what, uintptr_t fn)
{
    struct ac__debug *g = map->debug;
    uint64_t took;
    char repr[AC_ADDRSTRLEN + 96];

    if (!t0 || !g)
        return;
    took = ac__now_ns() - t0;
    if (took < g->slow_ns)
        return;
    g->slow++;
    if (d)
        ac__log(map, AC_LOG_WARNING,
                "debug: slow handler: %s %s %s ran %" PRIu64
                " ms (fd %d; threshold %" PRIu64 " ms)",
                ac_class_name(d), ac_repr(d, repr, sizeof(repr)), what,
                took / NS_PER_MS, d->fd, g->slow_ns / NS_PER_MS);
    else
        ac__log(map, AC_LOG_WARNING,
                "debug: slow %s %#" PRIxPTR " ran %" PRIu64
                " ms (threshold %" PRIu64 " ms)",
                what, fn, took / NS_PER_MS, g->slow_ns / NS_PER_MS);
}

/* ---- channels left open ---- */

static void unclosed(ac_map *map, const ac_dispatcher *d)
{
    char repr[AC_ADDRSTRLEN + 96];

    ac__log(map, AC_LOG_WARNING,
            "debug: ac_map_free: channel still open: %s %s fd %d",
            ac_class_name(d), ac_repr(d, repr, sizeof(repr)), d->fd);
}

void ac__debug_free(ac_map *map)
{
    const ac_dispatcher *d;
    const struct ac__connect *c;
    size_t fd;

    if (map->debug->flags & AC_DEBUG_UNCLOSED) {
        for (fd = 0; fd < map->fds_cap; fd++)
            if ((d = map->fds[fd]) && !AC__FLAG(d, AC__F_INTERNAL))
                unclosed(map, d);
        for (c = map->naming; c; c = c->next) /* no descriptor yet */
            unclosed(map, c->d);
    }
    free(map->debug);
    map->debug = NULL;
}

/* ---- the wrong thread ---- */

void ac__debug_thread(ac_map *map, const char *func, const void *site)
{
    struct ac__debug *g = map->debug;
    size_t i;

    if (!(g->flags & AC_DEBUG_THREADS) || pthread_equal(g->owner, pthread_self()))
        return;
    /* racy by nature (we are on the wrong thread): the worst outcome is a
     * site told twice */
    for (i = 0; i < g->nsites; i++)
        if (g->sites[i] == site)
            return;
    if (g->nsites < SITES)
        g->sites[g->nsites++] = site;
    ac__log(map, AC_LOG_WARNING,
            "debug: %s called from a thread that does not run the map "
            "(call site %p); only ac_map_call() may be",
            func, site);
}

/* ---- statistics ---- */

static unsigned bucket(uint64_t ns)
{
    unsigned bits = 64 - (unsigned)__builtin_clzll(ns | 1);

    if (bits <= SUB_BITS)
        return (unsigned)ns;
    return (bits - SUB_BITS) * SUB +
           (unsigned)((ns >> (bits - 1 - SUB_BITS)) & (SUB - 1));
}

/* The largest value bucket `b` holds. */
static uint64_t bucket_top(unsigned b)
{
    unsigned bits = b / SUB + SUB_BITS, sub = b % SUB;

    if (b < 2 * SUB)
        return b;
    return ((uint64_t)(SUB + sub + 1) << (bits - 1 - SUB_BITS)) - 1;
}

void ac__debug_frame(ac_map *map, bool begin)
{
    struct ac__debug *g = map->debug;
    uint64_t now;

    if (!(g->flags & AC_DEBUG_STATS))
        return;
    now = ac__now_ns();
    if (begin) {
        g->frame_start = now;
    } else if (g->frame_start) {
        g->busy_ns += now - g->frame_start;
        g->iter_busy += now - g->frame_start;
        g->frame_start = 0;
    }
}

void ac__debug_iteration(ac_map *map)
{
    struct ac__debug *g = map->debug;

    if (!g->ran) { /* the map's thread is the one that runs it */
        g->ran = true;
        g->owner = pthread_self();
    }
    if (!(g->flags & AC_DEBUG_STATS))
        return;
    g->hosted |= map->hosted;
    if (g->iterations++) {
        g->delay[bucket(g->iter_busy)]++;
        g->delay_n++;
        if (g->iter_busy > g->delay_max)
            g->delay_max = g->iter_busy;
    }
    g->iter_busy = 0;
}

void ac__debug_waited(ac_map *map, uint64_t ns)
{
    map->debug->wait_ns += ns;
}

static uint64_t percentile(const struct ac__debug *g, unsigned pct)
{
    uint64_t want, seen = 0;
    unsigned b;

    if (!g->delay_n)
        return 0;
    want = (g->delay_n * pct + 99) / 100;
    for (b = 0; b < BUCKETS; b++) {
        seen += g->delay[b];
        if (seen >= want) {
            uint64_t top = bucket_top(b);
            return top < g->delay_max ? top : g->delay_max;
        }
    }
    return g->delay_max;
}

int ac_map_get_stats(const ac_map *map, ac_map_stats *st)
{
    const struct ac__debug *g;

    if (!map || !st)
        return -EINVAL;
    memset(st, 0, sizeof(*st));
    st->budget_cuts = map->budget_cuts;
    g = map->debug;
    if (!g || !(g->flags & AC_DEBUG_STATS))
        return -ENOTSUP;
    st->iterations = g->iterations;
    st->elapsed_ns = ac__now_ns() - g->since;
    st->busy_ns = g->busy_ns;
    if (g->frame_start) /* asked from a handler: the frame so far */
        st->busy_ns += ac__now_ns() - g->frame_start;
    /* a host's wait is its own: what the map did not use was the host's */
    st->wait_ns = g->hosted || map->hosted || !g->wait_ns
                      ? (st->elapsed_ns > st->busy_ns ? st->elapsed_ns - st->busy_ns : 0)
                      : g->wait_ns;
    st->slow = g->slow;
    st->delay_p50_ns = percentile(g, 50);
    st->delay_p99_ns = percentile(g, 99);
    st->delay_max_ns = g->delay_max;
    return 0;
}

int ac_map_reset_stats(ac_map *map)
{
    struct ac__debug *g;

    if (!map)
        return -EINVAL;
    g = map->debug;
    map->budget_cuts = 0;
    if (!g)
        return -ENOTSUP;
    g->since = ac__now_ns();
    g->iterations = g->busy_ns = g->iter_busy = g->wait_ns = g->slow = 0;
    g->delay_max = g->delay_n = 0;
    g->hosted = false;
    if (g->frame_start)
        g->frame_start = g->since;
    memset(g->delay, 0, sizeof(g->delay));
    return 0;
}
