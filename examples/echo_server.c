/* echo_server: echoes every byte back, the asyncore way.
 *
 *   echo_server [--host H] [--port P] [--loop native|glib|uv]
 *               [--backend select|poll|epoll]
 *
 * The channels (echo_service.c) are the same whichever loop runs them:
 * ac_loop() itself, a GLib main loop, or a libuv loop. */
#include "common.h"
#include "echo_service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_ASYNCORE_UV
#include <asyncore/uv.h>

static void on_uv_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    /* Closing every channel empties the map; uv_run then returns. */
    ac_close_all(s->data, true);
    uv_close((uv_handle_t *)s, NULL);
}

static int run_uv(ac_map *map, ac_dispatcher *server)
{
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    ac_uv *a;

    uv_loop_init(&loop);
    a = ac_uv_attach(map, &loop);
    if (!a)
        ex_fail("cannot attach to libuv: %s", strerror(errno));
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    sigint.data = sigterm.data = map;
    uv_signal_start(&sigint, on_uv_signal, SIGINT);
    uv_signal_start(&sigterm, on_uv_signal, SIGTERM);
    /* Signal watchers should not keep the loop alive: the map does. */
    uv_unref((uv_handle_t *)&sigint);
    uv_unref((uv_handle_t *)&sigterm);
    ex_print_listening("listening", server);
    uv_run(&loop, UV_RUN_DEFAULT); /* until the map is empty */
    if (!uv_is_closing((uv_handle_t *)&sigint))
        uv_close((uv_handle_t *)&sigint, NULL);
    if (!uv_is_closing((uv_handle_t *)&sigterm))
        uv_close((uv_handle_t *)&sigterm, NULL);
    ac_uv_detach(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : -EBUSY;
}
#endif

#ifdef HAVE_ASYNCORE_GLIB
#include <asyncore/glib.h>
#include <glib-unix.h>

static gboolean on_glib_signal(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

/* The GSource adapter in its default mode: GLib waits on the map's one
 * epoll descriptor, so thousands of idle channels cost GLib nothing. */
static int run_glib(ac_map *map, ac_dispatcher *server)
{
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GSource *source = ac_glib_source_new(map, AC_GLIB_AUTO);
    guint sig_int, sig_term;

    if (!source)
        ex_fail("cannot attach to GLib: %s", strerror(errno));
    g_source_attach(source, NULL);
    sig_int = g_unix_signal_add(SIGINT, on_glib_signal, loop);
    sig_term = g_unix_signal_add(SIGTERM, on_glib_signal, loop);
    ex_print_listening("listening", server);
    g_main_loop_run(loop);
    g_source_remove(sig_int);
    g_source_remove(sig_term);
    g_source_destroy(source);
    g_source_unref(source);
    g_main_loop_unref(loop);
    return 0;
}
#endif

static void usage(void)
{
    printf("usage: %s [--host H] [--port P] [--loop native|glib|uv]\n"
           "       %*s [--backend select|poll|epoll]\n"
           "Echo every byte back. --port 0 picks a free port; the first line\n"
           "on stdout is 'listening on HOST:PORT'.\n",
           ex_prog, (int)strlen(ex_prog), "");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *loop = "native";
    long port = 8007;
    ac_backend backend = AC_BACKEND_DEFAULT;
    ac_dispatcher server;
    ac_map *map;
    int i, r;

    ex_prog = "echo_server";
    for (i = 1; i < argc; i++) {
        if (ex_server_option(argc, argv, &i, &host, &port, usage)) {
            continue;
        } else if (!strcmp(argv[i], "--loop")) {
            loop = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--backend")) {
            backend = ex_backend(ex_value(argc, argv, &i));
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    if (strcmp(loop, "native") && strcmp(loop, "glib") && strcmp(loop, "uv"))
        ex_usage_error("--loop: expected native, glib or uv, got '%s'", loop);
#ifndef HAVE_ASYNCORE_UV
    if (!strcmp(loop, "uv"))
        ex_usage_error("--loop uv: this build has no libuv adapter");
#endif
#ifndef HAVE_ASYNCORE_GLIB
    if (!strcmp(loop, "glib"))
        ex_usage_error("--loop glib: this build has no GLib adapter");
#endif

    /* Many clients: use what the hard limit allows. */
    ex_raise_nofile(20000);
    map = ac_map_new(backend);
    if (!map)
        ex_fail("cannot create the map: %s", strerror(errno));
    echo_listen(&server, map, host, port);

#ifdef HAVE_ASYNCORE_GLIB
    if (!strcmp(loop, "glib")) {
        r = run_glib(map, &server);
        ac_map_free(map);
        return r < 0 ? 1 : 0;
    }
#endif
#ifdef HAVE_ASYNCORE_UV
    if (!strcmp(loop, "uv")) {
        r = run_uv(map, &server);
        ac_map_free(map);
        return r < 0 ? 1 : 0;
    }
#endif
    /* Handlers first: a supervisor may signal as soon as it reads the
     * listening line. */
    ex_stop_on_signals(map);
    ex_print_listening("listening", &server);
    r = ac_loop(map, NULL);
    ac_map_free(map);
    if (r < 0)
        ex_fail("loop failed: %s", ac_strerror(r));
    return 0;
}
