/* http_server: a static-file HTTP/1.1 server on async_chat, the role
 * medusa played for Python's asyncore.
 *
 *   http_server --root DIR [--host H] [--port P] [--threads N]
 *               [--loop native|glib|uv|event|qt|sdevent|ev]
 *               [--backend select|poll|epoll] [--tls-cert F --tls-key F]
 *               [--idle-timeout S] [--header-timeout S] [--send-timeout S]
 *               [--quiet]
 *
 * GET and HEAD; keep-alive with pipelined requests answered in order;
 * Last-Modified / If-Modified-Since; one byte range; a directory serves its
 * index.html. Nothing outside --root is ever opened (openat2 with
 * RESOLVE_BENEATH, or a walk with openat(O_NOFOLLOW) where there is none). Connections are in http_conn.c, the request parser in
 * http_request.c. */
#include "common.h"
#include "http_conn.h"
#include "http_request.h"
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
    printf("usage: %s --root DIR [--host H] [--port P] [--threads N]\n"
           "       %*s [--loop " EX_LOOPS "]\n"
           "       %*s [--backend select|poll|epoll]\n"
           "       %*s [--tls-cert FILE --tls-key FILE] [--idle-timeout S]\n"
           "       %*s [--header-timeout S] [--send-timeout S] [--quiet]\n"
           "       %*s [--stats]\n"
           "Serve the files under DIR over HTTP/1.1 (GET, HEAD; keep-alive,\n"
           "pipelining, If-Modified-Since, one byte range; a directory serves\n"
           "its index.html, never a listing). Nothing outside DIR is read.\n"
           "The first line on stdout is 'listening on HOST:PORT', then one\n"
           "line per request in common log format unless --quiet.\n"
           "--idle-timeout S closes a connection silent for S seconds\n"
           "(default 60) that has no response on its way.\n"
           "--header-timeout S: a request head must arrive whole within S\n"
           "seconds of its first byte (default 60), else 408 (when nothing\n"
           "was answered yet) and the connection closes.\n"
           "--send-timeout S: a response the client takes no byte of for S\n"
           "seconds (default 60) is abandoned and the connection closed.\n"
           "--stats prints each loop's statistics on stderr at exit.\n"
           "Limits: request line %d bytes (414 beyond), header section %d\n"
           "bytes or %d fields (431), a request body (read and dropped) %d\n"
           "bytes (413); other methods get 405.\n",
           ex_prog, (int)strlen(ex_prog), "", (int)strlen(ex_prog), "",
           (int)strlen(ex_prog), "", (int)strlen(ex_prog), "",
           (int)strlen(ex_prog), "", HTTP_MAX_LINE, HTTP_MAX_HEADERS,
           HTTP_MAX_FIELDS, HTTP_MAX_BODY);
}

int main(int argc, char **argv)
{
    const char *loop = "native", *root = NULL, *why;
    ex_server srv = {.host = "127.0.0.1", .port = 8080, .threads = 1,
                     .backend = AC_BACKEND_DEFAULT, .listen = http_listen};
    ex_tls tls = {0};
    struct stat st;
    double idle = 60, header = 60, send = 60;
    int i, failed;

    ex_prog = "http_server";
    for (i = 1; i < argc; i++) {
        if (ex_server_option(argc, argv, &i, &srv.host, &srv.port, usage)) {
            continue;
        } else if (!strcmp(argv[i], "--root")) {
            root = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--loop")) {
            loop = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--backend")) {
            srv.backend = ex_backend(ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--threads")) {
            srv.threads = ex_int("--threads", ex_value(argc, argv, &i), 1, 256);
        } else if (!strcmp(argv[i], "--idle-timeout")) {
            idle = ex_seconds("--idle-timeout", ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--header-timeout")) {
            header = ex_seconds("--header-timeout", ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--send-timeout")) {
            send = ex_seconds("--send-timeout", ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--quiet")) {
            http_cfg.quiet = true;
        } else if (ex_tls_option(argc, argv, &i, &tls, true)) {
            continue;
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    if (!root)
        ex_usage_error("--root DIR is required (try --help)");
    if (ex_loop_kind_of(loop, &srv.loop, &why) < 0)
        ex_usage_error("--loop %s: %s", loop, why);
#ifdef O_PATH
    http_cfg.root = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
#else /* a directory opened for reading: openat() walks from it */
    http_cfg.root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#endif
    if (http_cfg.root < 0 || fstat(http_cfg.root, &st) < 0)
        ex_usage_error("--root %s: %s", root, strerror(errno));
    http_cfg.idle_ms = (int)(idle * 1000);
    http_cfg.header_ms = (int)(header * 1000);
    http_cfg.send_ms = (int)(send * 1000);
    ex_tls_setup(&tls, true);
    if (ex_tls_on(&tls))
        http_cfg.tls = &tls;
    setvbuf(stdout, NULL, _IOLBF, 0); /* a log line leaves as it is made */
    failed = ex_serve(&srv);
    close(http_cfg.root);
    ex_tls_done(&tls);
    return failed;
}
