/* Seeds 003/004 (the Python documentation): "asyncore Example basic echo
 * server".
 *
 *   echo_server [--port P] [--backend B] [--loop L]
 *
 *   class EchoHandler(asyncore.dispatcher_with_send):
 *       def handle_read(self):
 *           data = self.recv(8192)
 *           if data:
 *               self.send(data)
 *   class EchoServer(asyncore.dispatcher):
 *       def __init__(self, host, port):
 *           asyncore.dispatcher.__init__(self)
 *           self.create_socket()
 *           self.set_reuse_addr()
 *           self.bind((host, port))
 *           self.listen(5)
 *       def handle_accepted(self, sock, addr):
 *           print('Incoming connection from %s' % repr(addr))
 *           handler = EchoHandler(sock)
 *   server = EchoServer('localhost', 8080)
 *   asyncore.loop()
 *
 * Also prints "listening on HOST:PORT" first (so --port 0 can be used),
 * and exits 0 on SIGINT/SIGTERM. */
#include "seed.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void handler_read(ac_dispatcher *d)
{
    ac_dispatcher_with_send *w = AC_CONTAINER_OF(d, ac_dispatcher_with_send,
                                                 base);
    char data[8192];
    ssize_t n = ac_recv(d, data, sizeof(data));

    if (n > 0)
        ac_with_send(w, data, (size_t)n);
}

static void handler_destroy(ac_dispatcher *d)
{
    free(AC_CONTAINER_OF(d, ac_dispatcher_with_send, base));
}

static const ac_dispatcher_class echo_handler_class = {
    .name = "EchoHandler",
    .parent = &ac_with_send_class,
    .handle_read = handler_read,
    .destroy = handler_destroy,
};

static void server_accepted(ac_dispatcher *d, int fd,
                            const struct sockaddr *addr, socklen_t len)
{
    char host[AC_ADDRSTRLEN], *colon;
    ac_dispatcher_with_send *handler = malloc(sizeof(*handler));

    (void)d;
    ac_addr_string(addr, len, host, sizeof(host));
    colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    printf("Incoming connection from ('%s', %d)\n", host, ac_addr_port(addr));
    fflush(stdout);
    if (!handler || ac_with_send_init(handler, &echo_handler_class, NULL) < 0 ||
        ac_set_socket(&handler->base, fd) < 0) {
        free(handler);
        close(fd);
    }
}

static const ac_dispatcher_class echo_server_class = {
    .name = "EchoServer",
    .handle_accepted = server_accepted,
};

int main(int argc, char **argv)
{
    static const char usage[] =
        "usage: echo_server [--port P] [--backend B] [--loop L]";
    seed_loop loop = seed_init(&argc, argv, usage);
    ac_dispatcher server;
    struct sockaddr_storage addr;
    socklen_t len;
    int port = 8080, r;

    if (argc == 3 && !strcmp(argv[1], "--port"))
        port = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    ac_dispatcher_init(&server, &echo_server_class, NULL);
    if ((r = ac_create_socket(&server, AF_INET, SOCK_STREAM)) < 0 ||
        (r = ac_set_reuse_addr(&server)) < 0 ||
        (r = ac_resolve("localhost", port, AF_INET, true, &addr, &len)) < 0 ||
        (r = ac_bind(&server, (struct sockaddr *)&addr, len)) < 0 ||
        (r = ac_listen(&server, 5)) < 0) {
        fprintf(stderr, "echo_server: %s\n", ac_strerror(r));
        return 1;
    }
    ex_print_listening("listening", &server);
    seed_run(loop); /* until SIGINT or SIGTERM */
    ac_close_all(NULL, true);
    return 0;
}
