/* The library's own hosts through the host kit (asyncore/hostkit.h):
 * `test_hostkit MODE [FILTER]`, one meson test per mode. Each host is
 * written as its users drive it one step at a time. (The hooks-only host
 * is the README's poll() adapter, examples/adapter/poll_host_kit.) */
#include <asyncore/hostkit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef AC_TEST_UV
#include <asyncore/uv.h>
#endif
#ifdef AC_TEST_GLIB
#include <asyncore/glib.h>
#endif
#ifdef AC_TEST_EVENT
#include <asyncore/event.h>
#endif
#ifdef AC_TEST_QT
#include "hostkit_qt.h"
#endif
#ifdef AC_TEST_SDEVENT
#include <asyncore/sdevent.h>
#endif
#ifdef AC_TEST_EV
#include "hostkit_ev.h" /* (libev's ev.h and libevent's clash) */
#endif

/* ---- ac_poll_once on the map's own backend ---- */

static int native_attach(void *data, ac_map *map, void **host)
{
    (void)data;
    *host = map;
    return 0;
}

static int native_step(void *host, int timeout_ms)
{
    return ac_poll_once(host, timeout_ms);
}

static void native_teardown(void *host)
{
    (void)host;
}

/* ---- libuv: uv_run(loop, UV_RUN_ONCE) ---- */

#ifdef AC_TEST_UV
typedef struct {
    uv_loop_t loop;
    uv_timer_t guard;
    ac_uv *att;
} uv_host;

static int uv_detach_host(void *host)
{
    uv_host *h = host;
    int r = ac_uv_detach(h->att, NULL, NULL);

    h->att = NULL;
    return r;
}

static int uv_attach(void *data, ac_map *map, void **host)
{
    uv_host *h = calloc(1, sizeof(*h));

    (void)data;
    if (!h || uv_loop_init(&h->loop) < 0) {
        free(h);
        return -ENOMEM;
    }
    uv_timer_init(&h->loop, &h->guard);
    uv_unref((uv_handle_t *)&h->guard);
    if (!(h->att = ac_uv_attach(map, &h->loop))) {
        int err = errno;
        uv_close((uv_handle_t *)&h->guard, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
        free(h);
        return -err;
    }
    *host = h;
    return 0;
}

static void uv_guard(uv_timer_t *t)
{
    (void)t;
}

static int uv_step(void *host, int timeout_ms)
{
    uv_host *h = host;

    if (timeout_ms == 0)
        return uv_run(&h->loop, UV_RUN_NOWAIT) >= 0 ? 0 : -EIO;
    if (timeout_ms > 0) {
        uv_update_time(&h->loop);
        uv_timer_start(&h->guard, uv_guard, (uint64_t)timeout_ms, 0);
        uv_ref((uv_handle_t *)&h->guard);
    }
    uv_run(&h->loop, UV_RUN_ONCE);
    uv_timer_stop(&h->guard);
    uv_unref((uv_handle_t *)&h->guard);
    return 0;
}

static void uv_teardown(void *host)
{
    uv_host *h = host;

    if (h->att)
        ac_uv_detach(h->att, NULL, NULL);
    uv_close((uv_handle_t *)&h->guard, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_loop_close(&h->loop);
    free(h);
}

static unsigned long uv_iters(void *host)
{
    uv_host *h = host;

    return h->att ? ac_uv_iterations(h->att) : 0;
}
#endif

/* ---- GLib: g_main_context_iteration(ctx, TRUE) ---- */

#ifdef AC_TEST_GLIB
typedef struct {
    GMainContext *ctx;
    GSource *src;
} glib_host;

static int glib_attach(void *data, ac_map *map, void **host)
{
    glib_host *h = g_new0(glib_host, 1);

    h->ctx = g_main_context_new();
    h->src = ac_glib_source_new(map, *(ac_glib_mode *)data);
    if (!h->src) {
        int err = errno;
        g_main_context_unref(h->ctx);
        g_free(h);
        return -err;
    }
    g_source_attach(h->src, h->ctx);
    *host = h;
    return 0;
}

static gboolean glib_guard(gpointer data)
{
    (void)data;
    return G_SOURCE_REMOVE;
}

static int glib_step(void *host, int timeout_ms)
{
    glib_host *h = host;
    GSource *guard = NULL;

    if (timeout_ms > 0) {
        guard = g_timeout_source_new((guint)timeout_ms);
        g_source_set_callback(guard, glib_guard, NULL, NULL);
        g_source_attach(guard, h->ctx);
    }
    g_main_context_iteration(h->ctx, timeout_ms != 0);
    if (guard) {
        g_source_destroy(guard);
        g_source_unref(guard);
    }
    return 0;
}

static int glib_detach(void *host)
{
    g_source_destroy(((glib_host *)host)->src); /* the map keeps its channels */
    return 0;
}

static void glib_teardown(void *host)
{
    glib_host *h = host;

    g_source_destroy(h->src);
    g_source_unref(h->src);
    while (g_main_context_iteration(h->ctx, FALSE))
        ;
    g_main_context_unref(h->ctx);
    g_free(h);
}

static unsigned long glib_iters(void *host)
{
    return ac_glib_source_iterations(((glib_host *)host)->src);
}
#endif

/* ---- libevent: event_base_loop(base, EVLOOP_ONCE) ---- */

#ifdef AC_TEST_EVENT
typedef struct {
    struct event_base *base;
    ac_event *att;
} ev_host;

static int ev_attach(void *data, ac_map *map, void **host)
{
    ev_host *h = calloc(1, sizeof(*h));

    if (!h || !(h->base = event_base_new())) {
        free(h);
        return -ENOMEM;
    }
    if (!(h->att = ac_event_attach(map, h->base, *(ac_event_mode *)data))) {
        int err = errno;
        event_base_free(h->base);
        free(h);
        return -err;
    }
    *host = h;
    return 0;
}

static void ev_guard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static int ev_step(void *host, int timeout_ms)
{
    ev_host *h = host;
    struct event *guard = NULL;

    /* the plain loop: the kit's changes between steps (timers, channels)
     * reach the adapter through the map's wake hook (event.h) */
    if (timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        guard = evtimer_new(h->base, ev_guard, NULL);
        evtimer_add(guard, &tv);
    }
    event_base_loop(h->base, timeout_ms == 0 ? EVLOOP_ONCE | EVLOOP_NONBLOCK
                                             : EVLOOP_ONCE);
    if (guard)
        event_free(guard);
    return 0;
}

static int ev_detach(void *host)
{
    ev_host *h = host;
    int r = ac_event_detach(h->att);

    h->att = NULL;
    return r;
}

static void ev_teardown(void *host)
{
    ev_host *h = host;

    if (h->att)
        ac_event_detach(h->att);
    event_base_free(h->base);
    free(h);
}

static unsigned long ev_iters(void *host)
{
    ev_host *h = host;

    /* libevent has no per-iteration hook: the adapter refreshes once
     * after each of its callbacks, which are its wake-ups (and once for
     * each change the kit makes between steps: an over-count, never an
     * under-count) */
    return h->att ? ac_event_refreshes(h->att) : 0;
}
#endif

/* ---- sd-event: sd_event_run(e, UINT64_MAX) ---- */

#ifdef AC_TEST_SDEVENT
typedef struct {
    sd_event *e;
    ac_sdevent *att;
} sd_host;

static int sd_attach(void *data, ac_map *map, void **host)
{
    sd_host *h = calloc(1, sizeof(*h));
    int r;

    if (!h)
        return -ENOMEM;
    if ((r = sd_event_new(&h->e)) < 0) {
        free(h);
        return r;
    }
    if (!(h->att = ac_sdevent_attach(map, h->e, *(ac_sdevent_mode *)data))) {
        r = -errno;
        sd_event_unref(h->e);
        free(h);
        return r;
    }
    *host = h;
    return 0;
}

static int sd_step(void *host, int timeout_ms)
{
    sd_host *h = host;
    int r = sd_event_run(h->e, timeout_ms < 0 ? UINT64_MAX
                                               : (uint64_t)timeout_ms * 1000);
    return r < 0 ? r : 0;
}

static int sd_detach(void *host)
{
    sd_host *h = host;
    int r = ac_sdevent_detach(h->att);

    h->att = NULL;
    return r;
}

static void sd_teardown(void *host)
{
    sd_host *h = host;

    if (h->att)
        ac_sdevent_detach(h->att);
    sd_event_unref(h->e);
    free(h);
}

static unsigned long sd_iters(void *host)
{
    uint64_t n = 0;

    sd_event_get_iteration(((sd_host *)host)->e, &n);
    return (unsigned long)n;
}
#endif

int main(int argc, char **argv)
{
    static ac_hostkit_host hosts[16];
    ac_hostkit_opts opts = {.filter = argc > 2 ? argv[2] : NULL,
                            .verbose = true};
    const char *mode = argc > 1 ? argv[1] : "epoll";
    int n = 0, i;

    hosts[n++] = (ac_hostkit_host){"select", AC_BACKEND_SELECT, true, NULL,
                                   native_attach, native_step, NULL,
                                   native_teardown, NULL};
    hosts[n++] = (ac_hostkit_host){"poll", AC_BACKEND_POLL, true, NULL,
                                   native_attach, native_step, NULL,
                                   native_teardown, NULL};
    hosts[n++] = (ac_hostkit_host){"epoll", AC_BACKEND_EPOLL, true, NULL,
                                   native_attach, native_step, NULL,
                                   native_teardown, NULL};
#ifdef AC_TEST_UV
    hosts[n++] = (ac_hostkit_host){"uv", AC_BACKEND_DEFAULT, false, NULL,
                                   uv_attach, uv_step, uv_detach_host,
                                   uv_teardown, uv_iters};
#endif
#ifdef AC_TEST_GLIB
    static ac_glib_mode per_fd = AC_GLIB_PER_FD, backend = AC_GLIB_BACKEND_FD;
    hosts[n++] = (ac_hostkit_host){"glib", AC_BACKEND_DEFAULT, true, &per_fd,
                                   glib_attach, glib_step, glib_detach,
                                   glib_teardown, glib_iters};
    hosts[n++] = (ac_hostkit_host){"glib-backend-fd", AC_BACKEND_EPOLL, true,
                                   &backend, glib_attach, glib_step,
                                   glib_detach, glib_teardown, glib_iters};
#endif
#ifdef AC_TEST_EVENT
    static ac_event_mode ev_per_fd = AC_EVENT_PER_FD,
                         ev_backend = AC_EVENT_BACKEND_FD;
    hosts[n++] = (ac_hostkit_host){"event", AC_BACKEND_DEFAULT, false,
                                   &ev_per_fd, ev_attach, ev_step, ev_detach,
                                   ev_teardown, ev_iters};
    hosts[n++] = (ac_hostkit_host){"event-backend-fd", AC_BACKEND_EPOLL,
                                   false, &ev_backend, ev_attach, ev_step,
                                   ev_detach, ev_teardown, ev_iters};
#endif
#ifdef AC_TEST_SDEVENT
    static ac_sdevent_mode sd_per_fd = AC_SDEVENT_PER_FD,
                           sd_backend = AC_SDEVENT_BACKEND_FD;
    hosts[n++] = (ac_hostkit_host){"sdevent", AC_BACKEND_DEFAULT, false,
                                   &sd_per_fd, sd_attach, sd_step, sd_detach,
                                   sd_teardown, sd_iters};
    hosts[n++] = (ac_hostkit_host){"sdevent-backend-fd", AC_BACKEND_EPOLL,
                                   false, &sd_backend, sd_attach, sd_step,
                                   sd_detach, sd_teardown, sd_iters};
#endif
#ifdef AC_TEST_EV
    hosts[n++] = hk_ev_host(false);
    hosts[n++] = hk_ev_host(true);
#endif
#ifdef AC_TEST_QT
    hosts[n++] = hk_qt_host(false);
    hosts[n++] = hk_qt_host(true);
#endif
    for (i = 0; i < n; i++)
        if (strcmp(hosts[i].name, mode) == 0)
            return ac_hostkit_run(&hosts[i], &opts) == 0 ? 0 : 1;
    fprintf(stderr, "test_hostkit: no host mode '%s' in this build\n", mode);
    return 77; /* meson: skipped */
}
