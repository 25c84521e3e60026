/* The seed ports' loop, options and logging (seed.h). */
#include "seed.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_ASYNCORE_GLIB
#include <asyncore/glib.h>
#include <glib-unix.h>

static gboolean glib_signal(gpointer data)
{
    ac_close_all(data, true);
    return G_SOURCE_CONTINUE;
}
#endif
#ifdef HAVE_ASYNCORE_UV
#include <asyncore/uv.h>

static void uv_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    ac_close_all(s->data, true);
}
#endif

static ac_map *running; /* for the native signal handler */

static void native_signal(int sig)
{
    (void)sig;
    ac_loop_stop(running);
}

static void fail(const char *what)
{
    fprintf(stderr, "%s\n", what);
    exit(2);
}

static ac_backend backend = AC_BACKEND_EPOLL;

seed_loop seed_init(int *argc, char **argv, const char *usage)
{
    seed_loop loop = SEED_NATIVE;
    int i, out = 1;

    for (i = 1; i < *argc; i++) {
        const char *a = argv[i], *v = i + 1 < *argc ? argv[i + 1] : "";
        if (!strcmp(a, "--help")) {
            printf("%s\n", usage);
            exit(0);
        } else if (!strcmp(a, "--backend")) {
            i++;
            if (!strcmp(v, "select"))
                backend = AC_BACKEND_SELECT;
            else if (!strcmp(v, "poll"))
                backend = AC_BACKEND_POLL;
            else if (!strcmp(v, "epoll"))
                backend = AC_BACKEND_EPOLL;
            else
                fail("--backend: expected select, poll or epoll");
        } else if (!strcmp(a, "--loop")) {
            i++;
            if (!strcmp(v, "native"))
                loop = SEED_NATIVE;
            else if (!strcmp(v, "glib"))
                loop = SEED_GLIB;
            else if (!strcmp(v, "uv"))
                loop = SEED_UV;
            else
                fail("--loop: expected native, glib or uv");
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
#ifndef HAVE_ASYNCORE_GLIB
    if (loop == SEED_GLIB)
        fail("--loop glib: this build has no GLib adapter");
#endif
#ifndef HAVE_ASYNCORE_UV
    if (loop == SEED_UV)
        fail("--loop uv: this build has no libuv adapter");
#endif
    if (!ac_map_default() || ac_map_set_backend(ac_map_default(), backend) < 0)
        fail("cannot create the map");
    return loop;
}

ac_map *seed_map_new(void)
{
    ac_map *map = ac_map_new(backend);

    if (!map)
        fail("cannot create the map");
    return map;
}

void seed_run(seed_loop loop)
{
    seed_run_map(loop, ac_map_default(), 30000);
}

void seed_run_map(seed_loop loop, ac_map *map, int timeout_ms)
{
    ac_loop_opts opts = {.timeout_ms = timeout_ms};

#ifdef HAVE_ASYNCORE_GLIB
    if (loop == SEED_GLIB) {
        GSource *s = ac_glib_source_new(map, AC_GLIB_AUTO);
        guint si, st;
        if (!s)
            fail("cannot attach to GLib");
        g_source_attach(s, NULL);
        si = g_unix_signal_add(SIGINT, glib_signal, map);
        st = g_unix_signal_add(SIGTERM, glib_signal, map);
        while (ac_map_count(map) > 0)
            g_main_context_iteration(NULL, TRUE);
        g_source_remove(si);
        g_source_remove(st);
        g_source_destroy(s);
        g_source_unref(s);
        return;
    }
#endif
#ifdef HAVE_ASYNCORE_UV
    if (loop == SEED_UV) {
        uv_loop_t uv;
        uv_signal_t si, st;
        ac_uv *a;
        uv_loop_init(&uv);
        if (!(a = ac_uv_attach(map, &uv)))
            fail("cannot attach to libuv");
        uv_signal_init(&uv, &si);
        uv_signal_init(&uv, &st);
        si.data = st.data = map;
        uv_signal_start(&si, uv_signal, SIGINT);
        uv_signal_start(&st, uv_signal, SIGTERM);
        uv_unref((uv_handle_t *)&si); /* the map keeps the loop alive */
        uv_unref((uv_handle_t *)&st);
        uv_run(&uv, UV_RUN_DEFAULT); /* returns when the map is empty */
        uv_close((uv_handle_t *)&si, NULL);
        uv_close((uv_handle_t *)&st, NULL);
        ac_uv_detach(a, NULL, NULL);
        uv_run(&uv, UV_RUN_DEFAULT);
        uv_loop_close(&uv);
        return;
    }
#endif
    (void)loop;
    running = map;
    signal(SIGINT, native_signal);
    signal(SIGTERM, native_signal);
    ac_loop(map, &opts);
}

void seed_log(const char *name, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
