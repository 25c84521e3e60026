/* Map and loop (CONFORMANCE C-01..C-06, C-35). */
#include "helpers.h"

#include "ac_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* C-01: an empty map returns at once, whatever the timeout. */
static void test_empty_map(void)
{
    ac_map *map = t_map_new();
    ac_loop_opts o = {.timeout_ms = 5000};
    long long t0 = ms_now();

    CU_ASSERT_EQUAL(t_step(map, 5000), 0);
    if (!t_hosted()) {
        CU_ASSERT_EQUAL(ac_poll_once(map, 5000), 0);
        CU_ASSERT_EQUAL(ac_loop(map, &o), 0);
    }
    CU_ASSERT(ms_now() - t0 < 2000);
    t_map_done(map);
}

/* An iteration whose refresh leaves the map empty returns at once, on
 * every backend and host (the last channel closes from its predicate). */
static bool close_in_predicate(ac_dispatcher *d)
{
    ac_close(d);
    return false;
}

static const ac_dispatcher_class closing_class = {
    .name = "closing",
    .readable = close_in_predicate,
};

static void test_emptied_by_refresh(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher *d = calloc(1, sizeof(*d));
    int sv[2];
    long long ms;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_dispatcher_init(d, &closing_class, map), 0);
    CU_ASSERT_EQUAL(ac_set_socket(d, sv[0]), 0);
    ms = t_run_host(map, 3000);
    CU_ASSERT(ms < 1500);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    if (!t_hosted()) {
        CU_ASSERT_EQUAL(ac_dispatcher_init(d, &closing_class, map), 0);
        CU_ASSERT_EQUAL(ac_set_socket(d, sv[1]), 0);
        ms = ms_now();
        CU_ASSERT_EQUAL(ac_poll_once(map, 3000), 0);
        CU_ASSERT(ms_now() - ms < 1500);
    } else {
        close(sv[1]);
    }
    free(d);
    t_map_done(map);
}

/* C-02: count bounds the iterations; unlimited runs until empty. */
static void close_after_five(tchan *t)
{
    if (t->n_write == 5)
        ac_close(&t->d);
}

static void test_loop_count(void)
{
    ac_map *map;
    tchan *t;
    int sv[2];
    ac_loop_opts o = {.timeout_ms = 100, .count = 3};

    map = t_map_new();
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->want_read = false;
    t->want_write = true;
    t->on_write = close_after_five;
    CU_ASSERT_EQUAL(ac_loop(map, &o), 0);
    CU_ASSERT_EQUAL(t->n_write, 3);
    o.count = 0;
    CU_ASSERT_EQUAL(ac_loop(map, &o), 0); /* until empty */
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    close(sv[1]);
    t_map_done(map);
}

/* C-02: ac_loop_stop from a handler ends ac_loop after that iteration. */
static void stop_on_write(tchan *t)
{
    ac_loop_stop(ac_dispatcher_get_map(&t->d));
}

static void test_loop_stop(void)
{
    ac_map *map;
    tchan *t;
    int sv[2];

    map = t_map_new();
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->want_write = true;
    t->on_write = stop_on_write;
    CU_ASSERT_EQUAL(ac_loop(map, NULL), 0);
    CU_ASSERT_EQUAL(t->n_write, 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 1);
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

/* C-03: a channel only receives events from its own map's loop, and NULL
 * means the default map. */
static void test_maps_are_separate(void)
{
    ac_map *map = t_map_new();
    ac_map *other = ac_map_new(AC_BACKEND_POLL);
    tchan *t = tchan_new(other);
    ac_dispatcher d;
    int sv[2], i;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    /* the step runs `map`, which holds nothing of `other` */
    {
        tchan *u = tchan_new(map);
        int sv2[2];
        t_socketpair(sv2);
        CU_ASSERT_EQUAL(ac_set_socket(&u->d, sv2[0]), 0);
        for (i = 0; i < 3; i++)
            t_step(map, 10);
        CU_ASSERT_EQUAL(t->n_read, 0);
        ac_close(&u->d);
        close(sv2[1]);
    }
    CU_ASSERT_EQUAL(ac_poll_once(other, 100), 1);
    CU_ASSERT_EQUAL(t->n_read, 1);
    ac_close(&t->d);
    close(sv[1]);
    CU_ASSERT_EQUAL(ac_map_free(other), 0);

    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, NULL), 0);
    CU_ASSERT_PTR_EQUAL(ac_dispatcher_get_map(&d), ac_map_default());
    ac_close(&d);
    CU_ASSERT_EQUAL(ac_map_free(ac_map_default()), 0);
    t_map_done(map);
}

/* C-04 (test_closeall): every channel closed, destroy called, map empty;
 * a descriptor closed behind the library's back gives EBADF, which
 * close_all ignores as Python does, while ac_close reports it. */
static void test_close_all(void)
{
    ac_map *map = t_map_new();
    int i, sv[2], destroyed = t_destroyed, fds[10];

    for (i = 0; i < 10; i++) {
        tchan *t = tchan_new(map);
        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        fds[i] = sv[1];
    }
    CU_ASSERT_EQUAL(ac_map_count(map), 10);
    CU_ASSERT_EQUAL(ac_close_all(map, false), 0);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(t_destroyed, destroyed + 10);
    for (i = 0; i < 10; i++)
        close(fds[i]);

    {
        tchan *t = tchan_new(map);
        int fd;
        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        fd = ac_fileno(&t->d);
        if (t_current == T_HOST)
            ac_map_set_hooks(map, NULL); /* the host must not see a dead fd */
        close(fd);
        CU_ASSERT_EQUAL(ac_close(&t->d), -EBADF);
        CU_ASSERT_EQUAL(ac_map_count(map), 0);
        close(sv[1]);
    }
    t_map_done(map);
}

/* C-05: neither readable nor writable: not waited on, not woken. */
static void test_not_interested(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], i;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->want_read = false;
    t->want_write = false;
    t->on_close = tchan_keep_open;
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    close(sv[1]); /* even a hang-up must not wake it */
    for (i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(t_step(map, 10), 0);
    CU_ASSERT_EQUAL(t->n_read + t->n_write + t->n_close, 0);
    if (t_current == T_HOST)
        CU_ASSERT_EQUAL(t_host_events(ac_fileno(&t->d)), 0);
    t->want_read = true;
    t_changed_outside(map);
    CU_ASSERT(t_step(map, 100) >= 1);
    CU_ASSERT_EQUAL(t->n_read, 1);
    ac_close(&t->d);
    t_map_done(map);
}

/* C-06: a listening channel is never waited on for writing. */
static void test_listener_never_writable(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    tchan *s = tchan_server(map, AF_INET, &a, &l);
    int i;

    s->want_write = true;
    for (i = 0; i < 3; i++)
        t_step(map, 10);
    CU_ASSERT_EQUAL(s->n_write, 0);
    if (t_current == T_HOST)
        CU_ASSERT_EQUAL(t_host_events(ac_fileno(&s->d)) & AC_OUT, 0);
    /* even declared write interest is dropped */
    CU_ASSERT_EQUAL(ac_set_interest(&s->d, AC_READ | AC_WRITE), 0);
    for (i = 0; i < 3; i++)
        t_step(map, 10);
    CU_ASSERT_EQUAL(s->n_write, 0);
    ac_close(&s->d);
    t_map_done(map);
}

/* C-35 (test_log, test_log_info): messages go through the map's log
 * function; below the map's level they are dropped. */
static int seen_level = -1;
static char seen_msg[128];
static void my_log(ac_map *m, ac_log_level level, const char *msg, void *data)
{
    (void)m;
    *(int *)data += 1;
    seen_level = (int)level;
    snprintf(seen_msg, sizeof(seen_msg), "%s", msg);
}

static void test_log(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher d;
    int calls = 0;

    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    ac_map_set_log(map, my_log, &calls);
    ac_map_set_log_level(map, AC_LOG_WARNING);
    ac_log_info(&d, AC_LOG_INFO, "quiet %d", 1);
    CU_ASSERT_EQUAL(calls, 0);
    ac_log_info(&d, AC_LOG_ERROR, "loud %d", 2);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(seen_level, AC_LOG_ERROR);
    CU_ASSERT_STRING_EQUAL(seen_msg, "loud 2");
    ac_close(&d);
    t_map_done(map);
}

/* Argument checks at the boundary. */
static void test_bad_arguments(void)
{
    ac_map *map = t_map_new();

    CU_ASSERT_EQUAL(ac_map_free(NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_dispatcher_init(NULL, NULL, map), -EINVAL);
    CU_ASSERT_PTR_NULL(ac_map_new((ac_backend)42));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(ac_map_dispatch(map, -1, AC_IN), -EINVAL);
    CU_ASSERT_EQUAL(ac_map_dispatch(map, 12345, AC_IN), 0);
    CU_ASSERT_EQUAL(ac_map_set_backend(map, (ac_backend)42), -EINVAL);
    CU_ASSERT_PTR_NULL(ac_map_get(map, -3));
    CU_ASSERT_PTR_NULL(ac_map_get(map, 1 << 20));
    t_map_done(map);
}

/* ac_poll_once from a handler of the same map is refused. */
static int nested_result;
static void nested_poll(tchan *t)
{
    nested_result = ac_poll_once(ac_dispatcher_get_map(&t->d), 0);
    t->flag = true;
}

static void test_nested_poll_refused(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = nested_poll;
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_TRUE(t_run_until(map, &t->flag, 1000));
    CU_ASSERT_EQUAL(nested_result, -EBUSY);
    CU_ASSERT_EQUAL(ac_map_free(map), 0); /* closes t */
    close(sv[1]);
    map = t_map_new();
    t_map_done(map);
}

/* Switching backends mid-stream keeps every channel's interest. */
static void test_switch_backend(void)
{
    ac_map *map;
    tchan *t;
    int sv[2];
    ac_backend b;

    map = t_map_new();
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    for (b = AC_BACKEND_SELECT; b <= AC_BACKEND_EPOLL; b++) {
        int before = t->n_read;

        if (b == AC_BACKEND_EPOLL && !AC_HAVE_EPOLL) {
            /* not built here: refused, and the map keeps its backend */
            CU_ASSERT_EQUAL(ac_map_set_backend(map, b), -ENOSYS);
            CU_ASSERT_EQUAL(ac_map_get_backend(map), AC_BACKEND_POLL);
            continue;
        }
        CU_ASSERT_EQUAL(ac_map_set_backend(map, b), 0);
        CU_ASSERT_EQUAL(ac_map_get_backend(map), b);
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        CU_ASSERT_EQUAL(ac_poll_once(map, 1000), 1);
        CU_ASSERT_EQUAL(t->n_read, before + 1);
    }
    CU_ASSERT_STRING_EQUAL(ac_backend_name(AC_BACKEND_SELECT), "select");
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

/* ac_loop and backend switching are the native loop's own. */
static CU_TestInfo native[] = {
    {"loop_count", test_loop_count},
    {"loop_stop", test_loop_stop},
    {"switch_backend", test_switch_backend},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo tests[] = {
    {"empty_map", test_empty_map},
    {"emptied_by_refresh", test_emptied_by_refresh},
    {"maps_are_separate", test_maps_are_separate},
    {"close_all", test_close_all},
    {"not_interested", test_not_interested},
    {"listener_never_writable", test_listener_never_writable},
    {"log", test_log},
    {"bad_arguments", test_bad_arguments},
    {"nested_poll_refused", test_nested_poll_refused},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("map", tests);
    t_register_modes("map", native, T_NATIVE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
