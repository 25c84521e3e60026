/* One map per thread needs no locks (DESIGN): four threads, each with its
 * own map, listener, clients and echo channels, run at once. Built and run
 * under ThreadSanitizer in CI, where any shared state would be reported. */
#include "helpers.h"

#include <asyncore/asynchat.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define CLIENTS 8
#define LINES 200

typedef struct {
    ac_chat chat;
    int *lines; /* the thread's counter */
} echo;

static void echo_line(ac_chat *c)
{
    size_t len;
    const char *d = ac_chat_data(c, &len);
    echo *e = AC_CONTAINER_OF(c, echo, chat);

    if (ac_connected(&c->base) && e->lines == NULL) {
        /* server side: echo the line back */
        ac_chat_push(c, d, len);
        ac_chat_push(c, "\n", 1);
    } else if (e->lines && ++*e->lines % LINES == 0) {
        ac_close(&c->base); /* client got all its lines back */
    } else if (e->lines) {
        ac_chat_push(c, "ping\n", 5);
    }
    ac_chat_clear_data(c);
}

static void echo_destroy(ac_dispatcher *d)
{
    free(AC_CONTAINER_OF(AC_CHAT_OF(d), echo, chat));
}

static const ac_chat_class echo_class = {
    .base = {.name = "echo", .parent = AC_CHAT_PARENT, .destroy = echo_destroy},
    .found_terminator = echo_line,
};

static echo *echo_new(ac_map *map, int *lines)
{
    echo *e = calloc(1, sizeof(*e));
    ac_chat_init(&e->chat, &echo_class, map);
    ac_chat_set_terminator(&e->chat, "\n", 1);
    e->lines = lines;
    return e;
}

static void accepted(ac_dispatcher *d, int fd, const struct sockaddr *a,
                     socklen_t l)
{
    echo *e = echo_new(ac_dispatcher_get_map(d), NULL);
    (void)a;
    (void)l;
    if (ac_set_socket(&e->chat.base, fd) < 0)
        close(fd);
}

static const ac_dispatcher_class listener_class = {
    .name = "listener", .handle_accepted = accepted};

typedef struct {
    int lines, ok;
} result;

static void *run(void *arg)
{
    result *res = arg;
    ac_map *map = ac_map_new(T_FD_BACKEND);
    ac_dispatcher lst;
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_storage a;
    socklen_t l;
    int i, rounds = 0;

    ac_dispatcher_init(&lst, &listener_class, map);
    ac_create_socket(&lst, AF_INET, SOCK_STREAM);
    ac_bind(&lst, (struct sockaddr *)&in, sizeof(in));
    ac_listen(&lst, 64);
    ac_getsockname(&lst, &a, &l);
    for (i = 0; i < CLIENTS; i++) {
        echo *c = echo_new(map, &res->lines);
        ac_create_socket(&c->chat.base, AF_INET, SOCK_STREAM);
        ac_connect(&c->chat.base, (struct sockaddr *)&a, l);
        ac_chat_push(&c->chat, "ping\n", 5); /* queued until connected */
    }
    /* until every client got its lines: then only the listener and the
     * server sides are left; close them all */
    while (res->lines < CLIENTS * LINES && rounds++ < 100000)
        ac_poll_once(map, 100);
    ac_close_all(map, false);
    res->ok = ac_map_count(map) == 0 && res->lines == CLIENTS * LINES;
    ac_map_free(map);
    return NULL;
}

static void test_four_maps_four_threads(void)
{
    pthread_t th[THREADS];
    result res[THREADS];
    int i;

    memset(res, 0, sizeof(res));
    for (i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, run, &res[i]), 0);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_TRUE(res[i].ok);
        CU_ASSERT_EQUAL(res[i].lines, CLIENTS * LINES);
    }
}

static CU_TestInfo tests[] = {
    {"four_maps_four_threads", test_four_maps_four_threads},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register_modes("threads", tests, T_ONCE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
