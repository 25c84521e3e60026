/* libevent adapter: an event per channel (keyed by channel) or one on the
 * map's epoll fd, a timer event for the map's deadline, and a zero-delay
 * "kick" event for the refreshes libevent has no hook for (event.h). */
#include <asyncore/event.h>
#include <errno.h>
#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "ac_config.h"
#if AC_HAVE_EPOLL
#include <sys/epoll.h>
#endif

typedef struct watch watch;

struct ac_event {
    ac_map *map;
    struct event_base *base;
    ac_event_mode mode;
    struct event *deadline, *kick, *backend;
    watch *owns;           /* PER_FD: the map's own channels' watches */
    bool live;             /* our events are pending: the map is alive */
    int probe_fd;          /* an epoll fd to ask "can epoll wait on it?" */
    uint64_t armed_ns;     /* when `deadline` fires, while it is pending */
    unsigned long refreshes, events;
};

struct watch {
    ac_event *a;
    struct event *ev;
    bool armed; /* ev waits for something */
    bool own;   /* the map's own channel (its call wake-up, a connect
                 * attempt): pending only while the map lives */
    watch *prev, *next; /* a->owns */
};

/* Every own channel's event, not only the call wake-up's: which of them
 * is which cannot be told from the descriptors' order (a connect attempt
 * made before the map was attached may have the lower number). */
static void set_live(ac_event *a, bool live)
{
    watch *w;

    if (live != a->live) {
        if (a->mode == AC_EVENT_BACKEND_FD) {
            if (a->backend)
                live ? event_add(a->backend, NULL) : event_del(a->backend);
        } else {
            for (w = a->owns; w; w = w->next)
                if (w->armed)
                    live ? event_add(w->ev, NULL) : event_del(w->ev);
        }
    }
    a->live = live;
}

/* How far libevent's clock runs behind CLOCK_MONOTONIC, in microseconds:
 * it reads CLOCK_MONOTONIC_COARSE (a tick behind) unless the base was made
 * with EVENT_BASE_FLAG_PRECISE_TIMER. A deadline counted from its "now"
 * without this fires before the map's timer is due. */
static long clock_lag_us(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec fine, coarse;
    long lag;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse);
    clock_gettime(CLOCK_MONOTONIC, &fine);
    lag = (long)(fine.tv_sec - coarse.tv_sec) * 1000000L +
          (fine.tv_nsec - coarse.tv_nsec + 999) / 1000;
    return lag > 0 ? lag : 0;
#else
    return 0;
#endif
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void arm(ac_event *a)
{
    int due = ac_map_timeout(a->map);

    if (due >= 0 && a->live) {
        uint64_t want = mono_ns() + (uint64_t)due * 1000000u;
        long us = (long)due * 1000L;
        struct timeval tv;

        /* already set to fire by then: left alone. Adding it again takes
         * a due (active) deadline off libevent's active queue, so a
         * channel busy in every iteration kept the map's timers from
         * running. */
        if (evtimer_pending(a->deadline, NULL) && a->armed_ns <= want)
            return;
        if (due > 0) { /* "now" cached at the last wake-up is stale too */
            event_base_update_cache_time(a->base);
            us += clock_lag_us();
        }
        tv.tv_sec = us / 1000000L;
        tv.tv_usec = us % 1000000L;
        evtimer_add(a->deadline, &tv);
        a->armed_ns = want;
    } else {
        evtimer_del(a->deadline);
    }
}

/* After every callback of ours, before libevent next waits. */
static void refresh(ac_event *a)
{
    if (!a->map)
        return;
    event_del(a->kick); /* this is the refresh it asked for */
    if (ac_map_refresh(a->map) == -EBUSY)
        return;
    a->refreshes++;
    if (!a->map) /* a predicate freed the map */
        return;
    set_live(a, ac_map_alive(a->map));
    arm(a);
}

/* The deadline ended the wait: run what is due in this callback (the step
 * it woke), then refresh. Something due at once (pending readiness) gets
 * the deadline at 0, so it too runs in a callback EVLOOP_ONCE counts. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    ac_event *a = arg;

    (void)fd;
    (void)what;
    if (a->map && ac_map_run_due(a->map) == -EBUSY)
        return; /* a nested loop inside one of the map's handlers */
    refresh(a);
}

/* A refresh asked for outside our callbacks (a channel or timer made from
 * main()): the map's work before the wait, never a handler. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    refresh(arg);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    ac_event *a = ((watch *)arg)->a; /* the watch may go in the dispatch */

    if (!a->map)
        return;
    a->events++;
    ac_map_dispatch(a->map, (int)fd,
                    ((what & EV_READ) ? AC_IN : 0u) |
                        ((what & EV_WRITE) ? AC_OUT : 0u));
    refresh(a);
}

static void on_backend(evutil_socket_t fd, short what, void *arg)
{
    ac_event *a = arg;
    int n;

    (void)fd;
    (void)what;
    if (!a->map)
        return;
    n = ac_map_dispatch_ready(a->map);
    if (n > 0)
        a->events += (unsigned long)n;
    refresh(a);
}

static void on_wake(void *data)
{
    ac_event *a = data;

    set_live(a, true);
    event_active(a->kick, 0, 0); /* refresh once this callback is over */
}

/* libevent logs a warning when epoll refuses a descriptor (a regular
 * file, /dev/null): ask first, and let the map treat it as always ready. */
static bool pollable(ac_event *a, int fd)
{
    struct stat st;

    if (fstat(fd, &st) < 0 || S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
        return true;
#if AC_HAVE_EPOLL
    struct epoll_event ev = {.events = EPOLLIN};

    if (a->probe_fd < 0 && (a->probe_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return true;
    if (epoll_ctl(a->probe_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return errno != EPERM;
    epoll_ctl(a->probe_fd, EPOLL_CTL_DEL, fd, NULL);
    return true;
#else
    /* nothing to ask: files, directories and disks, which epoll refuses
     * and poll(2) calls always ready, are always ready whatever libevent
     * waits with (its kqueue would watch a file's end instead) */
    (void)a;
    return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
           !S_ISBLK(st.st_mode);
#endif
}

static int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    ac_event *a = data;
    watch *w = ac_get_host_data(d);
    short what = (short)(((events & (AC_IN | AC_PRI)) ? EV_READ : 0) |
                         ((events & AC_OUT) ? EV_WRITE : 0));

    if (!w) {
        if (!pollable(a, fd))
            return -EPERM; /* the map delivers it as pending readiness */
        if (!(w = calloc(1, sizeof(*w))))
            return -ENOMEM;
        w->a = a;
        w->own = ac_map_get(a->map, fd) != d;
        if (w->own) {
            w->next = a->owns;
            if (a->owns)
                a->owns->prev = w;
            a->owns = w;
        }
        ac_set_host_data(d, w);
        on_wake(a); /* a pulled channel gets its interest at a refresh */
    }
    /* one event per channel, reassigned (not reallocated) when what it
     * waits for changes: with_send toggles writing on every burst */
    if (w->ev)
        event_del(w->ev);
    w->armed = false;
    if (!what)
        return 0;
    if (!w->ev) {
        if (!(w->ev = event_new(a->base, fd, what | EV_PERSIST, on_io, w)))
            return -ENOMEM;
    } else {
        event_assign(w->ev, a->base, fd, what | EV_PERSIST, on_io, w);
    }
    w->armed = true;
    if ((!w->own || a->live) && event_add(w->ev, NULL) < 0)
        return errno ? -errno : -EIO;
    return 0;
}

static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    ac_event *a = data;
    watch *w = ac_get_host_data(d);

    (void)fd;
    if (!w)
        return;
    ac_set_host_data(d, NULL);
    if (w->own) {
        if (w->prev)
            w->prev->next = w->next;
        else
            a->owns = w->next;
        if (w->next)
            w->next->prev = w->prev;
    }
    if (w->ev)
        event_free(w->ev);
    free(w);
}

static void on_detached(void *data)
{
    ((ac_event *)data)->map = NULL;
}

static void free_events(ac_event *a)
{
    if (a->probe_fd >= 0)
        close(a->probe_fd);
    if (a->deadline)
        event_free(a->deadline);
    if (a->kick)
        event_free(a->kick);
    if (a->backend)
        event_free(a->backend);
    free(a);
}

ac_event *ac_event_attach(ac_map *map, struct event_base *base,
                          ac_event_mode mode)
{
    ac_hooks hooks = {.unwatch = on_unwatch, .detached = on_detached,
                      .wake = on_wake};
    int efd = map ? ac_map_backend_fd(map) : -1, r;
    ac_event *a;

    if (!map || !base || (unsigned)mode > AC_EVENT_BACKEND_FD) {
        errno = EINVAL;
        return NULL;
    }
    if (mode == AC_EVENT_AUTO)
        mode = efd >= 0 ? AC_EVENT_BACKEND_FD : AC_EVENT_PER_FD;
    if (mode == AC_EVENT_BACKEND_FD && efd < 0) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        errno = ENOMEM;
        return NULL;
    }
    a->map = map;
    a->base = base;
    a->mode = mode;
    a->probe_fd = -1;
    a->deadline = evtimer_new(base, on_timer, a);
    a->kick = event_new(base, -1, 0, on_kick, a);
    /* The kick is the "before the wait" phase libevent 2.1 lacks: marked
     * internal (as libevent marks its own signal and notify events), it
     * does not end an EVLOOP_ONCE iteration, so the iteration goes on to
     * wait for what the refresh armed and returns after running it. */
    if (a->kick)
        a->kick->ev_evcallback.evcb_flags |= EVLIST_INTERNAL;
    if (mode == AC_EVENT_BACKEND_FD)
        a->backend = event_new(base, efd, EV_READ | EV_PERSIST, on_backend, a);
    else
        hooks.watch = on_watch;
    hooks.data = a;
    if (!a->deadline || !a->kick || (mode == AC_EVENT_BACKEND_FD && !a->backend)) {
        free_events(a);
        errno = ENOMEM;
        return NULL;
    }
    if ((r = ac_map_set_hooks(map, &hooks)) < 0) {
        free_events(a);
        errno = -r;
        return NULL;
    }
    on_wake(a); /* the first refresh, before the first wait */
    return a;
}

int ac_event_detach(ac_event *a)
{
    int r;

    if (!a)
        return -EINVAL;
    if (a->map && (r = ac_map_set_hooks(a->map, NULL)) < 0)
        return r; /* unwatches every channel, then on_detached */
    free_events(a);
    return 0;
}

void ac_event_refresh(ac_event *a)
{
    if (a)
        refresh(a);
}

ac_map *ac_event_map(const ac_event *a)
{
    return a ? a->map : NULL;
}

ac_event_mode ac_event_get_mode(const ac_event *a)
{
    return a ? a->mode : AC_EVENT_AUTO;
}

unsigned long ac_event_refreshes(const ac_event *a)
{
    return a ? a->refreshes : 0;
}

unsigned long ac_event_events(const ac_event *a)
{
    return a ? a->events : 0;
}
