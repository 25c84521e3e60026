/* The readiness-hook contract that host adapters rely on (C-70..C-73).
 * These run against hooks written here, so they are independent of the
 * waiting mode; they register once per mode to share the harness. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    int watch, unwatch, unwatch_closed;
    int own_watch, own_unwatch; /* the map's own call wake-up channel */
    int last_fd;
    unsigned last_events;
    int fail_with;
    int detached;
} rec;

static void rec_detached(void *data)
{
    (void)data;
    rec.detached++;
}

/* The map's own channel (ac_map_call's eventfd) is watched like any other
 * but is not one of the test's: ac_map_get() does not show it. Counted
 * apart, so the counts below are the test's channels'. */
static bool own(ac_dispatcher *d, int fd)
{
    return ac_map_get(ac_dispatcher_get_map(d), fd) != d;
}

static int rec_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    (void)data;
    if (own(d, fd)) {
        rec.own_watch++;
        return 0;
    }
    rec.watch++;
    rec.last_fd = fd;
    rec.last_events = events;
    return rec.fail_with;
}

static void rec_unwatch(void *data, ac_dispatcher *d, int fd)
{
    (void)data;
    if (own(d, fd)) {
        rec.own_unwatch++;
        return;
    }
    rec.unwatch++;
    if (fcntl(fd, F_GETFD) < 0)
        rec.unwatch_closed++;
}

static ac_map *hooked_map(void)
{
    ac_map *map = t_map_new();
    ac_hooks h = {.watch = rec_watch, .unwatch = rec_unwatch, .detached = rec_detached};

    memset(&rec, 0, sizeof(rec));
    CU_ASSERT_EQUAL(ac_map_set_hooks(map, &h), 0);
    return map;
}

/* C-71, C-72: watch only on a real change; an idle declared map costs no
 * hook calls however often the host refreshes. */
static void test_watch_only_on_change(void)
{
    ac_map *map;
    tchan *t;
    int sv[2], i;

    map = hooked_map();
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(rec.watch, 1);
    CU_ASSERT_EQUAL(rec.last_events, AC_READ);
    for (i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(ac_map_refresh(map), 1);
    CU_ASSERT_EQUAL(rec.watch, 1);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    CU_ASSERT_EQUAL(rec.watch, 1);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ | AC_WRITE), 0);
    CU_ASSERT_EQUAL(rec.watch, 2);
    CU_ASSERT_EQUAL(rec.last_events, AC_READ | AC_WRITE);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, 0), 0);
    CU_ASSERT_EQUAL(rec.watch, 3);
    CU_ASSERT_EQUAL(rec.last_events, 0);
    /* pulled predicates: pushed at refresh, and only when they change */
    CU_ASSERT_EQUAL(ac_pull_interest(&t->d), 0);
    CU_ASSERT_EQUAL(ac_map_refresh(map), 1);
    CU_ASSERT_EQUAL(rec.watch, 4);
    CU_ASSERT_EQUAL(rec.last_events, AC_READ);
    for (i = 0; i < 100; i++)
        ac_map_refresh(map);
    CU_ASSERT_EQUAL(rec.watch, 4);
    t->want_write = true;
    ac_map_refresh(map);
    CU_ASSERT_EQUAL(rec.watch, 5);
    CU_ASSERT_EQUAL(rec.last_events, AC_READ | AC_WRITE);
    ac_close(&t->d);
    CU_ASSERT_EQUAL(rec.unwatch, 1);
    CU_ASSERT_EQUAL(rec.unwatch_closed, 0);
    close(sv[1]);
    ac_map_set_hooks(map, NULL);
    t_map_done(map);
}

/* C-71: unwatch comes before close, for every way a channel can go. */
static void test_unwatch_before_close(void)
{
    ac_map *map;
    int i, sv[2], peers[5];

    map = hooked_map();
    for (i = 0; i < 5; i++) {
        tchan *t = tchan_new(map);
        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        peers[i] = sv[1];
    }
    CU_ASSERT_EQUAL(rec.watch, 5);      /* joined with 0 */
    CU_ASSERT_EQUAL(ac_map_refresh(map), 5);
    CU_ASSERT_EQUAL(rec.watch, 10);     /* predicates asked: AC_READ */
    ac_close(ac_map_get(map, ac_fileno(ac_map_get(map, sv[0]))));
    CU_ASSERT_EQUAL(ac_close_all(map, false), 0);
    CU_ASSERT_EQUAL(rec.unwatch, 5);
    CU_ASSERT_EQUAL(rec.unwatch_closed, 0);
    for (i = 0; i < 5; i++)
        close(peers[i]);
    /* a pulled channel is watched with 0 as it joins, and unwatched even
     * if it never got interest */
    {
        tchan *t = tchan_new(map);
        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        CU_ASSERT_EQUAL(rec.watch, 11);
        CU_ASSERT_EQUAL(rec.last_events, 0);
        ac_close(&t->d);
        CU_ASSERT_EQUAL(rec.unwatch, 6);
        close(sv[1]);
    }
    ac_map_set_hooks(map, NULL);
    t_map_done(map);
}

/* Hooks installed on a populated map see every channel; removing them
 * unwatches every channel and the map's backend takes over again. */
static void test_attach_detach(void)
{
    ac_map *map;
    tchan *t;
    int sv[2];
    ac_hooks h = {.watch = rec_watch, .unwatch = rec_unwatch, .detached = rec_detached};

    map = t_map_new();
    memset(&rec, 0, sizeof(rec));
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_map_set_hooks(map, &h), 0);
    CU_ASSERT_EQUAL(rec.watch, 1);
    CU_ASSERT_EQUAL(rec.own_watch, 1); /* hosts wait for calls too */
    CU_ASSERT_EQUAL(ac_map_set_hooks(map, &h), -EBUSY); /* one host */
    CU_ASSERT_EQUAL(ac_poll_once(map, 0), -EBUSY); /* a host drives it */
    CU_ASSERT_EQUAL(rec.detached, 0);
    CU_ASSERT_EQUAL(ac_map_set_hooks(map, NULL), 0);
    CU_ASSERT_EQUAL(rec.unwatch, 1);
    CU_ASSERT_EQUAL(rec.own_unwatch, 1);
    CU_ASSERT_EQUAL(rec.detached, 1);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(ac_poll_once(map, 1000), 1);
    CU_ASSERT_EQUAL(t->n_read, 1);
    ac_close(&t->d);
    CU_ASSERT_EQUAL(rec.unwatch, 1); /* hooks gone: not called again */
    close(sv[1]);
    t_map_done(map);
}

/* Freeing a hooked map with open channels: every channel is unwatched
 * (fd still open), then detached; nothing is called afterwards (C-74). */
static void test_free_hooked_map(void)
{
    ac_map *map = hooked_map();
    int i, sv[2], peers[3];

    for (i = 0; i < 3; i++) {
        tchan *t = tchan_new(map);
        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        peers[i] = sv[1];
    }
    CU_ASSERT_EQUAL(ac_map_refresh(map), 3);
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
    CU_ASSERT_EQUAL(rec.unwatch, 3);
    CU_ASSERT_EQUAL(rec.unwatch_closed, 0);
    CU_ASSERT_EQUAL(rec.detached, 1);
    for (i = 0; i < 3; i++)
        close(peers[i]);
    t_map_done(t_map_new());
}

/* A failing watch reaches the channel's handle_error("watch"), after the
 * wait: nothing of the channel's runs in the refresh before it (C-89). */
static void test_watch_failure_reported(void)
{
    ac_map *map;
    tchan *t;
    int sv[2], before;

    map = hooked_map();
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    before = t_destroyed;
    rec.fail_with = -ENOMEM;
    ac_map_refresh(map);
    CU_ASSERT_EQUAL(t->n_error, 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), 0); /* the host must not sleep */
    CU_ASSERT_EQUAL(ac_map_run_due(map), 1);
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(rec.unwatch, 1);
    close(sv[1]);
    ac_map_set_hooks(map, NULL);
    t_map_done(map);
}

/* The map's epoll descriptor as the one fd a host watches. */
static void test_backend_fd(void)
{
    ac_map *map;
    tchan *t;
    int sv[2], efd;
    struct pollfd p;

    map = t_map_new();
    efd = ac_map_backend_fd(map);
    if (t_current != T_EPOLL) {
        CU_ASSERT_EQUAL(efd, -EOPNOTSUPP);
        t_map_done(map);
        return;
    }
    CU_ASSERT_FATAL(efd >= 0);
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_map_refresh(map), 1);
    p.fd = efd;
    p.events = POLLIN;
    CU_ASSERT_EQUAL(poll(&p, 1, 0), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(poll(&p, 1, 1000), 1);
    CU_ASSERT_EQUAL(ac_poll_once(map, 0), 1);
    CU_ASSERT_EQUAL(t->n_read, 1);
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

/* Readiness for a channel that joined after the last refresh is held
 * back, even when delivered by fd number (C-73, the epoch rule). */
static void test_dispatch_epoch(void)
{
    ac_map *map;
    tchan *t;
    int sv[2];

    map = hooked_map();
    ac_map_refresh(map);
    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(ac_map_dispatch(map, sv[0], AC_IN), 0);
    CU_ASSERT_EQUAL(t->n_read, 0);
    ac_map_refresh(map);
    CU_ASSERT_EQUAL(ac_map_dispatch(map, sv[0], AC_IN), 1);
    CU_ASSERT_EQUAL(t->n_read, 1);
    CU_ASSERT_EQUAL(ac_map_dispatch(map, sv[1], AC_IN), 0); /* not ours */
    ac_close(&t->d);
    close(sv[1]);
    ac_map_set_hooks(map, NULL);
    t_map_done(map);
}

/* host data travels with the channel */
static void test_host_data(void)
{
    ac_map *map;
    ac_dispatcher d;
    int x;

    map = t_map_new();
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_PTR_NULL(ac_get_host_data(&d));
    ac_set_host_data(&d, &x);
    CU_ASSERT_PTR_EQUAL(ac_get_host_data(&d), &x);
    ac_close(&d);
    t_map_done(map);
}

static CU_TestInfo native[] = {
    {"backend_fd", test_backend_fd},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo tests[] = {
    {"watch_only_on_change", test_watch_only_on_change},
    {"unwatch_before_close", test_unwatch_before_close},
    {"attach_detach", test_attach_detach},
    {"free_hooked_map", test_free_hooked_map},
    {"watch_failure_reported", test_watch_failure_reported},
    {"dispatch_epoch", test_dispatch_epoch},
    {"host_data", test_host_data},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register_modes("hooks", tests, T_ONCE);
    t_register_modes("hooks", native, T_NATIVE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
