/* Deadlines on channels (ac_set_read_idle, ac_set_write_stall,
 * ac_set_deadline) on every mode: each fires once, at or after its time,
 * never while bytes flow; a slow but steady reader is not a stall; the
 * expiry handler may close the channel; nothing is left armed; async_chat
 * with a deadline per record. */
#include "helpers.h"

#include <asyncore/asynchat.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* A channel that reads and drops what comes, writes without end while
 * `flood` is set, and records its errors. */
typedef struct {
    ac_dispatcher d;
    int errors, err;
    char where[32];
    double at;          /* when the first error came */
    bool fired;         /* t_run_until's flag */
    bool close_on_error;
    bool flood;
    size_t in, out;
} chan;

static void chan_read(ac_dispatcher *d)
{
    chan *c = AC_CONTAINER_OF(d, chan, d);
    char buf[4096];
    ssize_t n = ac_recv(d, buf, sizeof(buf));

    if (n > 0)
        c->in += (size_t)n;
}

static void chan_write(ac_dispatcher *d)
{
    chan *c = AC_CONTAINER_OF(d, chan, d);
    static char block[65536];
    ssize_t n;

    while (c->flood && (n = ac_send(d, block, sizeof(block))) > 0)
        c->out += (size_t)n;
}

static bool chan_writable(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, chan, d)->flood;
}

static void chan_error(ac_dispatcher *d, int err, const char *where)
{
    chan *c = AC_CONTAINER_OF(d, chan, d);

    if (!c->errors++)
        c->at = now_ms();
    c->err = err;
    snprintf(c->where, sizeof(c->where), "%s", where);
    c->fired = true;
    if (c->close_on_error)
        ac_close(d);
}

static void chan_close(ac_dispatcher *d)
{
    ac_close(d);
}

static const ac_dispatcher_class chan_class = {
    .name = "deadline_chan",
    .readable = NULL,
    .writable = chan_writable,
    .handle_read = chan_read,
    .handle_write = chan_write,
    .handle_close = chan_close,
    .handle_error = chan_error,
};

/* A channel on one end of a socketpair (the other in *peer, non-blocking). */
static void chan_open(chan *c, ac_map *map, int *peer, unsigned interest)
{
    int sv[2];

    memset(c, 0, sizeof(*c));
    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(ac_dispatcher_init(&c->d, &chan_class, map), 0);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&c->d, sv[0]), 0);
    if (interest)
        CU_ASSERT_EQUAL(ac_set_interest(&c->d, interest), 0);
    *peer = sv[1];
}

/* Steps for `ms`, the peer writing a byte every `every` ms (0: never) and
 * reading up to `drain` bytes each time (0: never). */
static void flow(ac_map *map, chan *c, int peer, int ms, int every,
                 size_t drain)
{
    double end = now_ms() + ms;
    static char buf[65536];

    while (now_ms() < end && !c->fired) {
        if (every && write(peer, "x", 1) != 1)
            CU_FAIL("peer write");
        if (drain) {
            ssize_t n = read(peer, buf, drain < sizeof(buf) ? drain
                                                             : sizeof(buf));
            (void)n;
        }
        t_step(map, every ? every : 10);
    }
}

static void finish(ac_map *map, chan *c, int peer)
{
    if (!ac_closed(&c->d))
        ac_close(&c->d);
    close(peer);
    t_step(map, 0); /* the host forgets the channel */
    t_map_done(map);
}

static void test_read_idle_fires_once(void)
{
    ac_map *map = t_map_new();
    chan c;
    int peer;
    double t0;

    chan_open(&c, map, &peer, AC_READ);
    t0 = now_ms();
    CU_ASSERT_EQUAL(ac_set_read_idle(&c.d, 80), 0);
    CU_ASSERT_TRUE(t_run_until(map, &c.fired, 3000));
    CU_ASSERT_EQUAL(c.err, ETIMEDOUT);
    CU_ASSERT_STRING_EQUAL(c.where, "read idle");
    CU_ASSERT(c.at - t0 >= 80);
    c.fired = false;
    t_run_until(map, &c.fired, 300); /* once: not again */
    CU_ASSERT_EQUAL(c.errors, 1);
    CU_ASSERT_FALSE(ac_closed(&c.d)); /* the handler decides */
    finish(map, &c, peer);
}

static void test_read_idle_not_while_bytes_flow(void)
{
    ac_map *map = t_map_new();
    chan c;
    int peer;
    double last;

    chan_open(&c, map, &peer, AC_READ);
    CU_ASSERT_EQUAL(ac_set_read_idle(&c.d, 150), 0);
    flow(map, &c, peer, 700, 30, 0); /* a byte every 30 ms: never idle */
    CU_ASSERT_EQUAL(c.errors, 0);
    CU_ASSERT(c.in > 0);
    last = now_ms();
    CU_ASSERT_TRUE(t_run_until(map, &c.fired, 3000));
    CU_ASSERT_STRING_EQUAL(c.where, "read idle");
    CU_ASSERT(c.at - last >= 150 - 35); /* from the last byte, read late */
    finish(map, &c, peer);
}

static void test_write_stall_closed_in_handler(void)
{
    ac_map *map = t_map_new();
    chan c;
    int peer;
    double t0;

    chan_open(&c, map, &peer, 0); /* pulled: writable while flooding */
    c.flood = true;
    c.close_on_error = true;
    CU_ASSERT_EQUAL(ac_set_write_stall(&c.d, 100), 0);
    t0 = now_ms();
    CU_ASSERT_TRUE(t_run_until(map, &c.fired, 3000)); /* nobody reads */
    CU_ASSERT_STRING_EQUAL(c.where, "write stall");
    CU_ASSERT_EQUAL(c.err, ETIMEDOUT);
    CU_ASSERT(c.at - t0 >= 100);
    CU_ASSERT(c.out > 0);
    CU_ASSERT_TRUE(ac_closed(&c.d));
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1); /* nothing left armed */
    finish(map, &c, peer);
}

static void test_slow_steady_reader_is_not_a_stall(void)
{
    ac_map *map = t_map_new();
    chan c;
    int peer;

    chan_open(&c, map, &peer, 0);
    c.flood = true;
    CU_ASSERT_EQUAL(ac_set_write_stall(&c.d, 150), 0);
    /* fill the socket first, then read 8 KB every 30 ms (~270 KB/s) */
    flow(map, &c, peer, 100, 0, 0);
    flow(map, &c, peer, 700, 30, 8192);
    CU_ASSERT_EQUAL(c.errors, 0);
    /* stops reading: a stall */
    CU_ASSERT_TRUE(t_run_until(map, &c.fired, 3000));
    CU_ASSERT_STRING_EQUAL(c.where, "write stall");
    finish(map, &c, peer);
}

static void test_deadline_fires_while_bytes_flow(void)
{
    ac_map *map = t_map_new();
    chan c;
    int peer;
    double t0 = now_ms();

    chan_open(&c, map, &peer, AC_READ);
    CU_ASSERT_EQUAL(ac_set_deadline(&c.d, 120), 0);
    CU_ASSERT_EQUAL(ac_set_read_idle(&c.d, 60), 0);
    flow(map, &c, peer, 2000, 20, 0);
    CU_ASSERT_TRUE(c.fired);
    CU_ASSERT_STRING_EQUAL(c.where, "deadline");
    CU_ASSERT(c.at - t0 >= 120);
    CU_ASSERT_EQUAL(c.errors, 1); /* read idle never: bytes flowed */
    finish(map, &c, peer);
}

static void test_cleared_deadlines_never_fire(void)
{
    ac_map *map = t_map_new();
    chan c;
    int peer;

    chan_open(&c, map, &peer, AC_READ);
    CU_ASSERT_EQUAL(ac_set_deadline(&c.d, 50), 0);
    CU_ASSERT_EQUAL(ac_set_read_idle(&c.d, 50), 0);
    CU_ASSERT_EQUAL(ac_set_write_stall(&c.d, 50), 0);
    CU_ASSERT_EQUAL(ac_set_deadline(&c.d, 0), 0);
    CU_ASSERT_EQUAL(ac_set_read_idle(&c.d, 0), 0);
    CU_ASSERT_EQUAL(ac_set_write_stall(&c.d, 0), 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    t_run_until(map, &c.fired, 250);
    CU_ASSERT_EQUAL(c.errors, 0);
    finish(map, &c, peer);
}

static void test_bad_arguments(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher fresh;
    chan c;
    int peer;

    CU_ASSERT_EQUAL(ac_set_read_idle(NULL, 10), -EINVAL);
    CU_ASSERT_EQUAL(ac_set_write_stall(NULL, 10), -EINVAL);
    CU_ASSERT_EQUAL(ac_set_deadline(NULL, 10), -EINVAL);
    ac_dispatcher_init(&fresh, NULL, map);
    CU_ASSERT_EQUAL(ac_set_deadline(&fresh, 10), -EBADF); /* no socket */
    chan_open(&c, map, &peer, AC_READ);
    CU_ASSERT_EQUAL(ac_set_deadline(&c.d, 10), 0);
    ac_close(&c.d); /* ends it */
    CU_ASSERT_EQUAL(ac_set_deadline(&c.d, 10), -EBADF);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    t_run_until(map, &c.fired, 100);
    CU_ASSERT_EQUAL(c.errors, 0);
    finish(map, &c, peer);
}

/* async_chat: a deadline per record, set at its first byte, cleared at
 * its terminator. */
typedef struct {
    ac_chat chat;
    int records, errors;
    char where[32];
    bool in_record, fired;
} rchat;

static void rc_collect(ac_chat *ch, const void *data, size_t len)
{
    rchat *r = AC_CONTAINER_OF(ch, rchat, chat);

    (void)data;
    if (len && !r->in_record) {
        r->in_record = true;
        ac_set_deadline(&ch->base, 150);
    }
}

static void rc_found(ac_chat *ch)
{
    rchat *r = AC_CONTAINER_OF(ch, rchat, chat);

    r->records++;
    r->in_record = false;
    ac_set_deadline(&ch->base, 0);
}

static void rc_error(ac_dispatcher *d, int err, const char *where)
{
    rchat *r = AC_CONTAINER_OF(AC_CHAT_OF(d), rchat, chat);

    (void)err;
    r->errors++;
    r->fired = true;
    snprintf(r->where, sizeof(r->where), "%s", where);
    ac_close(d);
}

static const ac_chat_class rchat_class = {
    .base = {.name = "record_chat", .parent = AC_CHAT_PARENT,
             .handle_error = rc_error},
    .collect_incoming_data = rc_collect,
    .found_terminator = rc_found,
};

static void test_chat_record_deadline(void)
{
    ac_map *map = t_map_new();
    rchat r;
    int sv[2], i;
    double end;

    memset(&r, 0, sizeof(r));
    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(ac_chat_init(&r.chat, &rchat_class, map), 0);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&r.chat.base, sv[0]), 0);
    ac_chat_set_terminator(&r.chat, "\n", 1);
    /* whole records in time: no expiry, however many */
    for (i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(write(sv[1], "ab", 2), 2);
        end = now_ms() + 40;
        while (now_ms() < end)
            t_step(map, 10);
        CU_ASSERT_EQUAL(write(sv[1], "c\n", 2), 2);
        end = now_ms() + 40;
        while (now_ms() < end)
            t_step(map, 10);
    }
    CU_ASSERT_EQUAL(r.records, 5);
    CU_ASSERT_EQUAL(r.errors, 0);
    /* a record that never ends */
    CU_ASSERT_EQUAL(write(sv[1], "never", 5), 5);
    CU_ASSERT_TRUE(t_run_until(map, &r.fired, 3000));
    CU_ASSERT_STRING_EQUAL(r.where, "deadline");
    CU_ASSERT_TRUE(ac_closed(&r.chat.base));
    close(sv[1]);
    t_step(map, 0);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"read_idle_fires_once", test_read_idle_fires_once},
    {"read_idle_not_while_bytes_flow", test_read_idle_not_while_bytes_flow},
    {"write_stall_closed_in_handler", test_write_stall_closed_in_handler},
    {"slow_steady_reader_is_not_a_stall",
     test_slow_steady_reader_is_not_a_stall},
    {"deadline_fires_while_bytes_flow", test_deadline_fires_while_bytes_flow},
    {"cleared_deadlines_never_fire", test_cleared_deadlines_never_fire},
    {"bad_arguments", test_bad_arguments},
    {"chat_record_deadline", test_chat_record_deadline},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("deadlines", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
