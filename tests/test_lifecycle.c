/* Lifecycle safety: close and add inside handlers, deferred destroy, and
 * descriptor reuse within one iteration (C-10, C-73, D-03). */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* destroy runs after the handler that closed the channel returns, exactly
 * once; the handler may still touch the channel after ac_close(). */
static int destroyed_in_handler = -1;
static void close_self_then_touch(tchan *t)
{
    int before = t_destroyed;
    ac_close(&t->d);
    destroyed_in_handler = t_destroyed - before;
    t->flag = true;
    t->n_expt = 42; /* memory still ours until the handler returns */
}

static void test_close_self_deferred_destroy(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], before = t_destroyed;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = close_self_then_touch;
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT(t_step(map, 1000) >= 1);
    CU_ASSERT_EQUAL(destroyed_in_handler, 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    close(sv[1]);
    t_map_done(map);
}

/* Outside any handler, destroy runs inside ac_close. */
static void test_close_outside_handler(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], before = t_destroyed;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_close(&t->d), 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    close(sv[1]);
    /* a channel that never had a descriptor is destroyed too */
    t = tchan_new(map);
    CU_ASSERT_EQUAL(ac_close(&t->d), 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 2);
    t_map_done(map);
}

/* Two channels with pending input; whichever runs first closes the other
 * and opens a new channel, which takes the freed descriptor number. The
 * closed one must not run, and the new one must not receive the old
 * channel's readiness in this iteration (C-73). */
typedef struct {
    tchan *a, *b, *fresh;
    int other_fd[2];
    int spare[2];
} swap_ctx;

static swap_ctx sc;

static void fresh_read(tchan *t)
{
    char buf[16];
    /* only ever dispatched when its own data arrived */
    CU_ASSERT(ac_recv(&t->d, buf, sizeof(buf)) > 0);
    t->flag = true;
}

static void close_other_open_new(tchan *t)
{
    tchan *other = t == sc.a ? sc.b : sc.a;
    int freed = ac_fileno(&other->d);
    char buf[16];

    CU_ASSERT(ac_recv(&t->d, buf, sizeof(buf)) > 0);
    if (sc.fresh)
        return; /* the other one already did this: cannot happen */
    ac_close(&other->d);
    t_socketpair(sc.spare);
    /* the lowest free number is the one just freed */
    CU_ASSERT_EQUAL(sc.spare[0], freed);
    sc.fresh = tchan_new(ac_dispatcher_get_map(&t->d));
    sc.fresh->on_read = fresh_read;
    CU_ASSERT_EQUAL(ac_set_socket(&sc.fresh->d, sc.spare[0]), 0);
}

static void test_fd_reuse_same_iteration(void)
{
    ac_map *map = t_map_new();
    int sa[2], sb[2];
    int reads;

    memset(&sc, 0, sizeof(sc));
    t_socketpair(sa);
    t_socketpair(sb);
    sc.a = tchan_new(map);
    sc.b = tchan_new(map);
    sc.a->on_read = sc.b->on_read = close_other_open_new;
    CU_ASSERT_EQUAL(ac_set_socket(&sc.a->d, sa[0]), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&sc.b->d, sb[0]), 0);
    CU_ASSERT_EQUAL(write(sa[1], "a", 1), 1);
    CU_ASSERT_EQUAL(write(sb[1], "b", 1), 1);
    CU_ASSERT_EQUAL(t_step(map, 1000), 1); /* one ran, the other was closed */
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc.fresh);
    reads = sc.fresh->n_read;
    CU_ASSERT_EQUAL(reads, 0);
    CU_ASSERT_EQUAL(ac_map_count(map), 2);
    /* next iteration: the new channel works normally */
    CU_ASSERT_EQUAL(write(sc.spare[1], "c", 1), 1);
    CU_ASSERT_TRUE(t_run_until(map, &sc.fresh->flag, 1000));
    ac_close_all(map, false);
    close(sa[1]);
    close(sb[1]);
    close(sc.spare[1]);
    t_map_done(map);
}

/* Channels added during dispatch get events from the next iteration on. */
static tchan *added[8];
static void add_channels(tchan *t)
{
    int i, sv[2];
    char buf[8];

    ac_recv(&t->d, buf, sizeof(buf));
    for (i = 0; i < 8; i++) {
        t_socketpair(sv);
        added[i] = tchan_new(ac_dispatcher_get_map(&t->d));
        CU_ASSERT_EQUAL(ac_set_socket(&added[i]->d, sv[0]), 0);
        CU_ASSERT_EQUAL(write(sv[1], "z", 1), 1);
        close(sv[1]); /* EOF after the byte: each closes itself */
    }
}

static void test_add_during_dispatch(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], i;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = add_channels;
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(t_step(map, 1000), 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 9);
    for (i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(added[i]->n_read, 0);
    ac_close(&t->d);
    close(sv[1]);
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    t_map_done(map);
}

/* A handler closes every channel of the map, including itself. */
static void close_everything(tchan *t)
{
    CU_ASSERT_EQUAL(ac_close_all(ac_dispatcher_get_map(&t->d), false), 0);
    t->flag = true;
}

static void test_close_all_from_handler(void)
{
    ac_map *map = t_map_new();
    int i, peers[20], before = t_destroyed;

    for (i = 0; i < 20; i++) {
        int sv[2];
        tchan *t = tchan_new(map);
        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
        t->on_read = close_everything;
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        peers[i] = sv[1];
    }
    CU_ASSERT_EQUAL(t_step(map, 1000), 1);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 20);
    for (i = 0; i < 20; i++)
        close(peers[i]);
    t_map_done(map);
}

/* destroy that closes another channel: queued, not recursive. */
static tchan *victim;
static void destroy_closes_victim(ac_dispatcher *d)
{
    if (victim) {
        tchan *v = victim;
        victim = NULL;
        ac_close(&v->d);
    }
    t_destroyed++;
    free(TCHAN(d));
}

static void test_destroy_closes_other(void)
{
    static ac_dispatcher_class cls;
    ac_map *map = t_map_new();
    tchan *a = tchan_new(map), *b = tchan_new(map);
    int sa[2], sb[2], before = t_destroyed;

    cls = tchan_class;
    cls.destroy = destroy_closes_victim;
    a->d.klass = &cls;
    t_socketpair(sa);
    t_socketpair(sb);
    CU_ASSERT_EQUAL(ac_set_socket(&a->d, sa[0]), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&b->d, sb[0]), 0);
    victim = b;
    CU_ASSERT_EQUAL(ac_close(&a->d), 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 2);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    close(sa[1]);
    close(sb[1]);
    t_map_done(map);
}

/* Freeing a map from its own handler is refused; freeing it with open
 * channels closes and destroys them. */
static int free_result;
static void free_map_in_handler(tchan *t)
{
    free_result = ac_map_free(ac_dispatcher_get_map(&t->d));
    t->flag = true;
    ac_close(&t->d);
}

static void test_map_free_rules(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], before;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = free_map_in_handler;
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(t_step(map, 1000), 1);
    CU_ASSERT_EQUAL(free_result, -EBUSY);
    close(sv[1]);

    t = tchan_new(map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    before = t_destroyed;
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    CU_ASSERT_FALSE(t_fd_open(sv[0]));
    close(sv[1]);
    map = t_map_new();
    t_map_done(map);
}

/* ac_close_lingering: the peer gets everything sent, then EOF; the channel
 * goes once the peer closes, the time runs out, or the byte budget is
 * spent; no handler runs meanwhile. */
static void test_linger_peer_closes(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], before = t_destroyed;
    char buf[16];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_send(&t->d, "last words", 10), 10);
    CU_ASSERT_EQUAL(write(sv[1], "unread", 6), 6);
    CU_ASSERT_EQUAL(ac_close_lingering(&t->d, 5000, 1 << 20), 0);
    CU_ASSERT_EQUAL(ac_send(&t->d, "x", 1), -EPIPE);
    CU_ASSERT_EQUAL(read(sv[1], buf, sizeof(buf)), 10);
    CU_ASSERT_EQUAL(read(sv[1], buf, sizeof(buf)), 0); /* EOF, not a reset */
    CU_ASSERT_EQUAL(write(sv[1], "more", 4), 4);
    t_step(map, 50);
    CU_ASSERT_EQUAL(ac_map_count(map), 1); /* still draining */
    CU_ASSERT_EQUAL(t->n_read, 0);
    close(sv[1]);
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    t_map_done(map);
}

static void test_linger_timeout(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2], due;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    CU_ASSERT_EQUAL(ac_close_lingering(&t->d, 100, 1 << 20), 0);
    due = ac_map_timeout(map);
    CU_ASSERT(due >= 0 && due <= 100);
    /* the peer neither sends nor closes: the deadline ends it */
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    close(sv[1]);
    t_map_done(map);
}

static void test_linger_byte_budget(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2];
    static char junk[20000];

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_close_lingering(&t->d, 10000, 1000), 0);
    CU_ASSERT_EQUAL(write(sv[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    close(sv[1]);
    /* a channel that is not connected just closes */
    t = tchan_new(map);
    CU_ASSERT_EQUAL(ac_create_socket(&t->d, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_close_lingering(&t->d, 1000, 10), 0);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"linger_peer_closes", test_linger_peer_closes},
    {"linger_timeout", test_linger_timeout},
    {"linger_byte_budget", test_linger_byte_budget},
    {"close_self_deferred_destroy", test_close_self_deferred_destroy},
    {"close_outside_handler", test_close_outside_handler},
    {"fd_reuse_same_iteration", test_fd_reuse_same_iteration},
    {"add_during_dispatch", test_add_during_dispatch},
    {"close_all_from_handler", test_close_all_from_handler},
    {"destroy_closes_other", test_destroy_closes_other},
    {"map_free_rules", test_map_free_rules},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("lifecycle", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
