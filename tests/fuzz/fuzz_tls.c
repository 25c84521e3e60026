/* libFuzzer target: the TLS layer's server side, fed hostile handshake
 * bytes over a socketpair. The channel must end (closed, or still waiting
 * for more) without a crash, a sanitizer report or a leak; whatever it
 * answers is read and dropped. */
#include "../tls/certs.h"

#include <asyncore/tls.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ac_tls_ctx *server;

static void quiet(ac_map *map, ac_log_level level, const char *msg, void *d)
{
    (void)map;
    (void)level;
    (void)msg;
    (void)d;
}

/* Echo what decrypts: the session goes past the handshake if it can. */
static void on_read(ac_dispatcher *d)
{
    char buf[4096];
    ssize_t n = ac_recv(d, buf, sizeof(buf));

    if (n > 0)
        ac_send(d, buf, (size_t)n);
}

static void on_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void on_error(ac_dispatcher *d, int err, const char *where)
{
    (void)err;
    (void)where;
    ac_close(d);
}

static const ac_dispatcher_class server_class = {
    .name = "fuzz_tls",
    .handle_read = on_read,
    .handle_close = on_close,
    .handle_error = on_error,
};

static void setup(void)
{
    tc_certs c;
    ac_tls_opts o = {0};
    char err[256] = "";

    if (tc_certs_make(&c) < 0)
        abort();
    o.cert_file = c.server;
    o.key_file = c.key;
    server = ac_tls_ctx_new(AC_TLS_SERVER, &o, err, sizeof(err));
    tc_certs_remove(&c);
    if (!server) {
        fprintf(stderr, "fuzz_tls: no server context: %s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char sink[65536];
    ac_dispatcher d;
    ac_map *map;
    int sv[2], i;
    size_t off = 0;

    if (!server)
        setup();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!map)
        abort();
    ac_map_set_log(map, quiet, NULL);
    ac_dispatcher_init(&d, &server_class, map);
    if (ac_set_socket(&d, sv[0]) < 0 || ac_tls_start(&d, server, NULL) < 0)
        abort();
    /* the peer: the input, then end of stream; the server's answers are
     * read and dropped so its writes never block */
    for (i = 0; i < 1000 && !ac_closed(&d); i++) {
        if (off < size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
            if (off == size)
                shutdown(sv[1], SHUT_WR);
        } else if (size == 0 && i == 0) {
            shutdown(sv[1], SHUT_WR);
        }
        while (read(sv[1], sink, sizeof(sink)) > 0)
            ;
        if (ac_poll_once(map, 0) < 0)
            break;
    }
    if (!ac_closed(&d))
        ac_close(&d);
    close(sv[1]);
    ac_map_free(map);
    return 0;
}
