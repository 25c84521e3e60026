/* libev adapter: an ev_io per channel or on the map's epoll fd, ev_prepare
 * (refresh), ev_timer or ev_idle (the wait's bound), ev_check (what came
 * due) - ev.h. Only the prepare keeps the loop alive, while the map is. */
#include <asyncore/ev.h>
#include <errno.h>
#include <stdlib.h>

/* The adapter's other watchers do not keep the loop running: libev's rule
 * is unref after start, ref before stop. */
#define QUIET_START(a, kind, w) (ev_##kind##_start((a)->loop, w), ev_unref((a)->loop))
#define QUIET_STOP(a, kind, w) \
    do { if (ev_is_active(w)) { ev_ref((a)->loop); ev_##kind##_stop((a)->loop, w); } } while (0)

typedef struct watch {
    ev_io io;
    struct ac_ev *a;
    struct watch *next_held; /* fired inside a nested loop, stopped */
    bool held, gone;         /* gone: unwatched while held, freed later */
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
    bool alive;  /* the prepare counts as a reference */
    int busy;    /* inside the map's work: a nested ev_run holds watchers */
    watch *held;
    unsigned long iterations;
};

static void set_alive(ac_ev *a, bool alive)
{
    if (alive != a->alive)
        (alive ? ev_ref : ev_unref)(a->loop);
    a->alive = alive;
}

/* The map's work ends: what fired inside a nested loop may wait again. */
static void leave(ac_ev *a)
{
    if (--a->busy > 0)
        return;
    while (a->held) {
        watch *w = a->held;
        a->held = w->next_held;
        w->held = false;
        if (w->gone)
            free(w);
        else if (w->io.events & (EV_READ | EV_WRITE))
            QUIET_START(a, io, &w->io);
    }
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
    watch *w = (watch *)io;
    ac_ev *a = w->a;

    if (!a->map)
        return;
    if (a->busy) {
        QUIET_STOP(a, io, io);
        w->held = true;
        w->next_held = a->held;
        a->held = w;
        return;
    }
    a->busy++;
    if (w == &a->backend)
        ac_map_dispatch_ready(a->map);
    else
        ac_map_dispatch(a->map, io->fd, ((revents & EV_READ) ? AC_IN : 0u) |
                                            ((revents & EV_WRITE) ? AC_OUT : 0u));
    leave(a);
}

/* Before the wait: interest, then what bounds the wait. */
static void on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
    ac_ev *a = p->data;
    int due;

    a->iterations++;
    if (!a->map || ac_map_refresh(a->map) < 0 || !a->map)
        return; /* gone, or a nested loop inside one of its handlers */
    set_alive(a, ac_map_alive(a->map));
    due = ac_map_timeout(a->map);
    QUIET_STOP(a, timer, &a->deadline);
    /* due already: no sleep (a timer of 0 would still sleep libev's 1 ms) */
    if (due == 0 && !ev_is_active(&a->now))
        QUIET_START(a, idle, &a->now);
    if (due != 0)
        QUIET_STOP(a, idle, &a->now);
    if (due > 0) { /* from a fresh "now": it cannot end the wait early */
        ev_now_update(loop);
        ev_timer_set(&a->deadline, due / 1e3, 0.);
        QUIET_START(a, timer, &a->deadline);
    }
}

/* After every wait, whatever ended it. */
static void on_check(struct ev_loop *loop, ev_check *c, int revents)
{
    ac_ev *a = c->data;

    if (a->map && !a->busy) {
        a->busy++;
        ac_map_run_due(a->map);
        leave(a);
    }
}

/* The timer only ends the wait (libev stopped it: balance the unref of
 * its start); the idle only keeps it short; the check does the work. */
static void on_timer(struct ev_loop *loop, ev_timer *t, int revents) { ev_ref(loop); }
static void on_idle(struct ev_loop *loop, ev_idle *i, int revents) {}

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
        set_alive(a, true); /* a channel: there is work until the prepare */
    }
    QUIET_STOP(a, io, &w->io);
    ev_io_set(&w->io, fd, what);
    if (what && !w->held) /* (a held one starts after the handler) */
        QUIET_START(a, io, &w->io);
    return 0;
}

/* Synchronous: libev forgets the fd before it closes. */
static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    ac_ev *a = data;
    watch *w = ac_get_host_data(d);

    if (!w)
        return;
    ac_set_host_data(d, NULL);
    QUIET_STOP(a, io, &w->io);
    if (w->held)
        w->gone = true; /* still on the held list */
    else
        free(w);
}

/* Made alive outside ev_run (a timer started): the prepare decides. */
static void on_wake(void *data)
{
    if (((ac_ev *)data)->map)
        set_alive(data, true);
}

static void on_detached(void *data)
{
    ac_ev *a = data;

    a->map = NULL; /* its epoll fd closes with it: stop watching it now */
    QUIET_STOP(a, io, &a->backend.io);
    a->backend.io.events = 0; /* (and not started again if held) */
    QUIET_STOP(a, timer, &a->deadline);
    QUIET_STOP(a, idle, &a->now);
    set_alive(a, false);
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
    if (mode == AC_EV_AUTO) /* libev's own epoll is as good as the map's */
        mode = AC_EV_PER_FD;
    if (mode == AC_EV_BACKEND_FD && efd < 0) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        errno = ENOMEM;
        return NULL;
    }
    *a = (ac_ev){.map = map, .loop = loop, .mode = mode, .alive = true};
    ev_prepare_init(&a->prepare, on_prepare);
    ev_check_init(&a->check, on_check);
    ev_timer_init(&a->deadline, on_timer, 0., 0.);
    ev_idle_init(&a->now, on_idle);
    a->prepare.data = a->check.data = a;
    a->backend.a = a;
    ev_prepare_start(loop, &a->prepare); /* alive: its reference counts */
    QUIET_START(a, check, &a->check);
    set_alive(a, ac_map_alive(map));
    hooks.data = a;
    if (mode == AC_EV_BACKEND_FD) {
        ev_io_init(&a->backend.io, on_io, efd, EV_READ);
        QUIET_START(a, io, &a->backend.io);
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
    on_detached(a);
    QUIET_STOP(a, check, &a->check);
    ev_ref(a->loop); /* set_alive(false) took the prepare's reference */
    ev_prepare_stop(a->loop, &a->prepare);
    free(a);
    return 0;
}

ac_map *ac_ev_map(const ac_ev *a) { return a ? a->map : NULL; }
ac_ev_mode ac_ev_get_mode(const ac_ev *a) { return a ? a->mode : AC_EV_AUTO; }
unsigned long ac_ev_iterations(const ac_ev *a) { return a ? a->iterations : 0; }
