/* The libev hosts of test_hostkit, apart: libev's ev.h and libevent's
 * event2/event.h cannot meet in one file. */
#include "hostkit_ev.h"

#include <asyncore/ev.h>
#include <errno.h>
#include <stdlib.h>

/* ---- libev: ev_run(loop, EVRUN_ONCE) ---- */

typedef struct {
    struct ev_loop *loop;
    ev_timer guard;
    ac_ev *att;
} lev_host;

static int lev_attach(void *data, ac_map *map, void **host)
{
    lev_host *h = calloc(1, sizeof(*h));

    if (!h || !(h->loop = ev_loop_new(EVFLAG_AUTO))) {
        free(h);
        return -ENOMEM;
    }
    if (!(h->att = ac_ev_attach(map, h->loop, *(ac_ev_mode *)data))) {
        int err = errno;
        ev_loop_destroy(h->loop);
        free(h);
        return -err;
    }
    *host = h;
    return 0;
}

static void lev_guard(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
}

static int lev_step(void *host, int timeout_ms)
{
    lev_host *h = host;

    if (timeout_ms == 0) {
        ev_run(h->loop, EVRUN_NOWAIT);
        return 0;
    }
    if (timeout_ms > 0) {
        ev_now_update(h->loop);
        ev_timer_init(&h->guard, lev_guard, timeout_ms / 1e3, 0.);
        ev_timer_start(h->loop, &h->guard);
    }
    ev_run(h->loop, EVRUN_ONCE);
    ev_timer_stop(h->loop, &h->guard);
    return 0;
}

static int lev_detach(void *host)
{
    lev_host *h = host;
    int r = ac_ev_detach(h->att);

    h->att = NULL;
    return r;
}

static void lev_teardown(void *host)
{
    lev_host *h = host;

    if (h->att)
        ac_ev_detach(h->att);
    ev_loop_destroy(h->loop);
    free(h);
}

static unsigned long lev_iters(void *host)
{
    lev_host *h = host;

    return h->att ? ac_ev_iterations(h->att) : 0;
}

ac_hostkit_host hk_ev_host(bool backend_fd)
{
    static ac_ev_mode modes[2] = {AC_EV_PER_FD, AC_EV_BACKEND_FD};
    ac_hostkit_host h = {backend_fd ? "ev-backend-fd" : "ev",
                         backend_fd ? AC_BACKEND_EPOLL : AC_BACKEND_DEFAULT,
                         true, &modes[backend_fd ? 1 : 0], lev_attach,
                         lev_step, lev_detach, lev_teardown, lev_iters};
    return h;
}
