/* The libuv echo server as libuv users write it: uv_tcp_t, a buffer per
 * read, uv_write, free in the write callback.
 *   uv_echo [--port P]   prints "listening on 127.0.0.1:PORT" */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} wreq;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(suggested);
    b->len = suggested;
}

static void on_written(uv_write_t *r, int status)
{
    (void)status;
    free(((wreq *)r)->buf.base);
    free(r);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n > 0) {
        wreq *w = malloc(sizeof(*w));
        w->buf = uv_buf_init(b->base, (unsigned)n);
        uv_write(&w->req, s, &w->buf, 1, on_written);
        return;
    }
    free(b->base);
    if (n < 0)
        uv_close((uv_handle_t *)s, (uv_close_cb)free);
}

static void on_conn(uv_stream_t *server, int status)
{
    uv_tcp_t *c;

    if (status < 0)
        return;
    c = malloc(sizeof(*c));
    uv_tcp_init(server->loop, c);
    if (uv_accept(server, (uv_stream_t *)c) == 0)
        uv_read_start((uv_stream_t *)c, on_alloc, on_read);
    else
        uv_close((uv_handle_t *)c, (uv_close_cb)free);
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in a;
    int len = sizeof(a);

    uv_ip4_addr("127.0.0.1", argc > 2 ? atoi(argv[2]) : 0, &a);
    uv_tcp_init(loop, &server);
    if (uv_tcp_bind(&server, (struct sockaddr *)&a, 0) ||
        uv_listen((uv_stream_t *)&server, 4096, on_conn))
        return 1;
    uv_tcp_getsockname(&server, (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
