/* async_chat (CONFORMANCE C-50..C-59, D-04), ported from CPython's
 * test_asynchat over real sockets, on every mode. */
#include "helpers.h"

#include "ac_config.h"

#include <asyncore/asynchat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The library's calls of sendfile(2) land here (this definition takes
 * precedence over libc's for the shared library too), counted. */
static int sendfile_calls;

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
    sendfile_calls++;
    return syscall(SYS_sendfile, out, in, off, count);
}

/* A chat that records its records (Python test's echo_client.contents). */
typedef struct {
    ac_chat chat;
    char records[16][128];
    int nrec, collects, too_long;
    size_t max_kept;
    /* terminator changes applied at the n-th found_terminator */
    int switch_at;
    long long switch_count; /* >= 0: a count, else the bytes below */
    const char *switch_bytes;
} rchat;

static int rchat_destroyed;

static rchat *R(ac_chat *c)
{
    return AC_CONTAINER_OF(c, rchat, chat);
}

static void rc_collect(ac_chat *c, const void *data, size_t len)
{
    R(c)->collects++;
    if (c->kept_len > R(c)->max_kept)
        R(c)->max_kept = c->kept_len;
    ac_chat_base_class.collect_incoming_data(c, data, len);
}

static void rc_found(ac_chat *c)
{
    rchat *r = R(c);
    size_t len;
    const char *d = ac_chat_data(c, &len);

    if (r->nrec < 16)
        snprintf(r->records[r->nrec], sizeof(r->records[0]), "%.*s",
                 (int)len, d ? d : "");
    r->nrec++;
    ac_chat_clear_data(c);
    if (r->switch_at && r->nrec == r->switch_at) {
        if (r->switch_count >= 0)
            ac_chat_set_terminator_count(c, r->switch_count);
        else
            ac_chat_set_terminator(c, r->switch_bytes, strlen(r->switch_bytes));
    }
}

static void rc_too_long(ac_chat *c)
{
    R(c)->too_long++;
}

static void rc_destroy(ac_dispatcher *d)
{
    rchat_destroyed++;
    free(R(AC_CHAT_OF(d)));
}

static const ac_chat_class rchat_class = {
    .base = {.name = "rchat", .parent = AC_CHAT_PARENT, .destroy = rc_destroy},
    .collect_incoming_data = rc_collect,
    .found_terminator = rc_found,
    .line_too_long = rc_too_long,
};

/* A chat on one end of a socketpair; the test holds the other end. */
static rchat *rchat_pair(ac_map *map, int *peer)
{
    rchat *r = calloc(1, sizeof(*r));
    int sv[2];

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(ac_chat_init(&r->chat, &rchat_class, map), 0);
    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&r->chat.base, sv[0]), 0);
    *peer = sv[1];
    return r;
}

/* Deliver `data` in pieces of `chunk` bytes, one read each. */
static void deliver(ac_map *map, int peer, const char *data, size_t len,
                    size_t chunk)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        CU_ASSERT_EQUAL((size_t)write(peer, data + off, n), n);
        off += n;
        t_step(map, 100);
    }
}

/* C-50 (test_line_terminator1/2/3): terminators of one and more bytes,
 * including NUL, split at every position across reads. */
static void test_line_terminator(void)
{
    static const struct {
        const char *t;
        size_t len;
    } terms[] = {{"\n", 1}, {"\r\n", 2}, {"qqq", 3}, {"\0x\0", 3}};
    size_t i, chunk;

    for (i = 0; i < 4; i++) {
        char data[128];
        size_t n = 0;

        memcpy(data + n, "hello ", 6), n += 6;
        memcpy(data + n, "world", 5), n += 5;
        memcpy(data + n, terms[i].t, terms[i].len), n += terms[i].len;
        memcpy(data + n, "I'm not dead yet!", 17), n += 17;
        memcpy(data + n, terms[i].t, terms[i].len), n += terms[i].len;
        for (chunk = 1; chunk <= n; chunk++) {
            ac_map *map = t_map_new();
            int peer;
            rchat *r = rchat_pair(map, &peer);

            CU_ASSERT_EQUAL(ac_chat_set_terminator(&r->chat, terms[i].t,
                                                   terms[i].len), 0);
            deliver(map, peer, data, n, chunk);
            CU_ASSERT_EQUAL(r->nrec, 2);
            CU_ASSERT_STRING_EQUAL(r->records[0], "hello world");
            CU_ASSERT_STRING_EQUAL(r->records[1], "I'm not dead yet!");
            CU_ASSERT(r->max_kept < terms[i].len);
            ac_close(&r->chat.base);
            close(peer);
            t_map_done(map);
        }
    }
}

/* C-51 (test_numeric_terminator1/2): exactly N bytes, then the count is 0
 * and everything else is collected. */
static void test_numeric_terminator(void)
{
    static const char data[] = "hello world, I'm not dead yet!\n";
    size_t n = sizeof(data) - 1;
    long long termlen;

    for (termlen = 1; termlen <= 11; termlen += 10) {
        ac_map *map = t_map_new();
        int peer;
        rchat *r = rchat_pair(map, &peer);
        unsigned long long count = 99;
        size_t len;
        const char *rest;

        CU_ASSERT_EQUAL(ac_chat_set_terminator_count(&r->chat, termlen), 0);
        deliver(map, peer, data, n, 7);
        CU_ASSERT_EQUAL(r->nrec, 1);
        CU_ASSERT_EQUAL(strncmp(r->records[0], data, (size_t)termlen), 0);
        CU_ASSERT_EQUAL(strlen(r->records[0]), (size_t)termlen);
        CU_ASSERT_EQUAL(ac_chat_get_terminator(&r->chat, NULL, NULL, &count),
                        AC_TERM_COUNT);
        CU_ASSERT_EQUAL(count, 0);
        rest = ac_chat_data(&r->chat, &len);
        CU_ASSERT_EQUAL(len, n - (size_t)termlen);
        CU_ASSERT_EQUAL(memcmp(rest, data + termlen, len), 0);
        ac_close(&r->chat.base);
        close(peer);
        t_map_done(map);
    }
}

/* C-52 (test_none_terminator). */
static void test_none_terminator(void)
{
    static const char data[] = "hello world, I'm not dead yet!\n";
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);
    size_t len;
    const char *got;

    deliver(map, peer, data, sizeof(data) - 1, 5);
    CU_ASSERT_EQUAL(r->nrec, 0);
    got = ac_chat_data(&r->chat, &len);
    CU_ASSERT_EQUAL(len, sizeof(data) - 1);
    CU_ASSERT_EQUAL(memcmp(got, data, len), 0);
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* C-53 (test_empty_line): empty records, no collect for them. */
static void test_empty_line(void)
{
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);

    ac_chat_set_terminator(&r->chat, "\n", 1);
    deliver(map, peer, "\n\nx\n", 4, 4);
    CU_ASSERT_EQUAL(r->nrec, 3);
    CU_ASSERT_STRING_EQUAL(r->records[0], "");
    CU_ASSERT_STRING_EQUAL(r->records[1], "");
    CU_ASSERT_STRING_EQUAL(r->records[2], "x");
    CU_ASSERT_EQUAL(r->collects, 1);
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* C-54: a terminator changed in found_terminator applies to the bytes
 * already received, in the same read. */
static void test_change_terminator_in_handler(void)
{
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);

    ac_chat_set_terminator(&r->chat, "\n", 1);
    r->switch_at = 1;
    r->switch_count = 3;
    deliver(map, peer, "L1\nABCL2\n", 9, 9); /* one read */
    CU_ASSERT_EQUAL(r->nrec, 2);
    CU_ASSERT_STRING_EQUAL(r->records[0], "L1");
    CU_ASSERT_STRING_EQUAL(r->records[1], "ABC");
    /* the count is spent: "L2\n" is collected whole */
    {
        size_t len;
        const char *d = ac_chat_data(&r->chat, &len);
        CU_ASSERT_EQUAL(len, 3);
        CU_ASSERT_EQUAL(memcmp(d, "L2\n", 3), 0);
    }
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* C-55 (test_disallow_negative_terminator), and get_terminator. */
static void test_terminator_api(void)
{
    ac_map *map = t_map_new();
    ac_chat c;
    const void *t;
    size_t len;
    char big[100];

    CU_ASSERT_EQUAL(ac_chat_init(&c, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_chat_get_terminator(&c, &t, &len, NULL), AC_TERM_NONE);
    CU_ASSERT_EQUAL(ac_chat_set_terminator_count(&c, -1), -EINVAL);
    CU_ASSERT_EQUAL(ac_chat_set_terminator(&c, "\r\n", 2), 0);
    CU_ASSERT_EQUAL(ac_chat_get_terminator(&c, &t, &len, NULL), AC_TERM_BYTES);
    CU_ASSERT_EQUAL(len, 2);
    CU_ASSERT_EQUAL(memcmp(t, "\r\n", 2), 0);
    memset(big, 'z', sizeof(big)); /* longer than the inline storage */
    CU_ASSERT_EQUAL(ac_chat_set_terminator(&c, big, sizeof(big)), 0);
    CU_ASSERT_EQUAL(ac_chat_get_terminator(&c, &t, &len, NULL), AC_TERM_BYTES);
    CU_ASSERT_EQUAL(len, sizeof(big));
    CU_ASSERT_EQUAL(ac_chat_set_terminator(&c, NULL, 0), 0);
    CU_ASSERT_EQUAL(ac_chat_get_terminator(&c, NULL, NULL, NULL), AC_TERM_NONE);
    ac_close(&c.base); /* frees the terminator (checked by ASan) */
    /* a plain dispatcher class is not an async_chat class */
    CU_ASSERT_EQUAL(ac_chat_init(&c, (const ac_chat_class *)(const void *)
                                         &ac_with_send_class, map),
                    -EINVAL);
    t_map_done(map);
}

/* C-58 (test_find_prefix_at_end). */
static void test_find_prefix_at_end(void)
{
    CU_ASSERT_EQUAL(ac_find_prefix_at_end("qwerty\r", 7, "\r\n", 2), 1);
    CU_ASSERT_EQUAL(ac_find_prefix_at_end("qwertydkjf", 10, "\r\n", 2), 0);
    CU_ASSERT_EQUAL(ac_find_prefix_at_end("xab", 3, "abc", 3), 2);
    CU_ASSERT_EQUAL(ac_find_prefix_at_end("a", 1, "abc", 3), 1);
    CU_ASSERT_EQUAL(ac_find_prefix_at_end("", 0, "abc", 3), 0);
}

/* Read everything the peer end gets until EOF (or 5 s). */
static size_t drain(ac_map *map, int peer, char *buf, size_t cap)
{
    size_t got = 0;
    int idle = 0;

    fcntl(peer, F_SETFL, O_NONBLOCK);
    while (idle < 500) {
        ssize_t n = read(peer, buf + got, cap - got);
        if (n == 0)
            break;
        if (n > 0) {
            got += (size_t)n;
            idle = 0;
            continue;
        }
        t_step(map, 10);
        idle++;
    }
    return got;
}

/* C-56 (test_push, test_simple_producer, test_string_producer): pushes
 * and producers go out in order; C-57 (test_close_when_done): then the
 * channel closes, once all was sent. */
static void test_push_producers_close_when_done(void)
{
    ac_map *map = t_map_new();
    int peer, before = rchat_destroyed, p[2];
    rchat *r = rchat_pair(map, &peer);
    ac_producer simple, file;
    static char big[300000], want[400000], got[400000];
    size_t n = 0, k;

    for (k = 0; k < sizeof(big); k++)
        big[k] = (char)(k * 7 + k / 251);
    CU_ASSERT_EQUAL(ac_chat_set_buffer_sizes(&r->chat, 0, 1000), 0);
    CU_ASSERT_EQUAL(ac_chat_push(&r->chat, "a", 1), 0);
    memcpy(want + n, "a", 1), n += 1;
    CU_ASSERT_EQUAL(ac_simple_producer(&simple, big, sizeof(big), 0), 0);
    CU_ASSERT_EQUAL(ac_chat_push_with_producer(&r->chat, &simple), 0);
    memcpy(want + n, big, sizeof(big)), n += sizeof(big);
    CU_ASSERT_EQUAL(ac_chat_push(&r->chat, "bc", 2), 0);
    memcpy(want + n, "bc", 2), n += 2;
    CU_ASSERT(ac_chat_pending(&r->chat) >= 2);
    /* a producer over a file descriptor */
    CU_ASSERT_EQUAL(pipe(p), 0);
    CU_ASSERT_EQUAL(write(p[1], "from a pipe", 11), 11);
    close(p[1]);
    CU_ASSERT_EQUAL(ac_fd_producer(&file, p[0], 4, true), 0);
    CU_ASSERT_EQUAL(ac_chat_push_with_producer(&r->chat, &file), 0);
    memcpy(want + n, "from a pipe", 11), n += 11;
    CU_ASSERT_EQUAL(ac_chat_close_when_done(&r->chat), 0);
    CU_ASSERT_EQUAL(ac_chat_push(&r->chat, "after", 5), 0); /* never sent */
    CU_ASSERT_EQUAL(drain(map, peer, got, sizeof(got)), n);
    CU_ASSERT_EQUAL(memcmp(got, want, n), 0);
    CU_ASSERT_EQUAL(rchat_destroyed, before + 1);
    CU_ASSERT_FALSE(t_fd_open(p[0])); /* the fd producer closed it */
    close(peer);
    t_map_done(map);
}

/* A file producer on a regular file goes out with sendfile(2) when no layer
 * sits on the channel, and through the layer's send as before when one
 * does; either way in order with the pushes around it, byte for byte. */
static ssize_t pass_send(ac_dispatcher *d, const void *buf, size_t len)
{
    return ac_socket_io.send(d, buf, len);
}

static ssize_t pass_recv(ac_dispatcher *d, void *buf, size_t len)
{
    return ac_socket_io.recv(d, buf, len);
}

static const ac_io_ops pass_io = {.name = "pass", .send = pass_send,
                                  .recv = pass_recv};

static void test_file_producer_sendfile(void)
{
    static char data[3 << 20], got[(3 << 20) + 16];
    int layered;
    size_t k;

    for (k = 0; k < sizeof(data); k++)
        data[k] = (char)(k * 31 + k / 4093);
    for (layered = 0; layered < 2; layered++) {
        ac_map *map = t_map_new();
        int peer, calls = sendfile_calls;
        rchat *r = rchat_pair(map, &peer);
        char path[] = "/tmp/ac-sendfile-XXXXXX";
        int fd = mkstemp(path);
        ac_producer file;

        CU_ASSERT_FATAL(fd >= 0);
        unlink(path);
        CU_ASSERT_EQUAL(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
        CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
        if (layered)
            CU_ASSERT_EQUAL(ac_set_io(&r->chat.base, &pass_io, NULL), 0);
        CU_ASSERT_EQUAL(ac_chat_push(&r->chat, "HEAD", 4), 0);
        CU_ASSERT_EQUAL(ac_fd_producer(&file, fd, 0, true), 0);
        CU_ASSERT_EQUAL(ac_chat_push_with_producer(&r->chat, &file), 0);
        CU_ASSERT_EQUAL(ac_chat_push(&r->chat, "TAIL", 4), 0);
        CU_ASSERT_EQUAL(ac_chat_close_when_done(&r->chat), 0);
        CU_ASSERT_EQUAL(drain(map, peer, got, sizeof(got)), sizeof(data) + 8);
        CU_ASSERT_EQUAL(memcmp(got, "HEAD", 4), 0);
        CU_ASSERT_EQUAL(memcmp(got + 4, data, sizeof(data)), 0);
        CU_ASSERT_EQUAL(memcmp(got + 4 + sizeof(data), "TAIL", 4), 0);
        /* sendfile(2) only where Linux's is (not in the portable build),
         * and never through a layer */
        CU_ASSERT(layered || !AC_HAVE_LINUX_SENDFILE
                      ? sendfile_calls == calls
                      : sendfile_calls > calls);
        close(peer);
        t_map_done(map);
    }
}

/* C-57: discard_buffers drops queued input and output. */
static void test_discard_buffers(void)
{
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);
    static char big[1 << 22];
    ac_producer p;
    size_t len;

    CU_ASSERT_EQUAL(ac_chat_push(&r->chat, big, sizeof(big)), 0);
    CU_ASSERT(ac_chat_pending(&r->chat) > 0); /* more than a socket holds */
    CU_ASSERT_EQUAL(ac_simple_producer(&p, "x", 1, 0), 0);
    CU_ASSERT_EQUAL(ac_chat_push_with_producer(&r->chat, &p), 0);
    CU_ASSERT_EQUAL(ac_chat_feed(&r->chat, "partial", 7), 0);
    ac_chat_discard_buffers(&r->chat);
    CU_ASSERT_EQUAL(ac_chat_pending(&r->chat), 0);
    ac_chat_data(&r->chat, &len);
    CU_ASSERT_EQUAL(len, 0);
    if (t_current == T_HOST)
        CU_ASSERT_EQUAL(t_host_events(ac_fileno(&r->chat.base)) & AC_OUT, 0);
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* C-59 (test_blockingioerror): a read event with nothing to read is not an
 * error. */
static void test_blockingioerror(void)
{
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);

    CU_ASSERT(ac_map_refresh(map) >= 0);
    CU_ASSERT_EQUAL(ac_map_dispatch(map, ac_fileno(&r->chat.base), AC_IN), 1);
    CU_ASSERT_FALSE(ac_closed(&r->chat.base));
    CU_ASSERT_EQUAL(t_log_count(), 0);
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* A line cap: the oversized record is reported once and skipped up to its
 * terminator; the next record is normal; memory stays bounded. */
static void test_max_line(void)
{
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);
    static char big[100000];
    size_t len;

    memset(big, 'q', sizeof(big));
    ac_chat_set_terminator(&r->chat, "\n", 1);
    ac_chat_set_max_line(&r->chat, 10);
    deliver(map, peer, "short\n", 6, 6);
    deliver(map, peer, big, sizeof(big), 4096);
    ac_chat_data(&r->chat, &len);
    CU_ASSERT(len <= 10);
    deliver(map, peer, "tail\nok\n", 8, 3);
    CU_ASSERT_EQUAL(r->too_long, 1);
    CU_ASSERT_EQUAL(r->nrec, 2);
    CU_ASSERT_STRING_EQUAL(r->records[0], "short");
    CU_ASSERT_STRING_EQUAL(r->records[1], "ok");
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* D-04: a 10 MB line in 1 KB reads is handed on as it arrives, never held
 * and re-searched: one collect per read, the kept tail below the
 * terminator's length. */
static void test_long_line_linear(void)
{
    ac_map *map = t_map_new();
    int peer, reads = 0;
    rchat *r = rchat_pair(map, &peer);
    static char chunk[1024];
    size_t total = 10u << 20, sent = 0, len;

    memset(chunk, 'y', sizeof(chunk));
    chunk[sizeof(chunk) - 1] = '\r'; /* every read ends in a prefix */
    ac_chat_set_terminator(&r->chat, "\r\n", 2);
    ac_chat_set_buffer_sizes(&r->chat, 1024, 0);
    while (sent < total) {
        CU_ASSERT_EQUAL_FATAL(write(peer, chunk, sizeof(chunk)),
                              (ssize_t)sizeof(chunk));
        sent += sizeof(chunk);
        while (t_step(map, 0) > 0)
            reads++;
    }
    CU_ASSERT_EQUAL(write(peer, "\n", 1), 1);
    while (r->nrec == 0 && t_step(map, 100) > 0)
        reads++;
    CU_ASSERT_EQUAL(r->nrec, 1);
    CU_ASSERT(r->collects <= reads + 1);
    CU_ASSERT(r->max_kept <= 1);
    ac_chat_data(&r->chat, &len);
    CU_ASSERT_EQUAL(len, 0); /* handed to found_terminator, then cleared */
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* Pushes made inside a handler are held until it returns, then sent
 * together: coalescing, which keeps a line and its terminator in one
 * segment. Outside handlers a push is sent before it returns. */
static size_t pending_in_handler;
static void push_pieces(ac_chat *c)
{
    int i;
    for (i = 0; i < 50; i++)
        ac_chat_push(c, "ab", 2);
    pending_in_handler = ac_chat_pending(c);
    ac_chat_clear_data(c);
}

static void test_pushes_coalesced(void)
{
    static ac_chat_class cls;
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);
    char buf[256];

    cls = rchat_class;
    cls.found_terminator = push_pieces;
    r->chat.base.klass = &cls.base;
    ac_chat_set_terminator(&r->chat, "\n", 1);
    CU_ASSERT_EQUAL(ac_chat_push(&r->chat, "x", 1), 0);
    CU_ASSERT_EQUAL(ac_chat_pending(&r->chat), 0); /* sent at once */
    CU_ASSERT_EQUAL(read(peer, buf, sizeof(buf)), 1);
    deliver(map, peer, "go\n", 3, 3);
    CU_ASSERT_EQUAL(pending_in_handler, 100); /* held inside the handler */
    CU_ASSERT_EQUAL(ac_chat_pending(&r->chat), 0); /* all sent after it */
    CU_ASSERT_EQUAL(read(peer, buf, sizeof(buf)), 100);
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* Interest is declared: an idle chat's predicates are never asked, and
 * its interest is exactly read while nothing is queued. */
static void test_declared_interest(void)
{
    ac_map *map = t_map_new();
    int peer;
    rchat *r = rchat_pair(map, &peer);

    t_step(map, 0);
    if (t_current == T_HOST)
        CU_ASSERT_EQUAL(t_host_events(ac_fileno(&r->chat.base)), AC_READ);
    ac_close(&r->chat.base);
    close(peer);
    t_map_done(map);
}

/* Feeding from inside the channel's own handler is refused. */
static int nested_feed;
static void feed_in_found(ac_chat *c)
{
    nested_feed = ac_chat_feed(c, "x\n", 2);
}

static void test_feed_reentry(void)
{
    static ac_chat_class cls;
    ac_map *map = t_map_new();
    ac_chat c;

    cls = ac_chat_base_class;
    cls.base.parent = AC_CHAT_PARENT;
    cls.found_terminator = feed_in_found;
    CU_ASSERT_EQUAL(ac_chat_init(&c, &cls, map), 0);
    ac_chat_set_terminator(&c, "\n", 1);
    CU_ASSERT_EQUAL(ac_chat_feed(&c, "a\n", 2), 0);
    CU_ASSERT_EQUAL(nested_feed, -EBUSY);
    ac_close(&c.base);
    CU_ASSERT_EQUAL(ac_chat_feed(&c, "a\n", 2), -EBADF);
    CU_ASSERT_EQUAL(ac_chat_push(&c, "a", 1), -EBADF);
    /* nothing may be allocated for a closed chat (found by fuzz_chat) */
    {
        char big[64] = {0};
        CU_ASSERT_EQUAL(ac_chat_set_terminator(&c, big, sizeof(big)), -EBADF);
        CU_ASSERT_EQUAL(ac_chat_set_terminator_count(&c, 3), -EBADF);
        CU_ASSERT_EQUAL(ac_chat_set_buffer_sizes(&c, 1, 1), -EBADF);
        CU_ASSERT_EQUAL(ac_chat_close_when_done(&c), -EBADF);
    }
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"line_terminator", test_line_terminator},
    {"numeric_terminator", test_numeric_terminator},
    {"none_terminator", test_none_terminator},
    {"empty_line", test_empty_line},
    {"change_terminator_in_handler", test_change_terminator_in_handler},
    {"push_producers_close_when_done", test_push_producers_close_when_done},
    {"discard_buffers", test_discard_buffers},
    {"file_producer_sendfile", test_file_producer_sendfile},
    {"blockingioerror", test_blockingioerror},
    {"max_line", test_max_line},
    {"long_line_linear", test_long_line_linear},
    {"declared_interest", test_declared_interest},
    {"pushes_coalesced", test_pushes_coalesced},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo once[] = {
    {"terminator_api", test_terminator_api},
    {"find_prefix_at_end", test_find_prefix_at_end},
    {"feed_reentry", test_feed_reentry},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("asynchat", tests);
    t_register_modes("asynchat", once, T_ONCE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
