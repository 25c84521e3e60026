/* libuv adapter: one uv_poll_t per watched channel, keyed by channel. */
#include <asyncore/uv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>

struct ac_uv {
    ac_map *map;
    uv_loop_t *loop;
    uv_prepare_t prepare;
    uv_check_t check;
    uv_timer_t timer;
    int open_handles; /* adapter handles not yet closed by libuv */
    bool detaching;
    ac_uv_detach_cb detach_cb;
    void *detach_data;
    unsigned long events, iterations;
};

typedef struct {
    uv_poll_t poll;
    ac_uv *a;
    int fd;
    int uv_events; /* what the poll handle waits for */
    bool closed;   /* unwatched: the handle is closing, the channel gone */
} watch;

static int to_uv(unsigned events)
{
    return ((events & AC_IN) ? UV_READABLE : 0) |
           ((events & AC_OUT) ? UV_WRITABLE : 0) |
           ((events & AC_PRI) ? UV_PRIORITIZED : 0);
}

static unsigned from_uv(int events)
{
    return ((events & UV_READABLE) ? AC_IN : 0u) |
           ((events & UV_WRITABLE) ? AC_OUT : 0u) |
           ((events & UV_PRIORITIZED) ? AC_PRI : 0u) |
           ((events & UV_DISCONNECT) ? AC_HUP : 0u);
}

static void maybe_finish_detach(ac_uv *a)
{
    if (a->detaching && a->open_handles == 0) {
        ac_uv_detach_cb cb = a->detach_cb;
        void *data = a->detach_data;
        free(a);
        if (cb)
            cb(data);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    watch *w = h->data;
    ac_uv *a = w->a;

    if (!a->map || w->closed)
        return;
    a->events++;
    if (status >= 0) {
        ac_map_dispatch(a->map, w->fd, from_uv(events));
        return;
    }
    /* libuv turns any POLLERR into UV_EBADF and stops the handle. Hand the
     * core an error condition instead: it reads SO_ERROR for the real
     * errno (a refused connect must say ECONNREFUSED). If the channel
     * survives, wait again. */
    ac_map_dispatch(a->map, w->fd, AC_ERR); /* d may be gone after it */
    if (a->map && !w->closed && w->uv_events)
        uv_poll_start(&w->poll, w->uv_events, on_poll);
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

static int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    ac_uv *a = data;
    watch *w = ac_get_host_data(d);
    int r;

    if (!w) {
        /* The map has a channel: keep the loop running, even if libuv
         * cannot poll this descriptor (EPERM for a regular file: the map
         * then delivers it as pending readiness, through our prepare). */
        uv_ref((uv_handle_t *)&a->prepare);
        w = calloc(1, sizeof(*w));
        if (!w)
            return -ENOMEM;
        r = uv_poll_init(a->loop, &w->poll, fd);
        if (r < 0) {
            free(w);
            return r;
        }
        /* liveness is the prepare handle's alone (ac_map_alive): the
         * map's call wake-up must not keep the loop running */
        uv_unref((uv_handle_t *)&w->poll);
        w->poll.data = w;
        w->a = a;
        w->fd = fd;
        ac_set_host_data(d, w);
    }
    /* libuv 1.44 aborts if epoll_ctl fails in its poll phase; a descriptor
     * closed behind the library's back must fail here instead. */
    if (events && fcntl(fd, F_GETFD) < 0)
        return -errno;
    w->uv_events = to_uv(events);
    if (!events)
        return uv_poll_stop(&w->poll); /* idle: keeps no reference either */
    return uv_poll_start(&w->poll, w->uv_events, on_poll);
}

/* Stopped synchronously (libuv removes the fd from epoll here), closed
 * asynchronously: the fd number is free for a new handle at once. */
static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    watch *w = ac_get_host_data(d);

    (void)data;
    (void)fd;
    if (!w)
        return;
    ac_set_host_data(d, NULL);
    w->closed = true;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, free_watch);
}

static void on_timer(uv_timer_t *t)
{
    (void)t; /* only ends the wait; the check callback runs what is due */
}

/* After every poll, whatever ended it (our deadline, a descriptor, or
 * nothing in UV_RUN_NOWAIT): what came due runs in this iteration. */
static void on_check(uv_check_t *c)
{
    ac_uv *a = c->data;

    if (a->map)
        ac_map_run_due(a->map);
}

static void on_prepare(uv_prepare_t *p)
{
    ac_uv *a = p->data;
    int due;

    if (!a->map)
        return;
    a->iterations++;
    ac_map_refresh(a->map); /* interest only: no handler runs here */
    if (!a->map)
        return;
    if (ac_map_alive(a->map))
        uv_ref((uv_handle_t *)&a->prepare);
    else
        uv_unref((uv_handle_t *)&a->prepare);
    due = ac_map_timeout(a->map);
    if (due >= 0) {
        /* libuv counts whole milliseconds from a cached "now", rounded
         * down: counted from the real now rounded up, the timer cannot
         * fire before the map's deadline (it would then find nothing due
         * and the step would end without running it) */
        uint64_t ms = 0;
        if (due > 0) {
            uv_update_time(a->loop);
            ms = (uv_hrtime() + 999999) / 1000000 - uv_now(a->loop);
        }
        uv_timer_start(&a->timer, on_timer, (uint64_t)due + ms, 0);
    } else {
        uv_timer_stop(&a->timer);
    }
}

/* A timer started while uv_run was not running: libuv must not find the
 * loop dead before our prepare sees the map alive. (The deadline itself is
 * set by the prepare, which runs before every poll.) */
static void on_wake(void *data)
{
    ac_uv *a = data;

    if (a->map)
        uv_ref((uv_handle_t *)&a->prepare);
}

/* The map is being freed or its hooks replaced: forget it. */
static void on_detached(void *data)
{
    ac_uv *a = data;

    a->map = NULL;
    uv_timer_stop(&a->timer);
    uv_unref((uv_handle_t *)&a->prepare);
}

static void handle_closed(uv_handle_t *h)
{
    ac_uv *a = h->data;

    a->open_handles--;
    maybe_finish_detach(a);
}

ac_uv *ac_uv_attach(ac_map *map, uv_loop_t *loop)
{
    ac_hooks hooks = {.watch = on_watch, .unwatch = on_unwatch,
                      .detached = on_detached, .wake = on_wake};
    ac_uv *a;
    int r;

    if (!map || !loop) {
        errno = EINVAL;
        return NULL;
    }
    a = calloc(1, sizeof(*a));
    if (!a) {
        errno = ENOMEM;
        return NULL;
    }
    a->map = map;
    a->loop = loop;
    uv_prepare_init(loop, &a->prepare);
    uv_check_init(loop, &a->check);
    uv_timer_init(loop, &a->timer);
    a->prepare.data = a->check.data = a->timer.data = a;
    a->open_handles = 3;
    uv_prepare_start(&a->prepare, on_prepare);
    uv_check_start(&a->check, on_check);
    /* the prepare's reference covers them */
    uv_unref((uv_handle_t *)&a->check);
    uv_unref((uv_handle_t *)&a->timer);
    if (!ac_map_alive(map))
        uv_unref((uv_handle_t *)&a->prepare);
    hooks.data = a;
    r = ac_map_set_hooks(map, &hooks);
    if (r < 0) {
        /* nothing was handed over: close our handles and go */
        a->map = NULL;
        a->detaching = true;
        uv_close((uv_handle_t *)&a->prepare, handle_closed);
        uv_close((uv_handle_t *)&a->check, handle_closed);
        uv_close((uv_handle_t *)&a->timer, handle_closed);
        errno = -r;
        return NULL;
    }
    return a;
}

int ac_uv_detach(ac_uv *a, ac_uv_detach_cb cb, void *data)
{
    int r;

    if (!a)
        return -EINVAL;
    if (a->detaching)
        return -EALREADY;
    if (a->map) {
        r = ac_map_set_hooks(a->map, NULL); /* unwatches, then on_detached */
        if (r < 0)
            return r;
    }
    a->detaching = true;
    a->detach_cb = cb;
    a->detach_data = data;
    uv_close((uv_handle_t *)&a->prepare, handle_closed);
    uv_close((uv_handle_t *)&a->check, handle_closed);
    uv_close((uv_handle_t *)&a->timer, handle_closed);
    return 0;
}

ac_map *ac_uv_map(const ac_uv *a)
{
    return a ? a->map : NULL;
}

unsigned long ac_uv_events(const ac_uv *a)
{
    return a ? a->events : 0;
}

unsigned long ac_uv_iterations(const ac_uv *a)
{
    return a ? a->iterations : 0;
}
