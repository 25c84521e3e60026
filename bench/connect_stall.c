/* How long a host's own loop stops while a channel connects by name
 * through a slow lookup (run inside tests/dns/netns.py, whose DNS server
 * answers slow.test after 2 s):
 *
 *   connect_stall [--idle] [HOST...]
 *                                HOST: native glib uv event sdevent ev
 *                                (default: every one built); --idle: the
 *                                same 2 s without the connect, the host's
 *                                own timer precision to compare with
 *
 * For each host: a map attached to the host's loop, a 1 ms repeating timer
 * of the host itself (g_timeout_add, uv_timer, a libevent timer, an
 * sd-event time source, ev_timer; the map's own ac_timer for native), and
 * one channel that connects to slow.test:9 from that timer's first run
 * (answered after 2 s, then refused). The line printed is the largest gap
 * between two runs of that timer while the connect was under way (median
 * of 5 runs): what a window painting from that loop would see. libev's
 * host is in connect_stall_ev.c (its header and libevent's cannot meet in
 * one file). */
#include "connect_stall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_GLIB
#include <asyncore/glib.h>
#endif
#ifdef HAVE_UV
#include <asyncore/uv.h>
#endif
#ifdef HAVE_EVENT
#include <asyncore/event.h>
#include <event2/event.h>
#endif
#ifdef HAVE_SDEVENT
#include <asyncore/sdevent.h>
#endif

#define RUNS 5

struct stall m;
static int idle; /* --idle: the same 2 s without the connect */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the measurement, shared by every host ---- */

void tick(void)
{
    double now = now_ms();

    if (m.last > 0 && now - m.last > m.max_gap) {
        m.max_gap = now - m.last;
        m.max_at = m.started ? m.last - m.started : -1;
    }
    m.last = now;
    m.ticks++;
    if (idle && m.started && now - m.started >= 2000) {
        snprintf(m.what, sizeof(m.what), "no connect");
        m.answered = 1;
    }
}

static void on_connect(ac_dispatcher *d)
{
    snprintf(m.what, sizeof(m.what), "connected");
    m.answered = 1;
    ac_close(d);
}

static void on_error(ac_dispatcher *d, int err, const char *where)
{
    snprintf(m.what, sizeof(m.what), "%s: %s", where, ac_strerror(err));
    m.answered = 1;
    ac_close(d);
}

static const ac_dispatcher_class client_class = {
    .name = "client",
    .handle_connect = on_connect,
    .handle_error = on_error,
};

static ac_dispatcher client;

ac_map *begin(void)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);

    memset(&m, 0, sizeof(m));
    ac_dispatcher_init(&client, &client_class, map);
    return map;
}

void start_connect(ac_map *map)
{
    int r = idle ? 0 : ac_connect_host(&client, "slow.test", 9, NULL);

    (void)map;
    m.started = now_ms();
    if (r < 0) {
        snprintf(m.what, sizeof(m.what), "ac_connect_host: %s",
                 ac_strerror(-r));
        m.answered = 1;
    }
}

void finish(ac_map *map)
{
    m.took = now_ms() - m.started;
    ac_map_free(map);
}

/* ---- native: the map's own loop ---- */

static void native_tick(ac_timer *t)
{
    tick();
    if (!m.started)
        start_connect(ac_timer_data(t));
}

static void run_native(void)
{
    ac_map *map = begin();
    ac_timer t;

    ac_timer_init(&t, map, native_tick, map);
    ac_timer_start(&t, 1, 1);
    while (!m.answered)
        ac_poll_once(map, 100);
    ac_timer_stop(&t);
    finish(map);
}

#ifdef HAVE_GLIB
static GMainLoop *glib_loop;

static gboolean glib_tick(gpointer data)
{
    tick();
    if (!m.started)
        start_connect(data);
    if (!m.answered)
        return G_SOURCE_CONTINUE;
    g_main_loop_quit(glib_loop);
    return G_SOURCE_REMOVE;
}

static void run_glib(void)
{
    ac_map *map = begin();
    GSource *s = ac_glib_source_new(map, AC_GLIB_AUTO);

    g_source_attach(s, NULL);
    glib_loop = g_main_loop_new(NULL, FALSE);
    g_timeout_add(1, glib_tick, map);
    g_main_loop_run(glib_loop);
    g_main_loop_unref(glib_loop);
    g_source_destroy(s);
    g_source_unref(s);
    finish(map);
}
#endif

#ifdef HAVE_UV
static void uv_tick(uv_timer_t *t)
{
    tick();
    if (!m.started)
        start_connect(t->data);
    if (m.answered)
        uv_timer_stop(t);
}

static void run_uv(void)
{
    ac_map *map = begin();
    uv_loop_t loop;
    uv_timer_t t;
    ac_uv *a;

    uv_loop_init(&loop);
    a = ac_uv_attach(map, &loop);
    uv_timer_init(&loop, &t);
    t.data = map;
    uv_timer_start(&t, uv_tick, 1, 1);
    while (!m.answered)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    ac_uv_detach(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    finish(map);
}
#endif

#ifdef HAVE_EVENT
static void event_tick(evutil_socket_t fd, short what, void *data)
{
    (void)fd;
    (void)what;
    tick();
    if (!m.started)
        start_connect(data);
}

static void run_event(void)
{
    ac_map *map = begin();
    struct event_base *base = event_base_new();
    struct timeval ms = {0, 1000};
    struct event *t = event_new(base, -1, EV_PERSIST, event_tick, map);
    ac_event *e = ac_event_attach(map, base, AC_EVENT_AUTO);

    event_add(t, &ms);
    while (!m.answered)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    ac_event_detach(e);
    event_base_free(base);
    finish(map);
}
#endif

#ifdef HAVE_SDEVENT
static int sd_tick(sd_event_source *s, uint64_t usec, void *data)
{
    (void)usec;
    tick();
    if (!m.started)
        start_connect(data);
    sd_event_source_set_time_relative(s, 1000);
    sd_event_source_set_enabled(s, SD_EVENT_ON);
    return 0;
}

static void run_sdevent(void)
{
    ac_map *map = begin();
    sd_event *e = NULL;
    sd_event_source *t = NULL;
    ac_sdevent *a;

    sd_event_new(&e);
    a = ac_sdevent_attach(map, e, AC_SDEVENT_AUTO);
    /* accuracy 1 us: sd-event would otherwise coalesce wake-ups by 250 ms */
    sd_event_add_time_relative(e, &t, CLOCK_MONOTONIC, 1000, 1, sd_tick, map);
    while (!m.answered)
        sd_event_run(e, (uint64_t)-1);
    sd_event_source_unref(t);
    ac_sdevent_detach(a);
    sd_event_unref(e);
    finish(map);
}
#endif

static const struct {
    const char *name;
    void (*run)(void);
} hosts[] = {
    {"native", run_native},
#ifdef HAVE_GLIB
    {"glib", run_glib},
#endif
#ifdef HAVE_UV
    {"uv", run_uv},
#endif
#ifdef HAVE_EVENT
    {"event", run_event},
#endif
#ifdef HAVE_SDEVENT
    {"sdevent", run_sdevent},
#endif
#ifdef HAVE_EV
    {"ev", run_ev},
#endif
};
#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool named(char **names, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return true;
    return n == 0;
}

static void measure(size_t h)
{
    double gaps[RUNS];
    int run;

    for (run = 0; run < RUNS; run++) {
        hosts[h].run();
        gaps[run] = m.max_gap;
        if (getenv("STALL_VERBOSE"))
            fprintf(stderr, "%s run %d: %.2f ms gap from %.0f ms in\n",
                    hosts[h].name, run, m.max_gap, m.max_at);
    }
    qsort(gaps, RUNS, sizeof(gaps[0]), cmp);
    printf("%-8s largest gap of a 1 ms %s timer %s: %.2f ms (median of %d "
           "runs: %.2f..%.2f; last run %.0f ms, %lu timer runs, %s)\n",
           hosts[h].name, hosts[h].name,
           idle ? "over 2 s without a connect"
                : "during a connect by name through a 2 s lookup",
           gaps[RUNS / 2], RUNS, gaps[0], gaps[RUNS - 1], m.took, m.ticks,
           m.what);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    size_t h;
    int a;

    argv++;
    argc--;
    if (argc > 0 && !strcmp(argv[0], "--idle")) {
        idle = 1;
        argv++;
        argc--;
    }
    for (a = 0; a < argc; a++) {
        for (h = 0; h < NHOSTS; h++)
            if (!strcmp(argv[a], hosts[h].name))
                break;
        if (h == NHOSTS) {
            fprintf(stderr, "connect_stall: no host %s in this build\n",
                    argv[a]);
            return 2;
        }
    }
    for (h = 0; h < NHOSTS; h++)
        if (named(argv, argc, hosts[h].name))
            measure(h);
    return 0;
}
