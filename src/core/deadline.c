/* Deadlines on a channel: read idle, write stall and a deadline the program
 * sets. A channel that has one carries AC__F_TIMED and a record in its
 * map's table (the channel struct is public: no room in it). Bytes that
 * meet the socket only stamp the record; its one timer is armed for the
 * earliest expiry that could be due and, when it fires early because
 * bytes moved meanwhile, armed again for the new one - never per byte. */
#include "internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define NS_PER_MS 1000000ull

enum { READ_IDLE = 1, WRITE_STALL = 2, DEADLINE = 4 };

struct ac__timed {
    ac_dispatcher *d;
    ac_timer timer;
    unsigned on;           /* READ_IDLE | WRITE_STALL | DEADLINE */
    uint64_t read_idle_ns, write_stall_ns;
    uint64_t last_in;      /* the last read that brought bytes, or the set */
    uint64_t last_out;     /* the last write the socket took (some of) */
    bool watching;         /* output may wait: stalls are looked for */
    long unsent;           /* the socket's unsent bytes at the last look */
    uint64_t written;      /* bytes the socket took since that look */
    uint64_t deadline;     /* absolute */
};

/* ---- the map's table: open addressing by the channel's address ---- */

static size_t home(const ac_dispatcher *d, size_t cap)
{
    return (size_t)((uint64_t)(uintptr_t)d * 0x9E3779B97F4A7C15ull >> 32) &
           (cap - 1);
}

static ac__timed *find(const ac_map *map, const ac_dispatcher *d)
{
    size_t i, mask = map->timed_cap - 1;

    for (i = home(d, map->timed_cap); map->timed[i]; i = (i + 1) & mask)
        if (map->timed[i]->d == d)
            return map->timed[i];
    return NULL;
}

static void place(ac__timed **tab, size_t cap, ac__timed *t)
{
    size_t i = home(t->d, cap);

    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = t;
}

/* Kept at most half full: probes stay short. */
static int insert(ac_map *map, ac__timed *t)
{
    if (2 * (map->ntimed + 1) > map->timed_cap) {
        size_t cap = map->timed_cap ? 2 * map->timed_cap : 16, i;
        ac__timed **tab = calloc(cap, sizeof(*tab));

        if (!tab)
            return -ENOMEM;
        for (i = 0; i < map->timed_cap; i++)
            if (map->timed[i])
                place(tab, cap, map->timed[i]);
        free(map->timed);
        map->timed = tab;
        map->timed_cap = cap;
    }
    place(map->timed, map->timed_cap, t);
    map->ntimed++;
    return 0;
}

/* Removal by backward shift: the records after it that probed past its
 * slot move up, so every lookup still finds its record. */
static void erase(ac_map *map, const ac__timed *t)
{
    size_t mask = map->timed_cap - 1, i = home(t->d, map->timed_cap), j, k;

    while (map->timed[i] != t)
        i = (i + 1) & mask;
    map->timed[i] = NULL;
    for (j = (i + 1) & mask; map->timed[j]; j = (j + 1) & mask) {
        k = home(map->timed[j]->d, map->timed_cap);
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            map->timed[i] = map->timed[j];
            map->timed[j] = NULL;
            i = j;
        }
    }
    map->ntimed--;
}

/* ---- expiry ---- */

/* The earliest moment one of the record's deadlines could be due. */
static uint64_t next_due(const ac__timed *t)
{
    uint64_t due = UINT64_MAX;

    if ((t->on & READ_IDLE) && t->last_in + t->read_idle_ns < due)
        due = t->last_in + t->read_idle_ns;
    if ((t->on & WRITE_STALL) && t->watching &&
        t->last_out + t->write_stall_ns < due)
        due = t->last_out + t->write_stall_ns;
    if ((t->on & DEADLINE) && t->deadline < due)
        due = t->deadline;
    return due;
}

static void arm(ac__timed *t, uint64_t now)
{
    uint64_t due = next_due(t);

    if (due == UINT64_MAX) {
        ac_timer_stop(&t->timer);
        return;
    }
    /* whole milliseconds, rounded up: never before its time */
    ac_timer_start(&t->timer,
                   due > now ? (due - now + NS_PER_MS - 1) / NS_PER_MS : 0, 0);
}

/* What the socket holds now: the baseline of the next look. */
static void look(ac__timed *t, long unsent)
{
    t->unsent = unsent;
    t->written = 0;
}

/* A full socket whose peer still takes bytes is not stalled: a reader of
 * a few KB/s frees room in the kernel's buffer (megabytes on loopback)
 * too slowly to let a send through within the stall's time. Where the
 * system tells how many bytes the socket holds, fewer than at the last
 * look is progress; elsewhere only bytes the socket accepted are. */
static bool stall_moved(ac__timed *t)
{
    long n = ac__unsent(t->d->fd);
    bool moved = n >= 0 && t->unsent >= 0 &&
                 (uint64_t)t->unsent + t->written > (uint64_t)n;

    look(t, n);
    return moved;
}

static void expired(ac_timer *timer)
{
    ac__timed *t = ac_timer_data(timer);
    ac_dispatcher *d = t->d;
    uint64_t now = ac__now_ns();
    unsigned due = 0;

    if ((t->on & DEADLINE) && t->deadline <= now)
        due |= DEADLINE;
    if ((t->on & WRITE_STALL) && t->watching) {
        if (!(d->watched & AC_OUT))
            t->watching = false; /* no output waits: until the next write */
        else if (stall_moved(t))
            t->last_out = now; /* the peer takes bytes, slowly */
        else if (t->last_out + t->write_stall_ns <= now)
            due |= WRITE_STALL;
    }
    if ((t->on & READ_IDLE) && t->last_in + t->read_idle_ns <= now)
        due |= READ_IDLE;
    t->on &= ~due; /* each fires once */
    arm(t, now);
    /* the handler may close the channel (and free t): d only from here */
    if (due & DEADLINE)
        ac_handle_error(d, ETIMEDOUT, "deadline");
    if ((due & WRITE_STALL) && !ac_closed(d))
        ac_handle_error(d, ETIMEDOUT, "write stall");
    if ((due & READ_IDLE) && !ac_closed(d))
        ac_handle_error(d, ETIMEDOUT, "read idle");
}

/* ---- the channel's side ---- */

/* The channel's record, made on first use: NULL without memory. */
static ac__timed *record(ac_dispatcher *d)
{
    ac__timed *t;

    if (AC__FLAG(d, AC__F_TIMED))
        return find(d->map, d);
    if (!(t = calloc(1, sizeof(*t))))
        return NULL;
    t->d = d;
    ac_timer_init(&t->timer, d->map, expired, t);
    ac_timer_set_ref(&t->timer, false); /* the channel keeps the loop */
    if (insert(d->map, t) < 0) {
        free(t);
        return NULL;
    }
    d->flags |= AC__F_TIMED;
    return t;
}

static int set(ac_dispatcher *d, unsigned kind, uint64_t ms)
{
    uint64_t now = ac__now_ns();
    ac__timed *t;

    if (!d || !d->map)
        return -EINVAL;
    /* open, or connecting by name (a deadline for connect and handshake) */
    if (AC__FLAG(d, AC__F_CLOSED) || AC__UNOPENED(d))
        return -EBADF;
    if (!ms && !AC__FLAG(d, AC__F_TIMED))
        return 0; /* nothing to clear */
    if (!(t = record(d)))
        return -ENOMEM;
    if (!ms) {
        t->on &= ~kind;
    } else {
        t->on |= kind;
        if (kind == READ_IDLE) {
            t->read_idle_ns = ms * NS_PER_MS;
            t->last_in = now;
        } else if (kind == WRITE_STALL) {
            t->write_stall_ns = ms * NS_PER_MS;
            /* output already waiting: counted from now */
            t->watching = (d->watched & AC_OUT) != 0;
            t->last_out = now;
            look(t, ac__unsent(d->fd));
        } else {
            t->deadline = now + ms * NS_PER_MS;
        }
    }
    arm(t, now);
    return 0;
}

int ac_set_read_idle(ac_dispatcher *d, uint64_t ms)
{
    return set(d, READ_IDLE, ms);
}

int ac_set_write_stall(ac_dispatcher *d, uint64_t ms)
{
    return set(d, WRITE_STALL, ms);
}

int ac_set_deadline(ac_dispatcher *d, uint64_t ms)
{
    return set(d, DEADLINE, ms);
}

void ac__timed_in(ac_dispatcher *d)
{
    ac__timed *t = find(d->map, d);

    if (t->on & READ_IDLE)
        t->last_in = ac__now_ns();
}

void ac__timed_out(ac_dispatcher *d, ssize_t n)
{
    ac__timed *t = find(d->map, d);

    if (!(t->on & WRITE_STALL) || (n < 0 && n != -EAGAIN))
        return; /* no stall to watch; an error ends the channel anyway */
    if (n > 0 || !t->watching)
        t->last_out = ac__now_ns();
    if (n > 0)
        t->written += (uint64_t)n;
    if (!t->watching) {
        /* output is being written: from now on a stall may come (a socket
         * can fill without ever refusing a write: the channel then waits
         * for room, and the expiry sees it) */
        t->watching = true;
        look(t, ac__unsent(d->fd));
        arm(t, t->last_out);
    }
}

void ac__timed_drop(ac_dispatcher *d)
{
    ac__timed *t = find(d->map, d);

    ac_timer_stop(&t->timer);
    erase(d->map, t);
    free(t);
    d->flags &= ~AC__F_TIMED;
}

void ac__timed_free(ac_map *map)
{
    free(map->timed);
    map->timed = NULL;
    map->timed_cap = map->ntimed = 0;
}
