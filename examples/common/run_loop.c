/* The examples' loops (run_loop.h). */
#include "run_loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_ASYNCORE_GLIB
#include <asyncore/glib.h>
#endif
#ifdef HAVE_ASYNCORE_UV
#include <asyncore/uv.h>
#endif
#ifdef HAVE_ASYNCORE_EVENT
#include <asyncore/event.h>
#endif
#ifdef HAVE_ASYNCORE_SDEVENT
#include <asyncore/sdevent.h>
#endif

int ex_loop_kind_of(const char *name, ex_loop_kind *kind, const char **why)
{
    *why = NULL;
    if (!strcmp(name, "native")) {
        *kind = EX_NATIVE;
        return 0;
    }
    if (!strcmp(name, "glib")) {
        *kind = EX_GLIB;
#ifndef HAVE_ASYNCORE_GLIB
        *why = "this build has no GLib adapter";
        return -ENOSYS;
#endif
        return 0;
    }
    if (!strcmp(name, "uv")) {
        *kind = EX_UV;
#ifndef HAVE_ASYNCORE_UV
        *why = "this build has no libuv adapter";
        return -ENOSYS;
#endif
        return 0;
    }
    if (!strcmp(name, "event")) {
        *kind = EX_EVENT;
#ifndef HAVE_ASYNCORE_EVENT
        *why = "this build has no libevent adapter";
        return -ENOSYS;
#endif
        return 0;
    }
    if (!strcmp(name, "qt")) {
        *kind = EX_QT;
#ifndef HAVE_ASYNCORE_QT
        *why = "this build has no Qt adapter";
        return -ENOSYS;
#else
        ex_qt_app();
        return 0;
#endif
    }
    if (!strcmp(name, "sdevent")) {
        *kind = EX_SDEVENT;
#ifndef HAVE_ASYNCORE_SDEVENT
        *why = "this build has no sd-event adapter";
        return -ENOSYS;
#endif
        return 0;
    }
    if (!strcmp(name, "ev")) {
        *kind = EX_EV;
#ifndef HAVE_ASYNCORE_EV
        *why = "this build has no libev adapter";
        return -ENOSYS;
#endif
        return 0;
    }
    *why = "expected native, glib, uv, event, qt, sdevent or ev";
    return -EINVAL;
}

#ifdef HAVE_ASYNCORE_GLIB
/* The GSource in its default mode: GLib waits on the map's one epoll
 * descriptor, so thousands of idle channels cost GLib nothing. */
static int run_glib(ac_map *map)
{
    GMainContext *ctx = g_main_context_new();
    GSource *s = ac_glib_source_new(map, AC_GLIB_AUTO);

    if (!s) {
        int err = errno;
        g_main_context_unref(ctx);
        return -err;
    }
    g_main_context_push_thread_default(ctx);
    g_source_attach(s, ctx);
    while (ac_map_alive(map))
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(s);
    g_source_unref(s);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return 0;
}
#endif

#ifdef HAVE_ASYNCORE_UV
static int run_uv(ac_map *map)
{
    uv_loop_t loop;
    ac_uv *a;
    int r;

    if ((r = uv_loop_init(&loop)) < 0)
        return r;
    if (!(a = ac_uv_attach(map, &loop))) {
        r = -errno;
        uv_loop_close(&loop);
        return r;
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until the map is empty */
    ac_uv_detach(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : -EBUSY;
}
#endif

#ifdef HAVE_ASYNCORE_EVENT
/* event_base_dispatch returns once the map is empty (event.h) */
static int run_event(ac_map *map)
{
    struct event_base *base = event_base_new();
    ac_event *a;

    if (!base)
        return -ENOMEM;
    if (!(a = ac_event_attach(map, base, AC_EVENT_AUTO))) {
        int err = errno;
        event_base_free(base);
        return -err;
    }
    event_base_dispatch(base);
    ac_event_detach(a);
    event_base_free(base);
    return 0;
}
#endif

#ifdef HAVE_ASYNCORE_SDEVENT
/* sd-event runs until told to exit: step it while the map has work */
static int run_sdevent(ac_map *map)
{
    sd_event *e;
    ac_sdevent *a;
    int r;

    if ((r = sd_event_new(&e)) < 0)
        return r;
    if (!(a = ac_sdevent_attach(map, e, AC_SDEVENT_AUTO))) {
        r = -errno;
        sd_event_unref(e);
        return r;
    }
    while (ac_map_alive(map) && (r = sd_event_run(e, UINT64_MAX)) >= 0)
        ;
    ac_sdevent_detach(a);
    sd_event_unref(e);
    return r < 0 ? r : 0;
}

static bool (*idle_step)(void);

static int on_defer(sd_event_source *s, void *data)
{
    (void)data;
    if (!idle_step())
        sd_event_exit(sd_event_source_get_event(s), 0);
    return 0;
}

void ex_sdevent_idle(bool (*step)(void))
{
    sd_event_source *s = NULL;
    sd_event *e;

    if (sd_event_new(&e) < 0)
        return;
    idle_step = step;
    if (sd_event_add_defer(e, &s, on_defer, NULL) >= 0 &&
        sd_event_source_set_enabled(s, SD_EVENT_ON) >= 0)
        sd_event_loop(e);
    sd_event_source_unref(s);
    sd_event_unref(e);
}
#endif

int ex_run_map(ac_map *map, ex_loop_kind kind, int timeout_ms)
{
    ac_loop_opts opts = {.timeout_ms = timeout_ms};

#ifdef HAVE_ASYNCORE_GLIB
    if (kind == EX_GLIB)
        return run_glib(map);
#endif
#ifdef HAVE_ASYNCORE_UV
    if (kind == EX_UV)
        return run_uv(map);
#endif
#ifdef HAVE_ASYNCORE_EVENT
    if (kind == EX_EVENT)
        return run_event(map);
#endif
#ifdef HAVE_ASYNCORE_QT
    if (kind == EX_QT)
        return ex_run_qt(map);
#endif
#ifdef HAVE_ASYNCORE_SDEVENT
    if (kind == EX_SDEVENT)
        return run_sdevent(map);
#endif
#ifdef HAVE_ASYNCORE_EV
    if (kind == EX_EV)
        return ex_run_ev(map);
#endif
    return ac_loop(map, &opts);
}

static ac_map **stop_maps;
static int stop_n;

static void close_everything(void *data)
{
    ac_close_all(data, true);
}

static void *wait_for_signal(void *arg)
{
    sigset_t *set = arg;
    int sig, i;

    if (sigwait(set, &sig) == 0)
        for (i = 0; i < stop_n; i++)
            ac_map_call(stop_maps[i], close_everything, stop_maps[i]);
    return NULL;
}

void ex_close_maps_on_signals(ac_map **maps, int n)
{
    static sigset_t set;
    pthread_t th;
    int i;

    stop_maps = calloc((size_t)n, sizeof(*stop_maps));
    if (!stop_maps)
        return;
    for (i = 0; i < n; i++) /* kept valid for the waiter, freed or not */
        stop_maps[i] = ac_map_ref(maps[i]);
    stop_n = n;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (pthread_create(&th, NULL, wait_for_signal, &set) == 0)
        pthread_detach(th);
}
