/* The examples' libev loops (run_loop.h), apart from run_loop.c: libev's
 * ev.h and libevent's headers cannot meet in one file. */
#include "run_loop.h"

#include <asyncore/ev.h>
#include <errno.h>

/* ev_run returns once the map is empty (ev.h) and nothing else waits */
int ex_run_ev(ac_map *map)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ac_ev *a;

    if (!loop)
        return -ENOMEM;
    if (!(a = ac_ev_attach(map, loop, AC_EV_AUTO))) {
        int err = errno;
        ev_loop_destroy(loop);
        return -err;
    }
    ev_run(loop, 0);
    ac_ev_detach(a);
    ev_loop_destroy(loop);
    return 0;
}

static bool (*idle_step)(void);

static void on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    if (!idle_step())
        ev_idle_stop(loop, w);
}

void ex_ev_idle(bool (*step)(void))
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ev_idle idle;

    if (!loop)
        return;
    idle_step = step;
    ev_idle_init(&idle, on_idle);
    ev_idle_start(loop, &idle);
    ev_run(loop, 0);
    ev_loop_destroy(loop);
}
