/* The GLib echo server as GLib users write it: non-blocking sockets, one
 * g_unix_fd_add() source per connection.
 *   glib_echo [--port P]   prints "listening on 127.0.0.1:PORT" */
#include <glib-unix.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static gboolean on_client(gint fd, GIOCondition cond, gpointer data)
{
    static char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);

    (void)cond;
    (void)data;
    if (n > 0) {
        ssize_t off = 0;
        while (off < n) { /* small echoes: the socket buffer takes them */
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += w;
        }
        return G_SOURCE_CONTINUE;
    }
    close(fd);
    return G_SOURCE_REMOVE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);

    (void)cond;
    (void)data;
    if (c >= 0)
        g_unix_fd_add(c, G_IO_IN, on_client, NULL);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

    a.sin_port = htons(argc > 2 ? (unsigned short)atoi(argv[2]) : 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0)
        return 1;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    g_unix_fd_add(lfd, G_IO_IN, on_accept, NULL);
    g_main_loop_run(g_main_loop_new(NULL, FALSE));
    return 0;
}
