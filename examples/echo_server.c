/* echo_server: echoes every byte back, the asyncore way.
 *
 *   echo_server [--host H] [--port P] [--loop native|glib|uv]
 *               [--backend select|poll|epoll]
 *
 * Two classes, as in the PyMOTW example: a listening channel that accepts,
 * and a dispatcher_with_send per connection that echoes. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- one connection: read what arrives, queue it back ---- */

typedef struct {
    ac_dispatcher_with_send out; /* embeds the channel */
} echo_handler;

static void handler_read(ac_dispatcher *d)
{
    char buf[65536];
    ssize_t n = ac_recv(d, buf, sizeof(buf));

    /* 0: the peer closed (handle_close already ran); <0: nothing or error */
    if (n > 0)
        ac_with_send(AC_CONTAINER_OF(d, ac_dispatcher_with_send, base), buf,
                     (size_t)n);
}

static void handler_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void handler_destroy(ac_dispatcher *d)
{
    free(AC_CONTAINER_OF(d, echo_handler, out.base));
}

static const ac_dispatcher_class echo_handler_class = {
    .name = "echo_handler",
    .parent = &ac_with_send_class,
    .handle_read = handler_read,
    .handle_close = handler_close,
    .destroy = handler_destroy,
};

/* ---- the listener: one handler per accepted connection ---- */

static void server_accepted(ac_dispatcher *d, int fd,
                            const struct sockaddr *addr, socklen_t len)
{
    echo_handler *h = malloc(sizeof(*h));
    int r;

    (void)addr;
    (void)len;
    if (!h) {
        close(fd);
        return;
    }
    ac_with_send_init(&h->out, &echo_handler_class, ac_dispatcher_get_map(d));
    r = ac_set_socket(&h->out.base, fd);
    if (r < 0) {
        /* e.g. -ERANGE: the select backend cannot hold this fd */
        ac_log_info(d, AC_LOG_ERROR, "cannot serve fd %d: %s", fd,
                    ac_strerror(r));
        close(fd);
        free(h);
    }
}

static const ac_dispatcher_class echo_server_class = {
    .name = "echo_server",
    .handle_accepted = server_accepted,
};

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
    struct sockaddr_storage ss;
    socklen_t len;
    ac_dispatcher server;
    ac_map *map;
    int i, r;

    ex_prog = "echo_server";
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else if (!strcmp(argv[i], "--host")) {
            host = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--port")) {
            port = ex_int("--port", ex_value(argc, argv, &i), 0, 65535);
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
    if (strcmp(loop, "native"))
        ex_usage_error("--loop %s: this build has no %s adapter", loop, loop);

    /* Many clients: use what the hard limit allows. */
    ex_raise_nofile(20000);
    map = ac_map_new(backend);
    if (!map)
        ex_fail("cannot create the map: %s", strerror(errno));
    r = ac_resolve(host, (int)port, AF_UNSPEC, true, &ss, &len);
    if (r < 0)
        ex_fail("cannot resolve '%s': %s", host, ac_strerror(r));

    ac_dispatcher_init(&server, &echo_server_class, map);
    if ((r = ac_create_socket(&server, ss.ss_family, SOCK_STREAM)) < 0 ||
        (r = ac_set_reuse_addr(&server)) < 0 ||
        (r = ac_bind(&server, (struct sockaddr *)&ss, len)) < 0 ||
        (r = ac_listen(&server, 4096)) < 0)
        ex_fail("cannot listen on %s:%ld: %s", host, port, ac_strerror(r));
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
