/* sd-event adapter: an io source per channel or one on the map's epoll fd,
 * and a time source for the map's deadline whose prepare callback, run by
 * sd-event before every wait, refreshes the map (sdevent.h). */
#include <asyncore/sdevent.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct ac_sdevent {
    ac_map *map; /* NULL once the map is gone */
    sd_event *e;
    ac_sdevent_mode mode;
    sd_event_source *deadline, *backend;
};

/* CLOCK_MONOTONIC in microseconds, rounded up: sd-event compares its own
 * reading, rounded down, so a deadline counted from here cannot fire
 * before the map's timer is due. */
static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + ((uint64_t)ts.tv_nsec + 999) / 1000;
}

/* Before every wait: interest, then the deadline. No handler runs here. */
static int on_prepare(sd_event_source *s, void *data)
{
    ac_sdevent *a = data;
    int due;

    if (!a->map || ac_map_refresh(a->map) < 0 || !a->map)
        return 0;
    due = ac_map_timeout(a->map);
    sd_event_source_set_time(s, due < 0 ? UINT64_MAX
                                        : now_us() + (uint64_t)due * 1000u);
    return 0;
}

/* The deadline ended the wait (or something was due at once). */
static int on_deadline(sd_event_source *s, uint64_t usec, void *data)
{
    ac_sdevent *a = data;

    (void)usec;
    sd_event_source_set_time(s, UINT64_MAX); /* the next prepare re-arms */
    if (a->map)
        ac_map_run_due(a->map);
    return 0; /* (a negative return would disable the source) */
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
    ac_sdevent *a = data;

    (void)s;
    /* EPOLLIN... have poll(2)'s values, and so AC_IN... */
    if (a->map)
        ac_map_dispatch(a->map, fd,
                        revents & (AC_IN | AC_PRI | AC_OUT | AC_ERR | AC_HUP));
    return 0;
}

static int on_backend(sd_event_source *s, int fd, uint32_t revents, void *data)
{
    ac_sdevent *a = data;

    (void)s;
    (void)fd;
    (void)revents;
    if (a->map)
        ac_map_dispatch_ready(a->map);
    return 0;
}

static int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    ac_sdevent *a = data;
    sd_event_source *s = ac_get_host_data(d);
    int r;

    if (!s) {
        /* EPERM for a descriptor epoll refuses: the map delivers it as
         * pending readiness */
        if ((r = sd_event_add_io(a->e, &s, fd, events, on_io, a)) < 0)
            return r;
        ac_set_host_data(d, s);
    } else if ((r = sd_event_source_set_io_events(s, events)) < 0) {
        return r;
    }
    /* off while it wants nothing: epoll would still report hang-ups */
    return sd_event_source_set_enabled(s, events ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* Synchronous: the fd leaves sd-event's epoll set before it closes. */
static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    sd_event_source *s = ac_get_host_data(d);

    (void)data;
    (void)fd;
    ac_set_host_data(d, NULL);
    sd_event_source_disable_unref(s);
}

static void on_detached(void *data)
{
    ac_sdevent *a = data;

    a->map = NULL;
    /* the map's epoll fd closes with the map */
    a->backend = sd_event_source_disable_unref(a->backend);
    sd_event_source_set_time(a->deadline, UINT64_MAX);
}

static void release(ac_sdevent *a)
{
    sd_event_source_disable_unref(a->deadline);
    sd_event_source_disable_unref(a->backend);
    sd_event_unref(a->e);
    free(a);
}

ac_sdevent *ac_sdevent_attach(ac_map *map, sd_event *e, ac_sdevent_mode mode)
{
    ac_hooks hooks = {.detached = on_detached};
    int efd = map ? ac_map_backend_fd(map) : -1, r;
    ac_sdevent *a;

    if (!map || !e || (unsigned)mode > AC_SDEVENT_BACKEND_FD) {
        errno = EINVAL;
        return NULL;
    }
    if (mode == AC_SDEVENT_AUTO)
        mode = efd >= 0 ? AC_SDEVENT_BACKEND_FD : AC_SDEVENT_PER_FD;
    if (mode == AC_SDEVENT_BACKEND_FD && efd < 0) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        errno = ENOMEM;
        return NULL;
    }
    a->map = map;
    a->e = sd_event_ref(e);
    a->mode = mode;
    hooks.data = a;
    /* always on, so that its prepare runs before every wait */
    r = sd_event_add_time(e, &a->deadline, CLOCK_MONOTONIC, UINT64_MAX, 1,
                          on_deadline, a);
    if (r >= 0)
        r = sd_event_source_set_enabled(a->deadline, SD_EVENT_ON);
    if (r >= 0)
        r = sd_event_source_set_prepare(a->deadline, on_prepare);
    if (r >= 0 && mode == AC_SDEVENT_BACKEND_FD) {
        r = sd_event_add_io(e, &a->backend, efd, AC_IN, on_backend, a);
    } else {
        hooks.watch = on_watch;
        hooks.unwatch = on_unwatch;
    }
    if (r >= 0)
        r = ac_map_set_hooks(map, &hooks);
    if (r < 0) {
        release(a);
        errno = -r;
        return NULL;
    }
    return a;
}

int ac_sdevent_detach(ac_sdevent *a)
{
    int r;

    if (!a)
        return -EINVAL;
    if (a->map && (r = ac_map_set_hooks(a->map, NULL)) < 0)
        return r; /* unwatches every channel, then on_detached */
    release(a);
    return 0;
}

ac_map *ac_sdevent_map(const ac_sdevent *a)
{
    return a ? a->map : NULL;
}

ac_sdevent_mode ac_sdevent_get_mode(const ac_sdevent *a)
{
    return a ? a->mode : AC_SDEVENT_AUTO;
}
