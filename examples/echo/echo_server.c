/* echo_server: echoes every byte back, the asyncore way.
 *
 *   echo_server [--host H] [--port P] [--loop native|glib|uv|event|qt|sdevent|ev]
 *               [--backend select|poll|epoll] [--threads N]
 *               [--tls-cert FILE --tls-key FILE]
 *
 * The channels (echo_service.c) are the same whichever loop runs them:
 * ac_loop() itself, a GLib main context, a libuv loop, a libevent
 * event_base or a Qt event loop. With --threads
 * N, N threads each run a map of their own with a listener on the same
 * port (SO_REUSEPORT: the kernel spreads the connections): nothing is
 * shared between them and nothing is locked on the data path. */
#include "common.h"
#include "echo_service.h"
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("usage: %s [--host H] [--port P] [--loop " EX_LOOPS "]\n"
           "       %*s [--backend select|poll|epoll] [--threads N]\n"
           "       %*s [--tls-cert FILE --tls-key FILE] [--stats]\n"
           "Echo every byte back. --port 0 picks a free port; the first line\n"
           "on stdout is 'listening on HOST:PORT'. --threads N runs N maps\n"
           "in N threads on that one port. --tls-cert/--tls-key: TLS, with\n"
           "that certificate chain and key (PEM). --stats prints each loop's\n"
           "statistics on stderr at exit.\n",
           ex_prog, (int)strlen(ex_prog), "", (int)strlen(ex_prog), "");
}

int main(int argc, char **argv)
{
    const char *loop = "native", *why;
    ex_server srv = {.host = "127.0.0.1", .port = 8007, .threads = 1,
                     .backend = AC_BACKEND_DEFAULT, .listen = echo_listen};
    ex_tls tls = {0};
    int i, failed;

    ex_prog = "echo_server";
    for (i = 1; i < argc; i++) {
        if (ex_server_option(argc, argv, &i, &srv.host, &srv.port, usage)) {
            continue;
        } else if (!strcmp(argv[i], "--loop")) {
            loop = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--backend")) {
            srv.backend = ex_backend(ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--threads")) {
            srv.threads = ex_int("--threads", ex_value(argc, argv, &i), 1, 256);
        } else if (ex_tls_option(argc, argv, &i, &tls, true)) {
            continue;
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    if (ex_loop_kind_of(loop, &srv.loop, &why) < 0)
        ex_usage_error("--loop %s: %s", loop, why);
    ex_tls_setup(&tls, true);
    if (ex_tls_on(&tls))
        echo_tls = &tls; /* one context, shared by every thread's map */
    failed = ex_serve(&srv);
    ex_tls_done(&tls);
    return failed;
}
