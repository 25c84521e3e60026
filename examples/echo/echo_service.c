#include "echo_service.h"
#include "common.h"

#include <stdlib.h>
#include <unistd.h>

const ex_tls *echo_tls;
__thread uint64_t echo_bytes;
__thread size_t echo_connections;

/* ---- one connection: read what arrives, queue it back ---- */

typedef struct {
    ac_dispatcher_with_send out; /* embeds the channel */
} echo_handler;

static void handler_read(ac_dispatcher *d)
{
    char buf[65536];
    ssize_t n = ac_recv(d, buf, sizeof(buf));

    /* 0: the peer closed (handle_close already ran); <0: nothing or error */
    if (n > 0) {
        echo_bytes += (uint64_t)n;
        ac_with_send(AC_CONTAINER_OF(d, ac_dispatcher_with_send, base), buf,
                     (size_t)n);
    }
}

static void handler_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void handler_destroy(ac_dispatcher *d)
{
    echo_connections--;
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
    echo_connections++; /* from now on destroy counts it down */
    r = ac_set_socket(&h->out.base, fd);
    if (r < 0) {
        /* e.g. -ERANGE: the select backend cannot hold this fd */
        ac_log_info(d, AC_LOG_ERROR, "cannot serve fd %d: %s", fd,
                    ac_strerror(r));
        close(fd);
        ac_close(&h->out.base);
    } else if (echo_tls && (r = ex_tls_start(echo_tls, &h->out.base, NULL)) < 0) {
        ac_log_info(d, AC_LOG_ERROR, "cannot start TLS: %s", ac_strerror(r));
        ac_close(&h->out.base);
    }
}

static const ac_dispatcher_class echo_server_class = {
    .name = "echo_server",
    .handle_accepted = server_accepted,
};

void echo_listen(ac_dispatcher *server, ac_map *map, const char *host,
                 long port, bool share_port)
{
    ex_listen_opts(server, &echo_server_class, map, host, port, share_port);
}
