/* Pending readiness, I/O operations and end-of-frame work: the layer
 * mechanisms, tested with a test-only layer ("hoard") that reads
 * everything the socket has into its own buffer, as TLS reads whole
 * records, and hands it out a few bytes per recv. Without pending
 * readiness the reader stalls: the socket is empty while bytes wait above
 * it (the curl #17596 / libevent #854 bug class). Every host mode. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char buf[1 << 16];
    size_t off, len;
    size_t per_read; /* bytes handed out per recv */
    bool eof;
    int closes;      /* io close calls */
} hoard;

static ssize_t hoard_recv(ac_dispatcher *d, void *out, size_t len)
{
    hoard *h = ac_get_io_data(d);
    ssize_t n;

    if (h->off == h->len && !h->eof) {
        h->off = h->len = 0;
        n = ac_socket_io.recv(d, h->buf, sizeof(h->buf));
        if (n == 0)
            h->eof = true;
        else if (n < 0)
            return n;
        else
            h->len = (size_t)n;
    }
    if (h->off == h->len)
        return h->eof ? 0 : -EAGAIN;
    n = (ssize_t)(h->len - h->off);
    if ((size_t)n > h->per_read)
        n = (ssize_t)h->per_read;
    if ((size_t)n > len)
        n = (ssize_t)len;
    memcpy(out, h->buf + h->off, (size_t)n);
    h->off += (size_t)n;
    /* what is left above the socket is readiness the socket cannot show */
    ac_set_pending(d, h->off < h->len || h->eof ? AC_IN : 0);
    return n;
}

static ssize_t hoard_send(ac_dispatcher *d, const void *buf, size_t len)
{
    return ac_socket_io.send(d, buf, len);
}

static void hoard_close(ac_dispatcher *d)
{
    hoard *h = ac_get_io_data(d);
    h->closes++;
}

static const ac_io_ops hoard_io = {
    .name = "hoard",
    .send = hoard_send,
    .recv = hoard_recv,
    .shutdown = NULL,
    .close = hoard_close,
};

/* handle_read that takes exactly one recv (of at most 100 bytes) per
 * event, as a careful protocol reader does. */
static void read_once(tchan *t)
{
    ssize_t n = ac_recv(&t->d, t->in + t->in_len,
                        sizeof(t->in) - t->in_len < 100
                            ? sizeof(t->in) - t->in_len
                            : 100);
    if (n > 0)
        t->in_len += (size_t)n;
    if (t->in_len >= 10000)
        t->flag = true;
}

static tchan *hoarding_reader(ac_map *map, int fd, hoard *h, size_t per)
{
    tchan *t = tchan_new(map);

    memset(h, 0, sizeof(*h));
    h->per_read = per;
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, fd), 0);
    CU_ASSERT_EQUAL(ac_set_io(&t->d, &hoard_io, h), 0);
    CU_ASSERT_PTR_EQUAL(ac_get_io(&t->d), &hoard_io);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    t->on_read = read_once;
    return t;
}

/* C-90 in miniature: 10,000 bytes sent once, read 3 bytes per event; the
 * peer stays silent and open, so only pending readiness can finish it. */
static void test_reader_does_not_stall(void)
{
    static char data[10000];
    static hoard h;
    ac_map *map = t_map_new();
    int sv[2];
    tchan *t;
    size_t i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7 + 1);
    t_socketpair(sv);
    t = hoarding_reader(map, sv[0], &h, 3);
    CU_ASSERT_EQUAL(write(sv[1], data, sizeof(data)), (ssize_t)sizeof(data));
    /* 3,334 reads: a host that waited even 10 ms between them would need
     * half a minute */
    CU_ASSERT_TRUE(t_run_until(map, &t->flag, 3000));
    CU_ASSERT_EQUAL(t->in_len, sizeof(data));
    CU_ASSERT_EQUAL(memcmp(t->in, data, sizeof(data)), 0);
    CU_ASSERT(t->n_read >= 3334);
    /* all handed out: nothing pending, the map sleeps again */
    ac_map_refresh(map);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    ac_close(&t->d);
    CU_ASSERT_EQUAL(h.closes, 1);
    close(sv[1]);
    t_map_done(map);
}

/* The same reader, run only by the host's own loop (event_base_dispatch,
 * uv_run, g_main_context_iteration, ac_loop...): it must finish by itself,
 * and the loop end with the channel. */
static void read_then_close(tchan *t)
{
    read_once(t);
    if (t->flag)
        ac_close(&t->d);
}

static void test_host_loop_finishes_reader(void)
{
    static char data[10000];
    static hoard h;
    ac_map *map = t_map_new();
    int sv[2];
    tchan *t;

    memset(data, 'q', sizeof(data));
    t_socketpair(sv);
    t = hoarding_reader(map, sv[0], &h, 3);
    t->keep_memory = true;
    t->on_read = read_then_close;
    CU_ASSERT_EQUAL(write(sv[1], data, sizeof(data)), (ssize_t)sizeof(data));
    CU_ASSERT(t_run_host(map, 5000) < 4000);
    CU_ASSERT_EQUAL(t->in_len, sizeof(data));
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    close(sv[1]);
    free(t);
    t_map_done(map);
}

/* ac_map_timeout is 0 exactly while something pending is also wanted. */
static void test_timeout_follows_pending(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2];

    t->keep_memory = true; /* used after close below */
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    CU_ASSERT_EQUAL(ac_set_pending(&t->d, AC_IN), 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), 0);
    /* not interested in reading: pending, but not due, and not delivered */
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, 0), 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    t_step(map, 20);
    CU_ASSERT_EQUAL(t->n_read, 0);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_READ), 0);
    t_step(map, 20);
    CU_ASSERT(t->n_read >= 1); /* delivered although the socket is empty */
    CU_ASSERT_EQUAL(ac_set_pending(&t->d, 0), 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    CU_ASSERT_EQUAL(ac_set_pending(&t->d, AC_ERR), -EINVAL);
    CU_ASSERT_EQUAL(ac_set_pending(NULL, AC_IN), -EINVAL);
    ac_close(&t->d);
    CU_ASSERT_EQUAL(ac_set_pending(&t->d, AC_IN), -EBADF);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    close(sv[1]);
    free(t);
    t_map_done(map);
}

/* One pending channel closes another pending one, and a new channel takes
 * the freed fd number in the same iteration: the closed one is not
 * dispatched, the new one gets nothing that was the old one's (C-73). */
static void close_other(tchan *t)
{
    tchan *other = t->user, *fresh;
    int sv[2], fd;

    if (ac_closed(&other->d))
        return;
    fd = ac_fileno(&other->d);
    ac_close(&other->d);
    t_socketpair(sv); /* the lowest free numbers: the one just freed */
    fresh = tchan_new(t->d.map);
    CU_ASSERT_EQUAL(ac_set_socket(&fresh->d, sv[0]), 0);
    ac_set_interest(&fresh->d, AC_READ);
    CU_ASSERT_EQUAL(ac_set_pending(&fresh->d, AC_IN), 0);
    fresh->user = (void *)(intptr_t)sv[1];
    t->peer = fresh;
    t->flag = sv[0] == fd;
}

static void test_close_pending_in_handler(void)
{
    ac_map *map = t_map_new();
    tchan *a = tchan_new(map), *b = tchan_new(map), *ran;
    int sa[2], sb[2], before = t_destroyed;

    t_socketpair(sa);
    t_socketpair(sb);
    CU_ASSERT_EQUAL(ac_set_socket(&a->d, sa[0]), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&b->d, sb[0]), 0);
    ac_set_interest(&a->d, AC_READ);
    ac_set_interest(&b->d, AC_READ);
    a->keep_memory = b->keep_memory = true; /* read after close */
    a->user = b;
    b->user = a;
    a->on_read = close_other;
    b->on_read = close_other;
    CU_ASSERT_EQUAL(ac_set_pending(&a->d, AC_IN), 0);
    CU_ASSERT_EQUAL(ac_set_pending(&b->d, AC_IN), 0);
    t_step(map, 50);
    /* exactly one of them ran and closed the other, which never ran
     * (libevent: a step is two refreshes, see test_timers.c, so the one
     * that stays pending may have run twice) */
    CU_ASSERT_FATAL((a->n_read == 0) != (b->n_read == 0));
    CU_ASSERT(a->n_read + b->n_read <= (t_libevent() ? 2 : 1));
    CU_ASSERT_EQUAL(t_destroyed, before + 1);
    ran = a->n_read ? a : b;
    CU_ASSERT_TRUE(ran->flag); /* the new channel reuses the fd number */
    /* it joined after the refresh: nothing of the old one's reached it */
    if (!t_libevent())
        CU_ASSERT_EQUAL(ran->peer->n_read, 0);
    close((int)(intptr_t)ran->peer->user);
    ac_close_all(map, true);
    close(sa[1]);
    close(sb[1]);
    free(a);
    free(b);
    t_map_done(map);
}

/* End-of-frame work: queued from a handler it runs when the outermost
 * frame ends, in order, once; outside handlers at once; cancel works. */
static int order[8], norder;
static ac_deferred w1, w2, w3;

static void note(ac_deferred *w)
{
    order[norder++] = w == &w1 ? 1 : w == &w2 ? 2 : 3;
}

static void defer_in_handler(tchan *t)
{
    ac_defer(t->d.map, &w1, note);
    ac_defer(t->d.map, &w2, note);
    ac_defer(t->d.map, &w1, note); /* already queued: nothing */
    ac_defer(t->d.map, &w3, note);
    ac_defer_cancel(t->d.map, &w3);
    CU_ASSERT_EQUAL(norder, 0); /* not while the handler runs */
    ac_close(&t->d);
}

static void test_deferred_work(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int sv[2];

    norder = 0;
    CU_ASSERT_EQUAL(ac_defer(map, &w3, note), 0); /* outside: at once */
    CU_ASSERT_EQUAL(norder, 1);
    CU_ASSERT_EQUAL(order[0], 3);
    CU_ASSERT_EQUAL(ac_defer(NULL, &w3, note), -EINVAL);
    CU_ASSERT_EQUAL(ac_defer(map, &w3, NULL), -EINVAL);
    norder = 0;
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    t->on_read = defer_in_handler;
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_TRUE(t_run_until_empty(map, 2000));
    CU_ASSERT_EQUAL(norder, 2);
    CU_ASSERT_EQUAL(order[0], 1);
    CU_ASSERT_EQUAL(order[1], 2);
    close(sv[1]);
    t_map_done(map);
}

/* A layer's bad arguments. */
static void test_io_arguments(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    static const ac_io_ops half = {.name = "half", .send = hoard_send};

    CU_ASSERT_EQUAL(ac_set_io(NULL, &hoard_io, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_set_io(&t->d, &half, NULL), -EINVAL);
    CU_ASSERT_PTR_EQUAL(ac_get_io(&t->d), &ac_socket_io);
    CU_ASSERT_EQUAL(ac_set_pending(&t->d, AC_IN), -EBADF); /* not in a map */
    CU_ASSERT_EQUAL(ac_set_io(&t->d, NULL, NULL), 0);
    CU_ASSERT_PTR_EQUAL(ac_get_io(&t->d), &ac_socket_io);
    CU_ASSERT_PTR_NULL(ac_get_io(NULL));
    ac_close(&t->d); /* destroy frees it */
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"reader_does_not_stall", test_reader_does_not_stall},
    {"host_loop_finishes_reader", test_host_loop_finishes_reader},
    {"timeout_follows_pending", test_timeout_follows_pending},
    {"close_pending_in_handler", test_close_pending_in_handler},
    {"deferred_work", test_deferred_work},
    {"io_arguments", test_io_arguments},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("pending", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
