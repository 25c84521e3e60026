/* Channels on the host: a descriptor number reused inside a handler gets
 * no stale readiness (C-73), close_all from a handler (C-04, D-03), the
 * calls a handler may not make (re-entrancy), a peer that vanishes under
 * 1 MB of queued output, 1,000 idle channels that never wake the host
 * (C-72), detaching with channels open and freeing the map while attached
 * (C-74). */
#include "kit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct chan {
    ac_dispatcher d;
    int reads, closes, destroyed;
    struct chan *other; /* closed by this one's handler */
    kit *k;
} chan;

static void count_close(ac_dispatcher *d)
{
    AC_CONTAINER_OF(d, chan, d)->closes++;
    ac_close(d);
}

static void count_destroy(ac_dispatcher *d)
{
    AC_CONTAINER_OF(d, chan, d)->destroyed++;
}

static void drain(ac_dispatcher *d)
{
    char buf[256];

    AC_CONTAINER_OF(d, chan, d)->reads++;
    (void)ac_recv(d, buf, sizeof(buf));
}

static const ac_dispatcher_class quiet_class = {
    .name = "hostkit-chan", .handle_read = drain,
    .handle_close = count_close, .destroy = count_destroy,
};

/* ---- C-73: a number reused in a handler ---- */

static chan fresh;
static int fresh_peer = -1;

/* Close the other ready channel and open a new, silent one on its number
 * at once: the readiness the host collected for the old one must not
 * reach it. */
static void reuse_read(ac_dispatcher *d)
{
    chan *c = AC_CONTAINER_OF(d, chan, d);
    int fd, sv[2];

    drain(d);
    if (!c->other || fresh_peer >= 0)
        return;
    fd = ac_fileno(&c->other->d);
    ac_close(&c->other->d);
    if (socketpair(AF_UNIX, SOCK_STREAM | KIT_CLOEXEC, 0, sv) < 0)
        return;
    if (sv[0] != fd) {
#if AC_HAVE_DUP3
        dup3(sv[0], fd, O_CLOEXEC);
#else
        dup2(sv[0], fd);
#endif
        close(sv[0]);
    }
    fresh_peer = sv[1];
    ac_dispatcher_init(&fresh.d, &quiet_class, c->k->map);
    if (ac_set_socket(&fresh.d, fd) < 0 || ac_set_interest(&fresh.d, AC_READ) < 0)
        close(fd);
}

static const ac_dispatcher_class reuse_class = {
    .name = "hostkit-reuse", .handle_read = reuse_read,
    .handle_close = count_close, .destroy = count_destroy,
};

static void reuse(kit *k)
{
    chan a = {.k = k}, b = {.k = k};
    int pa, pb, i;

    memset(&fresh, 0, sizeof(fresh));
    fresh_peer = -1;
    if ((pa = kit_pair(k, &a.d, &reuse_class, AC_READ)) < 0)
        return;
    if ((pb = kit_pair(k, &b.d, &reuse_class, AC_READ)) < 0) {
        ac_close(&a.d);
        close(pa);
        return;
    }
    a.other = &b;
    b.other = &a;
    kit_settle(k);
    /* both ready in the same wait: whichever runs first closes the other */
    if (kit_send(pa, "a", 1) != 1 || kit_send(pb, "b", 1) != 1)
        kit_fail(k, __LINE__, "write failed");
    for (i = 0; i < 5 && fresh_peer < 0; i++)
        kit_step(k, 200);
    if (fresh_peer >= 0)
        kit_step(k, 50);
    ac_close(&a.d);
    ac_close(&b.d);
    ac_close(&fresh.d);
    close(pa);
    close(pb);
    if (fresh_peer >= 0)
        close(fresh_peer);
    KIT_CHECK(k, fresh_peer >= 0, "no handler ran");
    KIT_CHECK(k, fresh.reads == 0,
              "the channel on the reused number got its predecessor's "
              "readiness (%d read(s))", fresh.reads);
    KIT_CHECK(k, a.reads + b.reads == 1,
              "%d reads: a closed channel was dispatched",
              a.reads + b.reads);
}

/* ---- close_all from a handler ---- */

#define MANY 10

static chan many[MANY];

static void close_everything(ac_dispatcher *d)
{
    drain(d);
    ac_close_all(ac_dispatcher_get_map(d), true);
}

static const ac_dispatcher_class closer_class = {
    .name = "hostkit-closer", .handle_read = close_everything,
    .handle_close = count_close, .destroy = count_destroy,
};

static void close_all(kit *k)
{
    int peers[MANY], n, i, reads = 0, destroyed = 0;

    memset(many, 0, sizeof(many));
    for (n = 0; n < MANY; n++)
        if ((peers[n] = kit_pair(k, &many[n].d, &closer_class, AC_READ)) < 0)
            break;
    kit_settle(k);
    for (i = 0; i < n; i++)
        if (kit_send(peers[i], "x", 1) != 1)
            kit_fail(k, __LINE__, "write failed");
    for (i = 0; i < 10 && ac_map_count(k->map) > 0; i++)
        kit_step(k, 200);
    kit_step(k, 20); /* the host goes on with an empty map */
    for (i = 0; i < n; i++) {
        reads += many[i].reads;
        destroyed += many[i].destroyed;
        ac_close(&many[i].d);
        close(peers[i]);
    }
    if (n < MANY)
        return;
    KIT_CHECK(k, ac_map_count(k->map) == 0, "%zu channels left",
              ac_map_count(k->map));
    KIT_CHECK(k, reads == 1, "%d reads after close_all in a handler", reads);
    KIT_CHECK(k, destroyed == MANY, "%d of %d destroyed", destroyed, MANY);
}

/* ---- what a handler may not do ---- */

static int refusals[7];

static void try_reentry(ac_dispatcher *d)
{
    ac_map *map = ac_dispatcher_get_map(d);

    drain(d);
    refusals[0] = ac_poll_once(map, 0);
    refusals[1] = ac_map_free(map);
    refusals[2] = ac_map_refresh(map);
    refusals[3] = ac_map_run_due(map);
    refusals[4] = ac_map_dispatch_ready(map);
    refusals[5] = ac_map_set_hooks(map, NULL);
    refusals[6] = ac_map_set_backend(map, AC_BACKEND_POLL);
}

static const ac_dispatcher_class reentry_class = {
    .name = "hostkit-reentry", .handle_read = try_reentry,
    .handle_close = count_close, .destroy = count_destroy,
};

static void reentry(kit *k)
{
    static const char *const names[7] = {
        "ac_poll_once", "ac_map_free", "ac_map_refresh", "ac_map_run_due",
        "ac_map_dispatch_ready", "ac_map_set_hooks", "ac_map_set_backend"};
    chan c = {.k = k}, after = {.k = k};
    int peer, peer2, i;

    memset(refusals, 0, sizeof(refusals));
    if ((peer = kit_pair(k, &c.d, &reentry_class, AC_READ)) < 0)
        return;
    if ((peer2 = kit_pair(k, &after.d, &quiet_class, AC_READ)) < 0) {
        ac_close(&c.d);
        close(peer);
        return;
    }
    kit_settle(k);
    if (kit_send(peer, "x", 1) != 1)
        kit_fail(k, __LINE__, "write failed");
    for (i = 0; i < 10 && !c.reads; i++)
        kit_step(k, 200);
    /* and the map still works */
    if (kit_send(peer2, "y", 1) != 1)
        kit_fail(k, __LINE__, "write failed");
    for (i = 0; i < 10 && !after.reads; i++)
        kit_step(k, 200);
    ac_close(&c.d);
    ac_close(&after.d);
    close(peer);
    close(peer2);
    KIT_CHECK(k, c.reads == 1, "the handler ran %d times", c.reads);
    for (i = 0; i < 7; i++)
        KIT_CHECK(k, refusals[i] == -EBUSY,
                  "%s from a handler returned %d, not -EBUSY", names[i],
                  refusals[i]);
    KIT_CHECK(k, after.reads == 1, "the map stopped working afterwards");
}

/* ---- a peer vanishes with 1 MB queued ---- */

typedef struct {
    ac_dispatcher_with_send w;
    int closes, errors, destroyed;
} sender;

static void sender_close(ac_dispatcher *d)
{
    AC_CONTAINER_OF(d, sender, w.base)->closes++;
    ac_close(d);
}

static void sender_error(ac_dispatcher *d, int err, const char *where)
{
    (void)err;
    (void)where;
    AC_CONTAINER_OF(d, sender, w.base)->errors++;
    ac_close(d);
}

static void sender_destroy(ac_dispatcher *d)
{
    AC_CONTAINER_OF(d, sender, w.base)->destroyed++;
}

static const ac_dispatcher_class sender_class = {
    .name = "hostkit-sender", .parent = &ac_with_send_class,
    .handle_close = sender_close, .handle_error = sender_error,
    .destroy = sender_destroy,
};

static void vanish(kit *k)
{
    static char mb[1 << 20];
    sender s;
    int sv[2], i;

    memset(&s, 0, sizeof(s));
    memset(mb, 'v', sizeof(mb));
    if (socketpair(AF_UNIX, SOCK_STREAM | KIT_CLOEXEC, 0, sv) < 0) {
        kit_fail(k, __LINE__, "socketpair failed");
        return;
    }
    ac_with_send_init(&s.w, &sender_class, k->map);
    if (ac_set_socket(&s.w.base, sv[0]) < 0) {
        close(sv[0]);
        close(sv[1]);
        kit_fail(k, __LINE__, "could not adopt a socketpair");
        return;
    }
    ac_with_send(&s.w, mb, sizeof(mb)); /* most of it stays queued */
    kit_step(k, 20);
    close(sv[1]); /* the peer is gone: EPIPE / a hang-up, never SIGPIPE */
    for (i = 0; i < 20 && !s.destroyed; i++)
        kit_step(k, 100);
    if (!s.destroyed)
        ac_close(&s.w.base);
    KIT_CHECK(k, s.destroyed == 1, "the channel was not closed within 2 s");
    KIT_CHECK(k, s.closes + s.errors >= 1, "no handle_close or handle_error");
}

/* ---- C-72: 1,000 idle channels ---- */

#define IDLE 1000

static void idle(kit *k)
{
    static chan chans[IDLE];
    static int peers[IDLE];
    struct rlimit rl;
    /* select(2) holds descriptors below FD_SETSIZE (1024) only */
    int want = k->h->backend == AC_BACKEND_SELECT ? 400 : IDLE;
    int n, i, reads = 0;
    unsigned long it0;
    double t0, took;

    /* 2,000 descriptors: take the hard limit, as servers do */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(chans, 0, sizeof(chans));
    for (n = 0; n < want; n++)
        if ((peers[n] = kit_pair(k, &chans[n].d, &quiet_class, AC_READ)) < 0)
            break;
    kit_settle(k);
    it0 = kit_iterations(k);
    t0 = kit_now_ms();
    if (n == want)
        kit_step(k, 300);
    took = kit_now_ms() - t0;
    it0 = kit_iterations(k) - it0;
    for (i = 0; i < n; i++) {
        reads += chans[i].reads;
        ac_close(&chans[i].d);
        close(peers[i]);
    }
    if (n < want)
        return;
    KIT_CHECK(k, took >= 250.0, "step(300) returned after %.0f ms", took);
    KIT_CHECK(k, reads == 0, "%d reads on idle channels", reads);
    KIT_CHECK(k, it0 <= 2, "%lu host iterations in 300 ms", it0);
    kit_note(k, "%d channels, %lu iterations", n, it0);
}

/* ---- C-74: detach with channels open; free the map while attached ---- */

static void detach(kit *k)
{
    chan c = {.k = k};
    int peer, r, i;

    if ((peer = kit_pair(k, &c.d, &quiet_class, AC_READ)) < 0)
        return;
    kit_settle(k);
    r = k->h->detach(k->host);
    /* the map's own backend takes the channel over */
    if (kit_send(peer, "x", 1) != 1)
        kit_fail(k, __LINE__, "write failed");
    for (i = 0; r == 0 && i < 10 && !c.reads; i++)
        ac_poll_once(k->map, 100);
    ac_close(&c.d);
    close(peer);
    KIT_CHECK(k, r == 0, "detach: %s", ac_strerror(r));
    KIT_CHECK(k, c.reads == 1, "after detach the map's own loop did not "
                               "serve the channel");
    KIT_CHECK(k, c.destroyed == 1, "not destroyed");
}

static void on_tick(ac_timer *t)
{
    (void)t;
}

static void map_freed(kit *k)
{
    static chan c;
    static ac_timer t;
    int peer, i;

    memset(&c, 0, sizeof(c));
    if ((peer = kit_pair(k, &c.d, &quiet_class, AC_READ)) < 0)
        return;
    ac_timer_init(&t, k->map, on_tick, NULL);
    ac_timer_start(&t, 10, 10);
    kit_settle(k);
    /* readiness waits in the host when the map goes */
    if (kit_send(peer, "x", 1) != 1)
        kit_fail(k, __LINE__, "write failed");
    KIT_CHECK(k, ac_map_free(k->map) == 0, "ac_map_free refused");
    k->map = NULL; /* the host must now leave it alone */
    for (i = 0; i < 3; i++)
        k->h->step(k->host, i ? 20 : 0);
    close(peer);
    KIT_CHECK(k, c.destroyed == 1, "the map's free did not close its channel");
    KIT_CHECK(k, c.reads == 0, "a channel of the freed map was dispatched");
}

const kit_case kit_channel_cases[] = {
    {"channels/fd-reuse", reuse, 0},
    {"channels/close-all", close_all, 0},
    {"channels/reentry-refused", reentry, 0},
    {"channels/peer-vanishes", vanish, 0},
    {"channels/1000-idle", idle, 0},
    {"host/detach", detach, KIT_DETACH},
    {"host/map-freed", map_freed, KIT_DETACH},
    {NULL, NULL, 0},
};
