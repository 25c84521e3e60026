/* libev adapter: an ev_io per channel or one on the map's epoll fd, an
 * ev_prepare that refreshes, an ev_timer (or, when something is due at
 * once, an ev_idle) that bounds the wait, an ev_check that runs what came
 * due (ev.h). Only the prepare keeps the loop alive, while the map is. */
#include <asyncore/ev.h>
#include <errno.h>
#include <stdlib.h>

typedef struct watch {
    ev_io io;
    struct ac_ev *a;
    struct watch *next_held; /* stopped inside a nested loop */
    bool held;
} watch;

struct ac_ev {
    ac_map *map; /* NULL once the map is gone */
    struct ev_loop *loop;
    ac_ev_mode mode;
    ev_prepare prepare;
    ev_check check;
    ev_timer deadline;
    ev_idle now;
    watch backend;
    bool alive;   /* the prepare counts as a reference */
    int busy;     /* inside the map's work */
    watch *held;
    unsigned long iterations;
};

/* The adapter's watchers other than the prepare do not keep the loop
 * running (libev's rule: unref after start, ref before stop). */
static void quiet_start(ac_ev *a, ev_watcher *w, int kind)
{
    if (kind == EV_IO)
        ev_io_start(a->loop, (ev_io *)w);
    else if (kind == EV_TIMER)
        ev_timer_start(a->loop, (ev_timer *)w);
    else if (kind == EV_IDLE)
        ev_idle_start(a->loop, (ev_idle *)w);
    else
        ev_check_start(a->loop, (ev_check *)w);
    ev_unref(a->loop);
}

static void quiet_stop(ac_ev *a, ev_watcher *w, int kind)
{
    if (!ev_is_active(w))
        return;
    ev_ref(a->loop);
    if (kind == EV_IO)
        ev_io_stop(a->loop, (ev_io *)w);
    else if (kind == EV_TIMER)
        ev_timer_stop(a->loop, (ev_timer *)w);
    else if (kind == EV_IDLE)
        ev_idle_stop(a->loop, (ev_idle *)w);
    else
        ev_check_stop(a->loop, (ev_check *)w);
}

static void set_alive(ac_ev *a, bool alive)
{
    if (alive != a->alive) {
        if (alive)
            ev_ref(a->loop);
        else
            ev_unref(a->loop);
    }
    a->alive = alive;
}

/* Run the map's work; a nested ev_run inside it finds busy and holds the
 * watchers that fire, which start again once the work is over. */
static void release_held(ac_ev *a)
{
    while (a->held) {
        watch *w = a->held;
        a->held = w->next_held;
        w->held = false;
        if (w->io.events & (EV_READ | EV_WRITE))
            quiet_start(a, (ev_watcher *)&w->io, EV_IO);
    }
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
    watch *w = (watch *)io;
    ac_ev *a = w->a;

    (void)loop;
    if (!a->map)
        return;
    if (a->busy) {
        quiet_stop(a, (ev_watcher *)io, EV_IO);
        w->held = true;
        w->next_held = a->held;
        a->held = w;
        return;
    }
    a->busy++;
    if (w == &a->backend)
        ac_map_dispatch_ready(a->map);
    else
        ac_map_dispatch(a->map, io->fd,
                        ((revents & EV_READ) ? AC_IN : 0u) |
                            ((revents & EV_WRITE) ? AC_OUT : 0u));
    if (--a->busy == 0)
        release_held(a);
}

/* Before the wait: interest, then what bounds the wait. */
static void on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
    ac_ev *a = p->data;
    int due;

    (void)revents;
    a->iterations++;
    if (!a->map || ac_map_refresh(a->map) < 0 || !a->map)
        return; /* gone, or a nested loop inside one of its handlers */
    set_alive(a, ac_map_alive(a->map));
    due = ac_map_timeout(a->map);
    quiet_stop(a, (ev_watcher *)&a->deadline, EV_TIMER);
    if (due == 0 && !ev_is_active(&a->now)) /* due already: do not sleep */
        quiet_start(a, (ev_watcher *)&a->now, EV_IDLE);
    if (due != 0)
        quiet_stop(a, (ev_watcher *)&a->now, EV_IDLE);
    if (due > 0) {
        /* counted from a fresh "now", so it cannot end the wait before
         * the map's timer is due */
        ev_now_update(loop);
        ev_timer_set(&a->deadline, due / 1e3, 0.);
        quiet_start(a, (ev_watcher *)&a->deadline, EV_TIMER);
    }
}

/* After every wait, whatever ended it. */
static void on_check(struct ev_loop *loop, ev_check *c, int revents)
{
    ac_ev *a = c->data;

    (void)loop;
    (void)revents;
    if (a->map && !a->busy) {
        a->busy++;
        ac_map_run_due(a->map);
        if (--a->busy == 0)
            release_held(a);
    }
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_ref(loop); /* libev stopped it: balance the unref of its start */
}

static void on_idle(struct ev_loop *loop, ev_idle *i, int revents)
{
    (void)loop;
    (void)i;
    (void)revents; /* only keeps the wait short; the check does the work */
}

static void unhold(ac_ev *a, watch *w)
{
    watch **p;

    for (p = &a->held; *p; p = &(*p)->next_held)
        if (*p == w) {
            *p = w->next_held;
            break;
        }
    w->held = false;
}

static int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    ac_ev *a = data;
    watch *w = ac_get_host_data(d);
    int what = ((events & (AC_IN | AC_PRI)) ? EV_READ : 0) |
               ((events & AC_OUT) ? EV_WRITE : 0);

    if (!w) {
        if (!(w = calloc(1, sizeof(*w))))
            return -ENOMEM;
        w->a = a;
        ev_io_init(&w->io, on_io, fd, 0);
        ac_set_host_data(d, w);
        set_alive(a, true); /* a channel: the loop has work until prepare */
    }
    if (w->held) /* it starts again after the outer handler, if wanted */
        unhold(a, w);
    quiet_stop(a, (ev_watcher *)&w->io, EV_IO);
    ev_io_set(&w->io, fd, what);
    if (what)
        quiet_start(a, (ev_watcher *)&w->io, EV_IO);
    return 0;
}

/* Synchronous: libev forgets the fd before it closes. */
static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    ac_ev *a = data;
    watch *w = ac_get_host_data(d);

    (void)fd;
    if (!w)
        return;
    ac_set_host_data(d, NULL);
    if (w->held)
        unhold(a, w);
    quiet_stop(a, (ev_watcher *)&w->io, EV_IO);
    free(w);
}

static void on_wake(void *data)
{
    ac_ev *a = data;

    if (a->map)
        set_alive(a, true); /* made alive outside ev_run: prepare decides */
}

static void stop_all(ac_ev *a)
{
    if (a->backend.held)
        unhold(a, &a->backend);
    quiet_stop(a, (ev_watcher *)&a->backend.io, EV_IO);
    quiet_stop(a, (ev_watcher *)&a->deadline, EV_TIMER);
    quiet_stop(a, (ev_watcher *)&a->now, EV_IDLE);
    set_alive(a, false);
}

static void on_detached(void *data)
{
    ac_ev *a = data;

    a->map = NULL;
    stop_all(a); /* the map's epoll fd closes with the map */
}

ac_ev *ac_ev_attach(ac_map *map, struct ev_loop *loop, ac_ev_mode mode)
{
    ac_hooks hooks = {.detached = on_detached, .wake = on_wake};
    int efd = map ? ac_map_backend_fd(map) : -1, r;
    ac_ev *a;

    if (!map || !loop || (unsigned)mode > AC_EV_BACKEND_FD) {
        errno = EINVAL;
        return NULL;
    }
    if (mode == AC_EV_AUTO)
        mode = efd >= 0 ? AC_EV_BACKEND_FD : AC_EV_PER_FD;
    if (mode == AC_EV_BACKEND_FD && efd < 0) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        errno = ENOMEM;
        return NULL;
    }
    a->map = map;
    a->loop = loop;
    a->mode = mode;
    a->alive = true; /* the prepare's own reference */
    ev_prepare_init(&a->prepare, on_prepare);
    ev_check_init(&a->check, on_check);
    ev_timer_init(&a->deadline, on_timer, 0., 0.);
    ev_idle_init(&a->now, on_idle);
    a->prepare.data = a->check.data = a;
    a->backend.a = a;
    ev_prepare_start(loop, &a->prepare);
    quiet_start(a, (ev_watcher *)&a->check, EV_CHECK);
    set_alive(a, ac_map_alive(map));
    hooks.data = a;
    if (mode == AC_EV_BACKEND_FD) {
        ev_io_init(&a->backend.io, on_io, efd, EV_READ);
        quiet_start(a, (ev_watcher *)&a->backend.io, EV_IO);
    } else {
        hooks.watch = on_watch;
        hooks.unwatch = on_unwatch;
    }
    if ((r = ac_map_set_hooks(map, &hooks)) < 0) {
        a->map = NULL;
        ac_ev_detach(a);
        errno = -r;
        return NULL;
    }
    return a;
}

int ac_ev_detach(ac_ev *a)
{
    int r;

    if (!a)
        return -EINVAL;
    if (a->busy)
        return -EBUSY;
    if (a->map && (r = ac_map_set_hooks(a->map, NULL)) < 0)
        return r; /* unwatches every channel, then on_detached */
    stop_all(a);
    quiet_stop(a, (ev_watcher *)&a->check, EV_CHECK);
    ev_ref(a->loop); /* set_alive(false) unref'd the prepare: undo it */
    ev_prepare_stop(a->loop, &a->prepare);
    free(a);
    return 0;
}

ac_map *ac_ev_map(const ac_ev *a)
{
    return a ? a->map : NULL;
}

ac_ev_mode ac_ev_get_mode(const ac_ev *a)
{
    return a ? a->mode : AC_EV_AUTO;
}

unsigned long ac_ev_iterations(const ac_ev *a)
{
    return a ? a->iterations : 0;
}
