/* The libevent echo server as libevent users write it: an evconnlistener
 * and a bufferevent per connection, whatever arrives moved to the output.
 *   event_echo [--port P]   prints "listening on 127.0.0.1:PORT" */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int len, void *arg)
{
    struct bufferevent *bev = bufferevent_socket_new(
        evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);

    (void)sa;
    (void)len;
    (void)arg;
    bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
    (void)sig;
    (void)what;
    event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
    struct event_base *base = event_base_new();
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    struct evconnlistener *l;
    struct event *term;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(argc > 2 ? (unsigned short)atoi(argv[2]) : 0);
    l = evconnlistener_new_bind(base, on_accept, NULL,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                4096, (struct sockaddr *)&a, sizeof(a));
    if (!l)
        return 1;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    term = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(term, NULL);
    event_base_dispatch(base);
    event_free(term);
    evconnlistener_free(l);
    event_base_free(base);
    return 0;
}
