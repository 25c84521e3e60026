/* connect_stall: the libev host (see connect_stall.c). */
#include "connect_stall.h"

#include <asyncore/ev.h>

static ac_map *ev_map;

static void ev_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    tick();
    if (!m.started)
        start_connect(ev_map);
}

void run_ev(void)
{
    ac_map *map = begin();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer t;
    ac_ev *a = ac_ev_attach(map, loop, AC_EV_AUTO);

    ev_map = map;
    ev_timer_init(&t, ev_tick, 0.001, 0.001);
    ev_timer_start(loop, &t);
    while (!m.answered)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
    ac_ev_detach(a);
    ev_loop_destroy(loop);
    finish(map);
}
