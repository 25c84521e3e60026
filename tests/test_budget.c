/* The time budget of an iteration (ac_map_set_budget) and debug mode
 * (ac_map_set_debug) on every mode: a burst of records split across
 * iterations arrives byte-exact; two busy channels take turns; without a
 * budget a read's records run in one go, as before; a slow handler, timer
 * callback and call are named; channels left open at ac_map_free are
 * listed; a call from another thread is told once per site; the
 * statistics add up. */
#include "helpers.h"

#include <asyncore/asynchat.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_us(unsigned us)
{
    uint64_t end = now_ns() + us * 1000u;

    while (now_ns() < end)
        ;
}

/* A connected TCP pair on loopback: the writer's close is a FIN, read
 * after the data (a Unix socket pair hangs up with data still unread,
 * and readiness with a hang-up closes the channel, as in Python). */
static void tcp_pair(int sv[2])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int l = t_listener(AF_INET, &ss, &len);

    sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(sv[1] >= 0);
    CU_ASSERT_FATAL(connect(sv[1], (struct sockaddr *)&ss, len) == 0);
    sv[0] = accept(l, NULL, NULL);
    CU_ASSERT_FATAL(sv[0] >= 0);
    close(l);
}

/* ---- a writer that sends a buffer, then shuts down ---- */

typedef struct {
    ac_dispatcher d;
    const char *buf;
    size_t len, off;
} writer;

static void writer_write(ac_dispatcher *d)
{
    writer *w = AC_CONTAINER_OF(d, writer, d);
    ssize_t n = ac_send(d, w->buf + w->off, w->len - w->off);

    if (n > 0)
        w->off += (size_t)n;
    if (w->off == w->len)
        ac_close(d);
}

static void writer_close(ac_dispatcher *d)
{
    ac_close(d);
}

static const ac_dispatcher_class writer_class = {
    .name = "test_writer",
    .parent = &ac_base_class,
    .handle_write = writer_write,
    .handle_close = writer_close,
};

static void writer_start(writer *w, ac_map *map, int fd, const char *buf,
                         size_t len)
{
    *w = (writer){.buf = buf, .len = len};
    CU_ASSERT_EQUAL_FATAL(ac_dispatcher_init(&w->d, &writer_class, map), 0);
    CU_ASSERT_EQUAL(ac_set_interest(&w->d, AC_OUT), 0);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&w->d, fd), 0);
}

/* Lines "<id> <seq, 8 digits> <padding>\n", 30 bytes each. */
#define LINE 30

static char *make_lines(int id, size_t n)
{
    char *buf = malloc(n * LINE), tmp[LINE + 1];
    size_t i;

    for (i = 0; buf && i < n; i++) {
        snprintf(tmp, sizeof(tmp), "%d %08zu abcdefghijklmnopqr\n", id, i);
        memcpy(buf + i * LINE, tmp, LINE);
    }
    return buf;
}

/* ---- a reader that checks every line and logs whose record ran ---- */

typedef struct {
    ac_chat chat;
    int id;
    size_t lines, bad;
    unsigned spin_us;
    int *order;  /* shared log of ids, one per record */
    size_t *norder, order_cap;
    bool done;   /* the writer's end came */
} reader;

static void reader_found(ac_chat *c)
{
    reader *r = AC_CONTAINER_OF(c, reader, chat);
    char want[LINE + 1];
    size_t len;
    const char *got = ac_chat_data(c, &len);

    snprintf(want, sizeof(want), "%d %08zu abcdefghijklmnopqr", r->id,
             r->lines);
    if (len != LINE - 1 || memcmp(got, want, LINE - 1) != 0)
        r->bad++;
    r->lines++;
    ac_chat_clear_data(c);
    if (r->order && *r->norder < r->order_cap)
        r->order[(*r->norder)++] = r->id;
    if (r->spin_us)
        spin_us(r->spin_us);
}

static void reader_close(ac_dispatcher *d)
{
    AC_CONTAINER_OF(d, reader, chat.base)->done = true;
    ac_close(d);
}

static const ac_chat_class reader_class = {
    .base = {.name = "test_reader",
             .parent = AC_CHAT_PARENT,
             .handle_close = reader_close},
    .found_terminator = reader_found,
};

static void reader_start(reader *r, ac_map *map, int id, int fd)
{
    memset(r, 0, sizeof(*r));
    r->id = id;
    CU_ASSERT_EQUAL_FATAL(ac_chat_init(&r->chat, &reader_class, map), 0);
    CU_ASSERT_EQUAL(ac_chat_set_terminator(&r->chat, "\n", 1), 0);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&r->chat.base, fd), 0);
}

static bool run_until2(ac_map *map, bool *a, bool *b, int ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

    while (!(*a && (!b || *b)) && now_ns() < end)
        t_step(map, 50);
    return *a && (!b || *b);
}

/* The longest run of one id in `order` while both ids still had records
 * to come (up to the last record of the one that finished first). */
static size_t longest_shared_run(const int *order, size_t n)
{
    size_t i, last_a = 0, last_b = 0, run = 0, best = 0, end;

    for (i = 0; i < n; i++)
        *(order[i] == 1 ? &last_a : &last_b) = i;
    end = last_a < last_b ? last_a : last_b;
    for (i = 0; i <= end && i < n; i++) {
        run = i > 0 && order[i] == order[i - 1] ? run + 1 : 1;
        if (run > best)
            best = run;
    }
    return best;
}

/* 4 MB of 30-byte lines through async_chat with a 2 ms budget: the map
 * cuts iterations (the statistics count them), every line arrives once,
 * in order, intact. */
static void test_burst_byte_exact(void)
{
    enum { N = 4 * 1024 * 1024 / LINE };
    ac_map *map = t_map_new();
    char *lines = make_lines(1, N);
    writer w;
    reader r;
    ac_map_stats st;
    int sv[2];

    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    CU_ASSERT_EQUAL(ac_map_set_budget(map, 2), 0);
    CU_ASSERT_EQUAL(ac_map_get_budget(map), 2);
    tcp_pair(sv);
    reader_start(&r, map, 1, sv[0]);
    r.spin_us = 1; /* a record costs something, as a GUI's would */
    writer_start(&w, map, sv[1], lines, (size_t)N * LINE);
    CU_ASSERT_TRUE(run_until2(map, &r.done, NULL, 60000));
    CU_ASSERT_EQUAL(r.lines, N);
    CU_ASSERT_EQUAL(r.bad, 0);
    CU_ASSERT_EQUAL(w.off, (size_t)N * LINE);
    CU_ASSERT_EQUAL(ac_map_get_stats(map, &st), -ENOTSUP); /* debug off */
    CU_ASSERT(st.budget_cuts > 0);
    t_map_done(map);
    free(lines);
}

/* Two channels with a burst each: with a budget, neither runs more than a
 * few budgets' worth of records while the other waits; every record of
 * both arrives in order. */
static void test_two_busy_channels_alternate(void)
{
    enum { N = 6000 };
    ac_map *map = t_map_new();
    char *la = make_lines(1, N), *lb = make_lines(2, N);
    int *order = calloc(2 * N, sizeof(int));
    size_t norder = 0, run;
    writer wa, wb;
    reader a, b;
    int sa[2], sb[2];

    CU_ASSERT_FATAL(la && lb && order);
    CU_ASSERT_EQUAL(ac_map_set_budget(map, 1), 0);
    tcp_pair(sa);
    tcp_pair(sb);
    reader_start(&a, map, 1, sa[0]);
    reader_start(&b, map, 2, sb[0]);
    a.order = b.order = order;
    a.norder = b.norder = &norder;
    a.order_cap = b.order_cap = 2 * N;
    a.spin_us = b.spin_us = 20; /* about 50 records a budget */
    writer_start(&wa, map, sa[1], la, (size_t)N * LINE);
    writer_start(&wb, map, sb[1], lb, (size_t)N * LINE);
    CU_ASSERT_TRUE(run_until2(map, &a.done, &b.done, 60000));
    CU_ASSERT_EQUAL(a.lines, N);
    CU_ASSERT_EQUAL(b.lines, N);
    CU_ASSERT_EQUAL(a.bad + b.bad, 0);
    run = longest_shared_run(order, norder);
    /* a read is up to 64 KB: 2184 records in one go without a budget */
    if (run >= 1000)
        fprintf(stderr, "longest run of one channel: %zu\n", run);
    CU_ASSERT(run < 1000);
    t_map_done(map);
    free(la);
    free(lb);
    free(order);
}

/* Records per step of a reader that finds `n` lines (60 KB: one read)
 * already in its socket; the most one step ran. */
static size_t most_per_step(ac_map *map, size_t n, unsigned budget_ms)
{
    char *lines = make_lines(1, n);
    size_t most = 0, before;
    uint64_t end = now_ns() + 30000000000ull;
    writer w;
    reader r;
    int sv[2];

    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    CU_ASSERT_EQUAL(ac_map_set_budget(map, budget_ms), 0);
    tcp_pair(sv);
    CU_ASSERT_EQUAL(write(sv[1], lines, n * LINE), (ssize_t)(n * LINE));
    reader_start(&r, map, 1, sv[0]);
    r.spin_us = 20;
    writer_start(&w, map, sv[1], "", 0); /* only closes its end */
    while (!r.done && now_ns() < end) {
        before = r.lines;
        t_step(map, 50);
        if (r.lines - before > most)
            most = r.lines - before;
    }
    CU_ASSERT_EQUAL(r.lines, n);
    CU_ASSERT_EQUAL(r.bad, 0);
    free(lines);
    return most;
}

/* Budget 0 (also where a GUI adapter set one): a read's records all run in
 * the step that read them, nothing is cut. With a budget they do not. */
static void test_budget_off_is_today(void)
{
    enum { N = 2000 };
    ac_map *map = t_map_new();
    ac_map_stats st;

    CU_ASSERT_EQUAL(ac_map_set_budget(map, 60001), -ERANGE);
    CU_ASSERT_EQUAL(ac_map_set_budget(NULL, 1), -EINVAL);
    CU_ASSERT_EQUAL(ac_map_get_budget(NULL), -EINVAL);
    CU_ASSERT_EQUAL(most_per_step(map, N, 0), N);
    ac_map_get_stats(map, &st);
    CU_ASSERT_EQUAL(st.budget_cuts, 0);
    CU_ASSERT(most_per_step(map, N, 1) < N / 2);
    ac_map_get_stats(map, &st);
    CU_ASSERT(st.budget_cuts > 0);
    t_map_done(map);
}

/* ---- debug mode ---- */

static void sleepy_read(tchan *t)
{
    char buf[64];

    usleep(150 * 1000);
    (void)ac_recv(&t->d, buf, sizeof(buf));
    t->flag = true;
}

static bool timer_ran;

static void sleepy_timer(ac_timer *t)
{
    (void)t;
    usleep(150 * 1000);
    timer_ran = true;
}

static bool call_ran;

static void sleepy_call(void *data)
{
    (void)data;
    usleep(150 * 1000);
    call_ran = true;
}

/* A handler, a timer callback and a call that each sleep 150 ms are told
 * with their names; a fast one is not. */
static void test_slow_handler_reported(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    ac_timer timer;
    ac_map_stats st;
    int sv[2];

    CU_ASSERT_EQUAL(ac_map_set_debug(map, AC_DEBUG_ALL + 1, 0), -EINVAL);
    CU_ASSERT_EQUAL(ac_map_set_debug(map, AC_DEBUG_ALL, 0), 0);
    CU_ASSERT_EQUAL(ac_map_get_debug(map), AC_DEBUG_ALL);
    t_socketpair(sv);
    t->on_read = sleepy_read;
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_IN), 0);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
    t_log_clear();
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_TRUE(t_run_until(map, &t->flag, 5000));
    CU_ASSERT_TRUE(t_log_contains("slow handler: tchan"));
    CU_ASSERT_TRUE(t_log_contains("handle_read ran 1"));
    CU_ASSERT_TRUE(t_log_contains("threshold 100 ms"));

    timer_ran = call_ran = false;
    CU_ASSERT_EQUAL(ac_timer_init(&timer, map, sleepy_timer, NULL), 0);
    CU_ASSERT_EQUAL(ac_timer_start(&timer, 1, 0), 0);
    CU_ASSERT_TRUE(t_run_until(map, &timer_ran, 5000));
    CU_ASSERT_TRUE(t_log_contains("slow timer callback"));
    CU_ASSERT_EQUAL(ac_map_call(map, sleepy_call, NULL), 0);
    CU_ASSERT_TRUE(t_run_until(map, &call_ran, 5000));
    CU_ASSERT_TRUE(t_log_contains("slow call (ac_map_call)"));
    CU_ASSERT_EQUAL(ac_map_get_stats(map, &st), 0);
    CU_ASSERT_EQUAL(st.slow, 3);

    /* a raised threshold: the same handler is no longer slow */
    CU_ASSERT_EQUAL(ac_map_set_debug(map, AC_DEBUG_SLOW, 1000), 0);
    t_log_clear();
    t->flag = false;
    CU_ASSERT_EQUAL(write(sv[1], "y", 1), 1);
    CU_ASSERT_TRUE(t_run_until(map, &t->flag, 5000));
    CU_ASSERT_FALSE(t_log_contains("slow handler"));
    CU_ASSERT_EQUAL(ac_map_set_debug(map, 0, 0), 0);
    CU_ASSERT_EQUAL(ac_map_get_debug(map), 0);
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

/* Channels still open at ac_map_free are listed; closed ones are not. */
static void test_unclosed_listed(void)
{
    ac_map *map = t_map_new();
    tchan *open1 = tchan_new(map), *closed = tchan_new(map);
    int sv[2], sw[2];
    char want[64];

    CU_ASSERT_EQUAL(ac_map_set_debug(map, AC_DEBUG_UNCLOSED, 0), 0);
    t_socketpair(sv);
    t_socketpair(sw);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&open1->d, sv[0]), 0);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&closed->d, sw[0]), 0);
    t_step(map, 0);
    ac_close(&closed->d);
    t_log_clear();
    CU_ASSERT_EQUAL(ac_map_free(map), 0); /* closes what is open */
    snprintf(want, sizeof(want), "channel still open: tchan");
    CU_ASSERT_TRUE(t_log_contains(want));
    snprintf(want, sizeof(want), "fd %d\n", sv[0]);
    CU_ASSERT_TRUE(t_log_contains(want));
    snprintf(want, sizeof(want), "fd %d\n", sw[0]);
    CU_ASSERT_FALSE(t_log_contains(want));
    CU_ASSERT_EQUAL(t_log_count(), 1);
    close(sv[1]);
    close(sw[1]);
}

typedef struct {
    ac_timer *timer;
    tchan *t;
} thread_args;

/* One call site (a loop may be unrolled into three; a tail call would
 * return past this function). */
__attribute__((noinline)) static void stop_timer(ac_timer *t)
{
    ac_timer_stop(t);
    __asm__ __volatile__("" ::: "memory");
}

static void *wrong_thread(void *arg)
{
    thread_args *a = arg;
    int i;

    for (i = 0; i < 3; i++) /* one site, three calls: told once */
        stop_timer(a->timer);
    {
        char c;
        ac_recv(&a->t->d, &c, 1); /* another site; nothing to read */
    }
    return NULL;
}

/* Calls from a thread that does not run the map are told once per call
 * site; ac_map_call from there is not told; the map's own thread is not. */
static void test_wrong_thread_reported(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    ac_timer timer;
    thread_args a = {&timer, t};
    pthread_t th;
    int sv[2];

    CU_ASSERT_EQUAL(ac_map_set_debug(map, AC_DEBUG_THREADS, 0), 0);
    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
    CU_ASSERT_EQUAL(ac_timer_init(&timer, map, sleepy_timer, NULL), 0);
    t_step(map, 0);
    t_log_clear();
    ac_timer_stop(&timer);
    CU_ASSERT_EQUAL(t_log_count(), 0);
    /* the map's thread is blocked in the join: no race in fact */
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, wrong_thread, &a), 0);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(t_log_count(), 2);
    CU_ASSERT_TRUE(t_log_contains("debug: ac_timer_stop called from a thread"));
    CU_ASSERT_TRUE(t_log_contains("debug: ac_recv called from a thread"));
    if (t_log_count() != 2)
        fprintf(stderr, "log:\n%s", t_log_text());
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

/* Statistics: a timer that sleeps 150 ms in about 400 ms of running; busy
 * holds the sleep, busy + wait is about elapsed, the loop delay's maximum
 * is the sleep. */
static void test_metrics_add_up(void)
{
    ac_map *map = t_map_new();
    ac_timer timer, keep;
    ac_map_stats st;
    uint64_t t0, elapsed;
    double sum;

    CU_ASSERT_EQUAL(ac_map_get_stats(map, &st), -ENOTSUP);
    CU_ASSERT_EQUAL(ac_map_get_stats(NULL, &st), -EINVAL);
    CU_ASSERT_EQUAL(ac_map_set_debug(map, AC_DEBUG_STATS, 0), 0);
    t0 = now_ns(); /* before: the statistics' own start is not earlier */
    CU_ASSERT_EQUAL(ac_map_reset_stats(map), 0);
    timer_ran = false;
    CU_ASSERT_EQUAL(ac_timer_init(&timer, map, sleepy_timer, NULL), 0);
    CU_ASSERT_EQUAL(ac_timer_start(&timer, 100, 0), 0);
    CU_ASSERT_EQUAL(ac_timer_init(&keep, map, sleepy_timer, NULL), 0);
    CU_ASSERT_EQUAL(ac_timer_start(&keep, 60000, 0), 0); /* keeps it alive */
    while (now_ns() - t0 < 400000000u)
        t_step(map, 20);
    CU_ASSERT_TRUE(timer_ran);
    CU_ASSERT_EQUAL(ac_map_get_stats(map, &st), 0);
    elapsed = now_ns() - t0;
    CU_ASSERT(st.iterations > 2);
    CU_ASSERT(st.busy_ns >= 150000000u);
    CU_ASSERT(st.busy_ns < st.elapsed_ns);
    CU_ASSERT(st.elapsed_ns <= elapsed);
    sum = (double)(st.busy_ns + st.wait_ns);
    if (sum < 0.9 * (double)st.elapsed_ns || sum > 1.02 * (double)st.elapsed_ns)
        fprintf(stderr, "busy %llu + wait %llu vs elapsed %llu\n",
                (unsigned long long)st.busy_ns, (unsigned long long)st.wait_ns,
                (unsigned long long)st.elapsed_ns);
    CU_ASSERT(sum >= 0.9 * (double)st.elapsed_ns);
    CU_ASSERT(sum <= 1.02 * (double)st.elapsed_ns);
    CU_ASSERT(st.delay_max_ns >= 150000000u);
    CU_ASSERT(st.delay_p50_ns <= st.delay_p99_ns);
    CU_ASSERT(st.delay_p99_ns <= st.delay_max_ns);
    CU_ASSERT(st.delay_p50_ns < 150000000u);
    CU_ASSERT_EQUAL(ac_map_reset_stats(map), 0);
    CU_ASSERT_EQUAL(ac_map_get_stats(map, &st), 0);
    CU_ASSERT_EQUAL(st.iterations, 0);
    CU_ASSERT_EQUAL(st.delay_max_ns, 0);
    ac_timer_stop(&keep);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"burst_byte_exact", test_burst_byte_exact},
    {"two_busy_channels_alternate", test_two_busy_channels_alternate},
    {"budget_off_is_today", test_budget_off_is_today},
    {"slow_handler_reported", test_slow_handler_reported},
    {"unclosed_listed", test_unclosed_listed},
    {"wrong_thread_reported", test_wrong_thread_reported},
    {"metrics_add_up", test_metrics_add_up},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("budget", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
