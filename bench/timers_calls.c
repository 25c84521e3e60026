/* Timers and cross-thread calls, side by side with libuv and GLib, in one
 * run. Prints one "key=value ..." line per measurement (bench/run reads
 * them). Everything is in-process and loopback; every loop is bounded.
 *
 *   timers_calls [--quick]
 *
 *  start_stop   ns per timer start + stop with 100,000 timers pending:
 *               ac_timer, uv_timer_t, GLib g_timeout_add + g_source_remove
 *  memory       bytes per idle timer (struct + the map's heap slot)
 *  lateness     p50/p99 of how late a 5 ms repeating timer fires while 100
 *               socketpair echo connections keep the loop busy, per host
 *  calls        calls/s from one other thread: ac_map_call vs uv_async_send
 *               + a mutex-protected queue vs g_main_context_invoke
 *  wakeup       p50/p99 latency from a call in another thread to its run in
 *               an idle, blocked loop, same three */
#include <asyncore/asyncore.h>
#include <asyncore/glib.h>
#include <asyncore/uv.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static bool quick;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n ? v[(size_t)(p * (double)(n - 1))] : 0;
}

/* ---- start + stop ---- */

#define PENDING 100000

static void noop_timer(ac_timer *t)
{
    (void)t;
}

static void noop_uv(uv_timer_t *t)
{
    (void)t;
}

static gboolean noop_glib(gpointer p)
{
    (void)p;
    return G_SOURCE_REMOVE;
}

static void start_stop(void)
{
    int rounds = quick ? 200000 : 1000000, i;
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    ac_timer *bg = calloc(PENDING, sizeof(*bg)), t;
    uv_loop_t loop;
    uv_timer_t *ubg = calloc(PENDING, sizeof(*ubg)), ut;
    GMainContext *ctx = g_main_context_new();
    double t0, ours, uv, gl;

    for (i = 0; i < PENDING; i++) {
        ac_timer_init(&bg[i], map, noop_timer, NULL);
        ac_timer_start(&bg[i], 60000 + (uint64_t)(rand() % 60000), 0);
    }
    ac_timer_init(&t, map, noop_timer, NULL);
    t0 = now_ns();
    for (i = 0; i < rounds; i++) {
        ac_timer_start(&t, 30000 + (uint64_t)(i % 60000), 0);
        ac_timer_stop(&t);
    }
    ours = (now_ns() - t0) / rounds;

    uv_loop_init(&loop);
    for (i = 0; i < PENDING; i++) {
        uv_timer_init(&loop, &ubg[i]);
        uv_timer_start(&ubg[i], noop_uv, 60000 + (uint64_t)(rand() % 60000), 0);
    }
    uv_timer_init(&loop, &ut);
    t0 = now_ns();
    for (i = 0; i < rounds; i++) {
        uv_timer_start(&ut, noop_uv, 30000 + (uint64_t)(i % 60000), 0);
        uv_timer_stop(&ut);
    }
    uv = (now_ns() - t0) / rounds;

    for (i = 0; i < PENDING / 10; i++) { /* GLib's sources are a list */
        GSource *s = g_timeout_source_new(60000 + (guint)(rand() % 60000));
        g_source_set_callback(s, noop_glib, NULL, NULL);
        g_source_attach(s, ctx);
        g_source_unref(s);
    }
    t0 = now_ns();
    for (i = 0; i < rounds / 10; i++) {
        GSource *s = g_timeout_source_new(30000 + (guint)(i % 60000));
        g_source_set_callback(s, noop_glib, NULL, NULL);
        g_source_attach(s, ctx);
        g_source_destroy(s);
        g_source_unref(s);
    }
    gl = (now_ns() - t0) / (rounds / 10);
    printf("start_stop ours_ns=%.1f uv_ns=%.1f glib_ns=%.1f "
           "ours_vs_uv=%.2f ours_vs_glib=%.2f\n",
           ours, uv, gl, ours / uv, ours / gl);

    for (i = 0; i < PENDING; i++)
        uv_close((uv_handle_t *)&ubg[i], NULL);
    uv_close((uv_handle_t *)&ut, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(ubg);
    ac_map_free(map);
    free(bg);
    g_main_context_unref(ctx);
}

/* ---- memory per idle timer ---- */

static void memory(void)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    ac_timer *t = calloc(PENDING, sizeof(*t));
    struct mallinfo2 a, b;
    int i;

    a = mallinfo2();
    for (i = 0; i < PENDING; i++) {
        ac_timer_init(&t[i], map, noop_timer, NULL);
        ac_timer_start(&t[i], 60000, 0);
    }
    b = mallinfo2();
    printf("memory per_timer_bytes=%.1f struct_bytes=%zu heap_bytes=%.1f\n",
           (double)sizeof(ac_timer) +
               (double)(b.uordblks - a.uordblks) / PENDING,
           sizeof(ac_timer), (double)(b.uordblks - a.uordblks) / PENDING);
    ac_map_free(map);
    free(t);
}

/* ---- lateness under load ---- */

#define BUSY 100

typedef struct {
    ac_dispatcher d;
    char buf[256];
} busy_end;

static void busy_read(ac_dispatcher *d)
{
    char buf[256];
    ssize_t n = ac_recv(d, buf, sizeof(buf));

    if (n > 0)
        ac_send(d, buf, (size_t)n); /* ping-pong forever */
}

static const ac_dispatcher_class busy_class = {
    .name = "busy",
    .handle_read = busy_read,
};

static double late[4096];
static int nlate, late_max;
static double next_due;

static void late_cb(ac_timer *t)
{
    double now = now_ns();

    if (nlate < late_max)
        late[nlate++] = (now - next_due) / 1e3; /* us */
    next_due += 5e6;
    if (nlate >= late_max) {
        ac_timer_stop(t);
        ac_close_all(ac_timer_data(t), true); /* ends the host's loop */
    }
}

static void lateness(const char *host)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    busy_end *ends = calloc(2 * BUSY, sizeof(*ends));
    ac_timer t;
    int i;

    for (i = 0; i < BUSY; i++) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        ac_dispatcher_init(&ends[2 * i].d, &busy_class, map);
        ac_dispatcher_init(&ends[2 * i + 1].d, &busy_class, map);
        ac_set_interest(&ends[2 * i].d, AC_READ);
        ac_set_interest(&ends[2 * i + 1].d, AC_READ);
        ac_set_socket(&ends[2 * i].d, sv[0]);
        ac_set_socket(&ends[2 * i + 1].d, sv[1]);
        ac_send(&ends[2 * i].d, "ping", 4);
    }
    nlate = 0;
    late_max = quick ? 100 : 400;
    ac_timer_init(&t, map, late_cb, map);
    next_due = now_ns() + 5e6;
    ac_timer_start(&t, 5, 5);
    if (!strcmp(host, "glib")) {
        GMainContext *ctx = g_main_context_new();
        GSource *s = ac_glib_source_new(map, AC_GLIB_AUTO);
        g_source_attach(s, ctx);
        while (ac_map_alive(map))
            g_main_context_iteration(ctx, TRUE);
        g_source_destroy(s);
        g_source_unref(s);
        g_main_context_unref(ctx);
    } else if (!strcmp(host, "uv")) {
        uv_loop_t loop;
        ac_uv *a;
        uv_loop_init(&loop);
        a = ac_uv_attach(map, &loop);
        uv_run(&loop, UV_RUN_DEFAULT);
        ac_uv_detach(a, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    } else {
        ac_loop(map, NULL);
    }
    printf("lateness host=%s p50_us=%.0f p99_us=%.0f samples=%d busy=%d\n",
           host, pct(late, (size_t)nlate, 0.5), pct(late, (size_t)nlate, 0.99),
           nlate, BUSY);
    ac_map_free(map);
    free(ends);
}

/* ---- calls from another thread ---- */

static long done_calls, want_calls;

typedef struct {
    ac_map *map;
    long n;
} producer;

static void count_call(void *data)
{
    (void)data;
    if (++done_calls == want_calls)
        ac_close_all(NULL, true);
}

static void keep_alive_end(ac_map *map, int sv[2], ac_dispatcher *d)
{
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    ac_dispatcher_init(d, &busy_class, map);
    ac_set_interest(d, AC_READ);
    ac_set_socket(d, sv[0]);
}

static void *produce_ours(void *arg)
{
    producer *p = arg;
    long i;

    for (i = 0; i < p->n; i++)
        while (ac_map_call(p->map, count_call, NULL) == -ENOMEM)
            ;
    return NULL;
}

/* libuv's way: a mutex-protected queue and uv_async_send to wake */
typedef struct node {
    struct node *next;
} node;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static node *q_head, *q_tail;
static uv_async_t async;

static void on_async(uv_async_t *h)
{
    node *n;

    pthread_mutex_lock(&q_lock);
    n = q_head;
    q_head = q_tail = NULL;
    pthread_mutex_unlock(&q_lock);
    while (n) {
        node *next = n->next;
        free(n);
        if (++done_calls == want_calls)
            uv_close((uv_handle_t *)h, NULL);
        n = next;
    }
}

static void *produce_uv(void *arg)
{
    producer *p = arg;
    long i;

    for (i = 0; i < p->n; i++) {
        node *n = malloc(sizeof(*n));
        n->next = NULL;
        pthread_mutex_lock(&q_lock);
        if (q_tail)
            q_tail->next = n;
        else
            q_head = n;
        q_tail = n;
        pthread_mutex_unlock(&q_lock);
        uv_async_send(&async);
    }
    return NULL;
}

static GMainContext *g_ctx;

static gboolean glib_call(gpointer data)
{
    (void)data;
    done_calls++;
    return G_SOURCE_REMOVE;
}

static void *produce_glib(void *arg)
{
    producer *p = arg;
    long i;

    for (i = 0; i < p->n; i++)
        g_main_context_invoke(g_ctx, glib_call, NULL);
    return NULL;
}

static void calls(void)
{
    long n = quick ? 200000 : 1000000;
    producer p = {.n = n};
    pthread_t th;
    double t0, ours, uv, gl;
    uv_loop_t loop;
    int sv[2];
    ac_dispatcher keep;

    want_calls = n;
    done_calls = 0;
    p.map = ac_map_default();
    keep_alive_end(p.map, sv, &keep);
    t0 = now_ns();
    pthread_create(&th, NULL, produce_ours, &p);
    ac_loop(NULL, NULL);
    pthread_join(th, NULL);
    ours = n / ((now_ns() - t0) / 1e9);
    close(sv[1]);

    done_calls = 0;
    uv_loop_init(&loop);
    uv_async_init(&loop, &async, on_async);
    t0 = now_ns();
    pthread_create(&th, NULL, produce_uv, &p);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv = n / ((now_ns() - t0) / 1e9);
    uv_loop_close(&loop);

    done_calls = 0;
    g_ctx = g_main_context_new();
    t0 = now_ns();
    pthread_create(&th, NULL, produce_glib, &p);
    while (done_calls < n)
        g_main_context_iteration(g_ctx, TRUE);
    pthread_join(th, NULL);
    gl = n / ((now_ns() - t0) / 1e9);
    g_main_context_unref(g_ctx);

    printf("calls ours_per_s=%.0f uv_async_mutex_per_s=%.0f "
           "glib_invoke_per_s=%.0f ours_vs_uv=%.2f ours_vs_glib=%.2f\n",
           ours, uv, gl, ours / uv, ours / gl);
}

/* ---- wake-up latency: one call at a time into an idle, blocked loop ---- */

#define PINGS 300

static double sent_at, lat[PINGS];
static int pings;
static volatile int ping_done;

static void took(void)
{
    lat[pings++] = (now_ns() - sent_at) / 1e3;
    __atomic_store_n(&ping_done, 1, __ATOMIC_RELEASE);
}

static void ours_ping(void *data)
{
    (void)data;
    took();
    if (pings == PINGS)
        ac_close_all(NULL, true);
}

static void uv_ping(uv_async_t *h)
{
    took();
    if (pings == PINGS)
        uv_close((uv_handle_t *)h, NULL);
}

static gboolean glib_ping(gpointer data)
{
    (void)data;
    took();
    return G_SOURCE_REMOVE;
}

static void *pinger(void *arg)
{
    int kind = *(int *)arg, i;

    for (i = 0; i < PINGS; i++) {
        usleep(2000); /* let the loop go back to sleep */
        __atomic_store_n(&ping_done, 0, __ATOMIC_RELEASE);
        sent_at = now_ns();
        if (kind == 0)
            ac_map_call(ac_map_default(), ours_ping, NULL);
        else if (kind == 1)
            uv_async_send(&async);
        else
            g_main_context_invoke(g_ctx, glib_ping, NULL);
        while (!__atomic_load_n(&ping_done, __ATOMIC_ACQUIRE))
            usleep(50);
    }
    return NULL;
}

static void wakeup(void)
{
    double p50[3], p99[3];
    int kind;

    for (kind = 0; kind < 3; kind++) {
        pthread_t th;
        int sv[2];
        ac_dispatcher keep;
        uv_loop_t loop;

        pings = 0;
        if (kind == 0) {
            keep_alive_end(ac_map_default(), sv, &keep);
            pthread_create(&th, NULL, pinger, &kind);
            ac_loop(NULL, NULL);
            close(sv[1]);
        } else if (kind == 1) {
            uv_loop_init(&loop);
            uv_async_init(&loop, &async, uv_ping);
            pthread_create(&th, NULL, pinger, &kind);
            uv_run(&loop, UV_RUN_DEFAULT);
            uv_loop_close(&loop);
        } else {
            g_ctx = g_main_context_new();
            pthread_create(&th, NULL, pinger, &kind);
            while (pings < PINGS)
                g_main_context_iteration(g_ctx, TRUE);
        }
        pthread_join(th, NULL);
        if (kind == 2)
            g_main_context_unref(g_ctx);
        p50[kind] = pct(lat, PINGS, 0.5);
        p99[kind] = pct(lat, PINGS, 0.99);
    }
    printf("wakeup ours_p50_us=%.1f ours_p99_us=%.1f uv_p50_us=%.1f "
           "uv_p99_us=%.1f glib_p50_us=%.1f glib_p99_us=%.1f\n",
           p50[0], p99[0], p50[1], p99[1], p50[2], p99[2]);
}

int main(int argc, char **argv)
{
    quick = argc > 1 && !strcmp(argv[1], "--quick");
    srand(7);
    start_stop();
    memory();
    lateness("native");
    lateness("glib");
    lateness("uv");
    calls();
    wakeup();
    return 0;
}
