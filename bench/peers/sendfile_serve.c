/* The file transfer floor: a hand-written, blocking server that answers
 * every connection's first request with FILE, its header and then
 * sendfile(2) until the end, one connection at a time.
 *   sendfile_serve FILE   prints "listening on 127.0.0.1:PORT" */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct stat st;
    int file;

    if (argc < 2 || (file = open(argv[1], O_RDONLY)) < 0 || fstat(file, &st))
        return 2;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16))
        return 1;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        char req[4096], hdr[256];
        int c = accept(lfd, NULL, NULL), n;
        off_t off = 0;

        if (c < 0)
            continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (recv(c, req, sizeof(req), 0) > 0) {
            n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: "
                         "%lld\r\nConnection: close\r\n\r\n",
                         (long long)st.st_size);
            if (send(c, hdr, (size_t)n, MSG_NOSIGNAL) == n)
                while (off < st.st_size &&
                       sendfile(c, file, &off, (size_t)(st.st_size - off)) > 0)
                    ;
        }
        close(c);
    }
}
