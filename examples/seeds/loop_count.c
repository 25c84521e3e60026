/* Seed 002 (PyMOTW), "Working with Other Event Loops": asyncore_loop.py.
 * asyncore.loop(count=1) lets another loop drive the map one step at a
 * time.
 *
 *   loop_count URL... [--backend B] [--loop native|glib|uv|event|qt|sdevent|ev]
 *
 *   clients = [HttpClient(url) for url in URLS]
 *   loop_counter = 0
 *   while asyncore.socket_map:
 *       loop_counter += 1
 *       logging.debug('loop_counter=%s', loop_counter)
 *       asyncore.loop(timeout=1, count=1)
 *
 * "Instead of our own while loop, we could call asyncore.loop() like this
 * from a GUI toolkit idle handler": --loop glib does exactly that from a
 * GLib idle source, --loop uv from a uv_idle_t, --loop event from a
 * libevent event that keeps re-activating itself, --loop qt from a 0 ms
 * QTimer. (This is the polling way;
 * seed.c's GSource and uv adapters are the ones that sleep.) */
#include "http_pymotw.h"
#include "seed.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_ASYNCORE_GLIB
#include <glib.h>
#endif
#ifdef HAVE_ASYNCORE_UV
#include <uv.h>
#endif
#ifdef HAVE_ASYNCORE_EVENT
#include <event2/event.h>
#endif

#define USAGE \
    "usage: loop_count URL... [--backend B] [--loop native|glib|uv|event|qt|sdevent|ev]"

static int loop_counter;

/* One pass of the seed's while loop; false once the map is empty. */
static bool step(void)
{
    ac_loop_opts once = {.timeout_ms = 1000, .count = 1};

    if (ac_map_count(ac_map_default()) == 0)
        return false;
    loop_counter++;
    seed_log("root", "loop_counter=%d", loop_counter);
    ac_loop(NULL, &once);
    return true;
}

#ifdef HAVE_ASYNCORE_GLIB
static gboolean idle_step(gpointer data)
{
    if (step())
        return G_SOURCE_CONTINUE;
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}
#endif

#ifdef HAVE_ASYNCORE_EVENT
/* libevent has no idle callbacks: an event that re-activates itself */
static void event_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (step())
        event_active(*(struct event **)arg, 0, 0);
}
#endif

#ifdef HAVE_ASYNCORE_UV
static void uv_step(uv_idle_t *idle)
{
    if (!step())
        uv_idle_stop(idle);
}
#endif

int main(int argc, char **argv)
{
    seed_loop loop = seed_init(&argc, argv, USAGE);
    int failed = 0;
    http_client *clients = http_clients_new(argc, argv, USAGE, &failed);

    if (!clients)
        return 2;
#ifdef HAVE_ASYNCORE_GLIB
    if (loop == SEED_GLIB) {
        GMainLoop *ml = g_main_loop_new(NULL, FALSE);
        g_idle_add(idle_step, ml);
        g_main_loop_run(ml);
        g_main_loop_unref(ml);
    }
#endif
#ifdef HAVE_ASYNCORE_UV
    if (loop == SEED_UV) {
        uv_loop_t uv;
        uv_idle_t idle;
        uv_loop_init(&uv);
        uv_idle_init(&uv, &idle);
        uv_idle_start(&idle, uv_step);
        uv_run(&uv, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&idle, NULL);
        uv_run(&uv, UV_RUN_DEFAULT);
        uv_loop_close(&uv);
    }
#endif
#ifdef HAVE_ASYNCORE_EVENT
    if (loop == EX_EVENT) {
        struct event_base *base = event_base_new();
        struct event *idle = event_new(base, -1, 0, event_step, &idle);
        event_active(idle, 0, 0);
        event_base_dispatch(base);
        event_free(idle);
        event_base_free(base);
    }
#endif
#ifdef HAVE_ASYNCORE_QT
    if (loop == EX_QT)
        ex_qt_idle(step);
#endif
#ifdef HAVE_ASYNCORE_SDEVENT
    if (loop == EX_SDEVENT)
        ex_sdevent_idle(step); /* from a defer source */
#endif
#ifdef HAVE_ASYNCORE_EV
    if (loop == EX_EV)
        ex_ev_idle(step); /* from an ev_idle */
#endif
    if (loop == SEED_NATIVE)
        while (step())
            ;
    http_clients_report(clients, argc - 1);
    return failed;
}
