/* Allocation failures and system-call faults (issue: reliability), on a
 * test build of the library whose own allocations and system calls go
 * through tests/inject/ (the shipped library is not touched).
 *
 * Allocation sweep: a scenario runs once to count the library's
 * allocations (n), then once for each k in 1..n with allocation k failing.
 * Every run must end without a crash or a leak (ASan), report the failure
 * (-ENOMEM from a call, or handle_error(ENOMEM)), lose no accepted byte
 * silently (what arrives is a prefix of what was accepted, all of it if
 * nothing failed on the way), close everything, and leave the map usable:
 * the same scenario then runs again on it without failures and must pass.
 *
 * Fault schedules: seeded random short counts, EINTR and EAGAIN out of
 * turn (and, in the hard schedules, ENOBUFS, ECONNABORTED, EMFILE, ENOMEM
 * and ENOSPC) on the library's send/recv/accept4/epoll_ctl: every byte
 * arrives once and in order, or a channel reports an error.
 *
 * Every host mode this build has (select, poll, epoll, host, uv, glib,
 * event). */
#include "helpers.h"
#include "inject/control.h"

#include <asyncore/event.h>
#include <asyncore/uv.h>

#include <asyncore/asynchat.h>
#include <dlfcn.h>
#ifdef AC_TEST_TLS
#include "tls/certs.h"
#include <asyncore/tls.h>
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STREAM (48u << 10) /* bytes each scenario pushes */
#define CHUNK 4096
#define SCHEDULES 40 /* seeds per schedule kind and mode */

/* The session's variant: with `extras`, records end with a long
 * terminator (a heap-held one), come back through producers (a copy, or
 * a pipe read until EOF), the client's socket buffer is small (its
 * queue grows), the descriptors are numbered above the map's first table,
 * and the server ends with a lingering close. */
static bool extras;
static const char TERM[] = "\r\n<<<<end-of-record>>>>\r\n";
#define TLEN (sizeof(TERM) - 1)

/* The stream: records of CHUNK bytes, each ending with its terminator
 * (a newline, or TERM with extras). */
static unsigned char pat(uint64_t i)
{
    unsigned char b = (unsigned char)((i * 13 + (i >> 9)) % 253);
    uint64_t r = i % CHUNK;

    if (extras) {
        if (r >= CHUNK - TLEN)
            return (unsigned char)TERM[r - (CHUNK - TLEN)];
        return (unsigned char)('a' + b % 26);
    }
    if (r == CHUNK - 1)
        return '\n';
    return b == '\n' ? 'n' : b;
}

/* What a run observed. */
static struct {
    int enomem;      /* ENOMEM seen: a call's result or handle_error */
    int errors;      /* handle_error calls (any errno) */
    int closes;      /* handle_close calls */
    uint64_t accepted, got, bad;
    bool client_gone;
} ob;

/* over the whole run, for the summary line */
static uint64_t sites, total_schedules, total_faults, total_bytes;

static void saw(int r)
{
    if (r == -ENOMEM)
        ob.enomem++;
}

/* Sessions on TLS (both ends) when set. */
static void *tls_server, *tls_client;
static bool use_tls;

static int maybe_tls(ac_dispatcher *d, bool server)
{
#ifdef AC_TEST_TLS
    if (use_tls)
        return ac_tls_start(d, server ? tls_server : tls_client,
                            !server && extras ? "localhost" : NULL);
#else
    (void)d;
    (void)server;
#endif
    return 0;
}

/* ---- the echo server: async_chat, a line at a time ---- */

typedef struct echo {
    ac_chat chat;
    ac_timer idle; /* a timer per connection: the map's timer heap */
} echo;

static void any_close(ac_dispatcher *d)
{
    ob.closes++;
    ac_close(d);
}

static void any_error(ac_dispatcher *d, int err, const char *where)
{
    (void)where;
    ob.errors++;
    if (err == ENOMEM)
        ob.enomem++;
    ac_close(d);
}

/* A line back; a push that fails ends the connection (nothing after a gap
 * may be sent). */
/* With extras, a record goes back through a producer: a copy (simple
 * producer) or, every other one, a pipe read until EOF (fd producer). */
static int push_produced(ac_chat *c, const char *data, size_t n)
{
    static unsigned turn;
    ac_producer p;
    int fds[2], r;

    if (turn++ % 2 == 0) {
        r = ac_simple_producer(&p, data, n, 1000);
    } else {
        if (pipe(fds) < 0)
            return -errno;
        if (write(fds[1], data, n) != (ssize_t)n) {
            close(fds[0]);
            close(fds[1]);
            return -EIO;
        }
        close(fds[1]);
        r = ac_fd_producer(&p, fds[0], 1500, true);
        if (r < 0)
            close(fds[0]);
    }
    return r < 0 ? r : ac_chat_push_with_producer(c, &p);
}

static void echo_line(ac_chat *c)
{
    size_t n;
    const char *data = ac_chat_data(c, &n);
    int r;

    if (extras) {
        char rec[CHUNK];
        memcpy(rec, data, n);
        memcpy(rec + n, TERM, TLEN);
        r = push_produced(c, rec, n + TLEN);
    } else {
        r = ac_chat_push(c, data, n);
        if (r == 0)
            r = ac_chat_push(c, "\n", 1);
    }
    saw(r);
    ac_chat_clear_data(c);
    if (r < 0)
        ac_close(&c->base);
}

/* With extras the server ends with a lingering close. */
static void echo_close(ac_dispatcher *d)
{
    ob.closes++;
    if (extras)
        saw(ac_close_lingering(d, 500, 1 << 16));
    else
        ac_close(d);
}

static void echo_destroy(ac_dispatcher *d)
{
    echo *e = AC_CONTAINER_OF(AC_CHAT_OF(d), echo, chat);

    ac_timer_stop(&e->idle);
    free(e);
}

static const ac_chat_class echo_class = {
    .base = {.name = "inj_echo", .parent = AC_CHAT_PARENT,
             .handle_close = echo_close, .handle_error = any_error,
             .destroy = echo_destroy},
    .found_terminator = echo_line,
};

static void idle_expired(ac_timer *t)
{
    (void)t;
}

static void listener_accepted(ac_dispatcher *d, int fd,
                              const struct sockaddr *a, socklen_t l)
{
    echo *e = calloc(1, sizeof(*e));
    int r;

    (void)a;
    (void)l;
    if (!e) {
        close(fd);
        return;
    }
    ac_chat_init(&e->chat, &echo_class, ac_dispatcher_get_map(d));
    ac_timer_init(&e->idle, ac_dispatcher_get_map(d), idle_expired, e);
    if ((r = extras ? ac_chat_set_terminator(&e->chat, TERM, TLEN)
                    : ac_chat_set_terminator(&e->chat, "\n", 1)) < 0 ||
        (r = ac_timer_start(&e->idle, 60000, 0)) < 0 ||
        (r = ac_set_socket(&e->chat.base, fd)) < 0) {
        saw(r);
        close(fd);
        ac_close(&e->chat.base);
    } else if ((r = maybe_tls(&e->chat.base, true)) < 0) {
        saw(r);
        ac_close(&e->chat.base);
    }
}

static const ac_dispatcher_class listener_class = {
    .name = "inj_listener",
    .handle_accepted = listener_accepted,
    .handle_error = any_error,
};

/* ---- the client: with_send pushing the pattern, checking the echo ---- */

typedef struct client {
    ac_dispatcher_with_send w;
    uint64_t pushed; /* bytes offered so far (accepted or not) */
} client;

/* A refused push is offered again (the pattern follows what was
 * accepted), so STREAM bytes are accepted in the end; the offers are
 * bounded all the same. */
static bool pushing(const client *c)
{
    return ob.accepted < STREAM && c->pushed < 2 * STREAM;
}

static client *the_client;

static void push_more(client *c)
{
    unsigned char buf[CHUNK];
    size_t i;

    while (pushing(c) &&
           ac_with_send_pending(&c->w) < (extras ? 65536u : 16384u) &&
           !ac_closed(&c->w.base)) {
        /* with extras, a record goes in two writes split inside its
         * terminator, so the server's reads end in the middle of one */
        size_t off = (size_t)(ob.accepted % CHUNK), split = CHUNK - TLEN / 2;
        size_t n = !extras ? CHUNK : off < split ? split - off : CHUNK - off;
        int r;

        for (i = 0; i < n; i++)
            buf[i] = pat(ob.accepted + i);
        c->pushed += n;
        r = ac_with_send(&c->w, buf, n);
        saw(r);
        if (r == 0)
            ob.accepted += n; /* else: refused, and said so */
    }
}

static void called(void *data)
{
    (void)data;
}

static void client_connect(ac_dispatcher *d)
{
    saw(ac_map_call(ac_dispatcher_get_map(d), called, NULL));
    push_more(AC_CONTAINER_OF(d, client, w.base));
}

static void client_write(ac_dispatcher *d)
{
    ac_with_send_class.handle_write(d);
    if (!ac_closed(d))
        push_more(AC_CONTAINER_OF(d, client, w.base));
}

static void client_read(ac_dispatcher *d)
{
    unsigned char buf[8192];
    ssize_t n = ac_recv(d, buf, sizeof(buf)), i;

    for (i = 0; i < n; i++)
        if (buf[i] != pat(ob.got + (uint64_t)i))
            ob.bad++;
    if (n > 0)
        ob.got += (uint64_t)n;
}

static void client_destroy(ac_dispatcher *d)
{
    ob.client_gone = true;
    if (the_client == AC_CONTAINER_OF(d, client, w.base))
        the_client = NULL;
    free(AC_CONTAINER_OF(d, client, w.base));
}

static const ac_dispatcher_class client_class = {
    .name = "inj_client",
    .parent = &ac_with_send_class,
    .handle_connect = client_connect,
    .handle_write = client_write,
    .handle_read = client_read,
    .handle_close = any_close,
    .handle_error = any_error,
    .destroy = client_destroy,
};

static long long ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One echo session in `map`: a listener, a client, STREAM bytes pushed.
 * Returns true if it ran to the end (every accepted byte back). */
static bool echo_session(ac_map *map, int budget_ms)
{
    ac_dispatcher *lis = calloc(1, sizeof(*lis));
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    client *c;
    long long end = ms() + budget_ms;
    int r;

    int high[70], nhigh = 0;

    memset(&ob, 0, sizeof(ob));
    if (!lis)
        return false;
    while (extras && nhigh < 70 && (high[nhigh] = dup(0)) >= 0)
        nhigh++;
    ac_dispatcher_init(lis, &listener_class, map);
    if ((r = ac_create_socket(lis, AF_INET, SOCK_STREAM)) < 0 ||
        (r = ac_resolve("127.0.0.1", 0, AF_INET, true, &ss, &len)) < 0 ||
        (r = ac_bind(lis, (struct sockaddr *)&ss, len)) < 0 ||
        (r = ac_listen(lis, 16)) < 0 ||
        (r = ac_getsockname(lis, &ss, &len)) < 0) {
        saw(r);
        ac_close(lis);
        free(lis);
        while (nhigh > 0)
            close(high[--nhigh]);
        return false;
    }
    c = the_client = calloc(1, sizeof(*c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ac_with_send_init(&c->w, &client_class, map);
    /* a failure reported to the client's handle_error closes it, and its
     * destroy may run before the call returns: the_client says if it is
     * still there */
    if ((r = ac_create_socket(&c->w.base, AF_INET, SOCK_STREAM)) < 0 ||
        (extras && setsockopt(ac_fileno(&c->w.base), SOL_SOCKET, SO_SNDBUF,
                              &(int){4096}, sizeof(int)) < 0) ||
        (r = ac_connect(&c->w.base, (struct sockaddr *)&ss, len)) < 0 ||
        (the_client && (r = maybe_tls(&c->w.base, false)) < 0)) {
        saw(r);
        if (the_client)
            ac_close(&c->w.base);
    }
    /* an iteration that fails (the select backend's result array) says
     * so, as ac_loop() would return it */
    while (ms() < end && !ob.client_gone && the_client &&
           !(!pushing(c) && ob.got >= ob.accepted))
        if ((r = t_step(map, 10)) < 0) {
            saw(r);
            break;
        }
    /* with extras the client leaves first: the server lingers */
    if (extras && the_client) {
        ac_close(&c->w.base);
        while (ms() < end && ac_map_count(map) > 1)
            if ((r = t_step(map, 10)) < 0) {
                saw(r);
                break;
            }
    }
    /* done, failed or out of time: close everything */
    saw(ac_close_all(map, true));
    t_run_until_empty(map, 2000);
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    free(lis);
    while (nhigh > 0)
        close(high[--nhigh]);
    return ob.got == STREAM && ob.accepted == STREAM && !ob.errors;
}

/* What every injected run must show. */
static void check_run(const char *what, uint64_t k)
{
    /* no byte accepted then lost unless a channel said why */
    if (ob.bad || ob.got > ob.accepted)
        fprintf(stderr, "%s k=%llu: got %llu of %llu accepted, %llu bad\n",
                what, (unsigned long long)k, (unsigned long long)ob.got,
                (unsigned long long)ob.accepted, (unsigned long long)ob.bad);
    CU_ASSERT_EQUAL(ob.bad, 0);
    CU_ASSERT(ob.got <= ob.accepted);
    if (ob.got < ob.accepted && !ob.errors && !ob.closes)
        fprintf(stderr, "%s k=%llu: %llu of %llu bytes, no error reported\n",
                what, (unsigned long long)k, (unsigned long long)ob.got,
                (unsigned long long)ob.accepted);
    CU_ASSERT(ob.got == ob.accepted || ob.errors || ob.closes);
}

/* ---- allocation sweep ---- */

static void sweep(const char *what, bool (*session)(ac_map *, int))
{
    ac_map *map = t_map_new();
    uint64_t n, k;
    int unreported = 0;
    long long t0 = ms();

    inj_reset();
    CU_ASSERT_TRUE(session(map, 10000)); /* the count, and the baseline */
    n = inj_allocs;
    t_map_done(map);
    CU_ASSERT(n > 0);
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "%s: %llu allocations\n", what, (unsigned long long)n);
    for (k = 1; k <= n; k++) {
        int fds = t_open_fds();

        map = t_map_new(); /* a fresh map: its first allocations count */
        inj_reset();
        t_log_clear();
        inj_fail_at = k;
        session(map, 3000);
        check_run(what, k);
        sites += inj_failed ? 1 : 0;
        /* reported: ENOMEM to a call or handler, or, where the library
         * carried on without the memory (the budget's kept records are
         * handled at once instead), a warning in the map's log */
        if (inj_failed && !ob.enomem && !t_log_contains("out of memory")) {
            fprintf(stderr, "%s: allocation %llu of %llu failed unreported\n",
                    what, (unsigned long long)k, (unsigned long long)n);
            unreported++;
        }
        /* the map is still usable */
        inj_reset();
        if (!session(map, 10000)) {
            fprintf(stderr, "%s: after allocation %llu failed, the map no "
                            "longer works\n", what, (unsigned long long)k);
            CU_FAIL("map unusable after an allocation failure");
        }
        t_map_done(map);
        if (t_open_fds() != fds)
            fprintf(stderr, "%s: allocation %llu of %llu failing leaked %d "
                    "descriptors\n", what, (unsigned long long)k,
                    (unsigned long long)n, t_open_fds() - fds);
    }
    CU_ASSERT_EQUAL(unreported, 0);
    inj_reset();
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "%s: sweep took %lld ms\n", what, ms() - t0);
}

static void test_alloc_echo(void)
{
    sweep("echo", echo_session);
}

static void test_alloc_extras(void)
{
    extras = true;
    sweep("extras", echo_session);
    extras = false;
}

static void test_alloc_tls_extras(void)
{
    extras = use_tls = true;
    sweep("tls extras", echo_session);
    extras = use_tls = false;
}


static void test_alloc_tls(void)
{
    use_tls = true;
    sweep("tls echo", echo_session);
    use_tls = false;
}

/* ac_map_new itself: NULL with ENOMEM at each of its allocations. */
static void test_alloc_map_new(void)
{
    static const ac_backend b[] = {AC_BACKEND_SELECT, AC_BACKEND_POLL,
                                   AC_BACKEND_EPOLL};
    size_t i;
    uint64_t n, k;

    for (i = 0; i < (AC_HAVE_EPOLL ? 3u : 2u); i++) {
        ac_map *m;
        int fds = t_open_fds();

        inj_reset();
        m = ac_map_new(b[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        n = inj_allocs;
        ac_map_free(m);
        for (k = 1; k <= n; k++) {
            inj_reset();
            inj_fail_at = k;
            errno = 0;
            m = ac_map_new(b[i]);
            if (m) {
                ac_map_free(m);
            } else {
                CU_ASSERT_EQUAL(errno, ENOMEM);
            }
            if (t_open_fds() != fds)
                fprintf(stderr, "ac_map_new(%s), allocation %llu of %llu "
                        "failing: %s, %d descriptors leaked\n",
                        ac_backend_name(b[i]), (unsigned long long)k,
                        (unsigned long long)n, m ? "made" : "NULL",
                        t_open_fds() - fds);
            CU_ASSERT_EQUAL(t_open_fds(), fds);
            fds = t_open_fds();
        }
    }
    inj_reset();
}

/* Attaching a map to libuv and to libevent, and making TLS contexts:
 * NULL with ENOMEM at each of their allocations, nothing left behind. */
static void test_alloc_attach(void)
{
    uv_loop_t loop;
    struct event_base *base = event_base_new();
    ac_map *m = ac_map_new(T_FD_BACKEND);
    uint64_t k;
    int kind;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
    for (kind = 0; kind < 3; kind++) {
        for (k = 1; k < 100; k++) {
            void *a;

            inj_reset();
            inj_fail_at = k;
            errno = 0;
            if (kind == 0) {
                a = ac_uv_attach(m, &loop);
                if (a) {
                    CU_ASSERT_EQUAL(ac_uv_detach(a, NULL, NULL), 0);
                    uv_run(&loop, UV_RUN_NOWAIT);
                }
            } else if (kind == 1) {
                a = ac_event_attach(m, base, AC_EVENT_AUTO);
                if (a)
                    CU_ASSERT_EQUAL(ac_event_detach(a), 0);
            } else {
#ifdef AC_TEST_TLS
                a = ac_tls_ctx_new(AC_TLS_CLIENT, NULL, NULL, 0);
                ac_tls_ctx_unref(a);
#else
                a = (void *)1;
#endif
            }
            if (!inj_failed)
                break; /* every allocation was failed once */
            if (a)
                fprintf(stderr, "%s: allocation %llu failed, yet it "
                        "succeeded\n", kind == 0 ? "ac_uv_attach" : kind == 1
                        ? "ac_event_attach" : "ac_tls_ctx_new",
                        (unsigned long long)k);
            CU_ASSERT_PTR_NULL(a);
            CU_ASSERT_EQUAL(errno, ENOMEM);
        }
    }
    inj_reset();
    ac_map_free(m);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    event_base_free(base);
}

/* ---- fault schedules ---- */

static void schedules(bool hard)
{
    ac_map *map = t_map_new();
    uint64_t seed, faults = 0;
    int complete = 0, runs = 0;

    for (seed = 1; seed <= SCHEDULES; seed++) {
        inj_reset();
        inj_seed = seed * 0x9E3779B97F4A7C15ull + (uint64_t)t_current;
        inj_one_in = hard ? 16 : 3;
        inj_hard = hard;
        complete += echo_session(map, 5000);
        faults += inj_faults;
        runs++;
        total_schedules++;
        total_faults += inj_faults;
        total_bytes += ob.got;
        check_run(hard ? "hard schedule" : "schedule", seed);
        if (!hard) {
            /* transient faults only: nothing may fail */
            CU_ASSERT_EQUAL(ob.errors, 0);
            CU_ASSERT_EQUAL(ob.got, STREAM);
        }
    }
    inj_reset();
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "%s: %llu faults over %d runs, %d complete\n",
                hard ? "hard" : "transient", (unsigned long long)faults, runs,
                complete);
    CU_ASSERT(faults > 0);
    if (!hard)
        CU_ASSERT_EQUAL(complete, runs);
    t_map_done(map);
}

static void test_extras_faults(void)
{
    extras = true;
    schedules(false);
    schedules(true);
    extras = false;
}

static void test_transient_faults(void)
{
    schedules(false);
}

static void test_hard_faults(void)
{
    schedules(true);
}

static void test_tls_transient_faults(void)
{
    use_tls = true;
    schedules(false);
    use_tls = false;
}

static void test_tls_hard_faults(void)
{
    use_tls = true;
    schedules(true);
    use_tls = false;
}

static CU_TestInfo once[] = {
    {"ac_map_new under every allocation failure", test_alloc_map_new},
    {"attaching to libuv and libevent, TLS contexts: every allocation "
     "failure", test_alloc_attach},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo tests[] = {
    {"echo session under every allocation failure", test_alloc_echo},
    {"short counts, EINTR, EAGAIN: every byte once, in order",
     test_transient_faults},
    {"ENOBUFS, ECONNABORTED, EMFILE, ENOMEM, ENOSPC: reported, no loss",
     test_hard_faults},
    {"long terminators, producers, a growing queue, lingering close, high "
     "descriptors: every allocation failure", test_alloc_extras},
    {"the same under fault schedules", test_extras_faults},
#ifdef AC_TEST_TLS
    {"TLS with those extras: every allocation failure", test_alloc_tls_extras},
    {"TLS echo session under every allocation failure", test_alloc_tls},
    {"TLS: short counts, EINTR, EAGAIN: every byte once, in order",
     test_tls_transient_faults},
    {"TLS: hard faults reported, no loss", test_tls_hard_faults},
#endif
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register_modes("inject_map_new", once, T_ONCE);
    t_register("inject", tests);
}

int main(int argc, char **argv)
{
    int r;
#ifdef AC_TEST_TLS
    tc_certs certs;
    ac_tls_opts so = {0}, co = {0};

    if (tc_certs_make(&certs) < 0)
        return 1;
    so.cert_file = certs.server;
    so.key_file = certs.key;
    co.ca_file = certs.ca;
    tls_server = ac_tls_ctx_new(AC_TLS_SERVER, &so, NULL, 0);
    tls_client = ac_tls_ctx_new(AC_TLS_CLIENT, &co, NULL, 0);
    tc_certs_remove(&certs);
    if (!tls_server || !tls_client)
        return 1;
#endif
    inj_reset();
    r = t_main(argc, argv, reg);
#ifdef AC_TEST_TLS
    ac_tls_ctx_unref(tls_server);
    ac_tls_ctx_unref(tls_client);
#endif

    printf("injected: %llu allocation failures at %zu distinct call sites "
           "(one per run, every allocation of each session in each mode), "
           "%llu fault schedules with %llu faults, %llu bytes checked\n",
           (unsigned long long)sites, inj_sites(),
           (unsigned long long)total_schedules,
           (unsigned long long)total_faults, (unsigned long long)total_bytes);
    if (getenv("T_SITES")) { /* for addr2line -e test_inject */
        size_t i;
        for (i = 0; i < inj_sites(); i++) {
            Dl_info info;
            if (dladdr(inj_site(i), &info))
                printf("site %#lx\n", (unsigned long)((char *)inj_site(i) -
                                                       (char *)info.dli_fbase));
        }
    }
    return r;
}
