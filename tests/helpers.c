#include "helpers.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

t_mode t_current;

static const char *const mode_names[T_NMODES] = {
    "select", "poll", "epoll", "host", "uv", "glib", "glib-backend-fd",
    "event", "event-backend-fd", "qt", "qt-backend-fd"};

#ifdef AC_TEST_QT
#include "qt_host.h"

static void qt_done(void)
{
    CU_ASSERT_PTR_NULL(ac_qt_map(tq_current())); /* the map was freed (C-74) */
    CU_ASSERT_EQUAL(tq_done(), 0);
}
#endif

#ifdef AC_TEST_EVENT
#include <asyncore/event.h>
static struct event_base *ev_base;
static ac_event *ev_att;

static void ev_done(void)
{
    CU_ASSERT_PTR_NULL(ac_event_map(ev_att)); /* the map was freed (C-74) */
    CU_ASSERT_EQUAL(ac_event_detach(ev_att), 0);
    event_base_free(ev_base);
    ev_att = NULL;
    ev_base = NULL;
}

static void ev_give_up(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
    event_base_loopbreak(ev_base);
}

/* One libevent iteration (or, with `until_idle`, event_base_dispatch until
 * the base has nothing pending), bounded by a timer of `ms` (-1: none). */
static int ev_run(int ms, bool until_idle)
{
    unsigned long before = ac_event_events(ev_att);
    bool gave_up = false;
    struct event *guard = NULL;

    if (ms > 0) { /* (EVLOOP_NONBLOCK does not wait: no guard, whose
                   * loopbreak would end the iteration before our own
                   * zero-delay deadline ran) */
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        guard = evtimer_new(ev_base, ev_give_up, &gave_up);
        evtimer_add(guard, &tv);
    }
    if (until_idle) { /* no guard: it ends when the adapter's events do */
        event_base_loop(ev_base, 0);
    } else {
        /* one step of the other hosts is refresh, wait, dispatch; libevent
         * has no step before its wait, so the harness makes the refresh
         * (the adapter's own scheduling of refreshes is what t_run_host
         * tests, with nothing but event_base_loop) */
        ac_event_refresh(ev_att);
        /* (EVLOOP_NONBLOCK alone goes on while callbacks are active: a
         * timer restarting itself with 0 would never let it return) */
        event_base_loop(ev_base, ms == 0 ? EVLOOP_ONCE | EVLOOP_NONBLOCK
                                         : EVLOOP_ONCE);
    }
    if (guard)
        event_free(guard);
    return (int)(ac_event_events(ev_att) - before);
}
#endif

#ifdef AC_TEST_GLIB
#include <asyncore/glib.h>
static GMainContext *g_ctx;
static GSource *g_src;

static void glib_done(void)
{
    /* the map was freed while the source was attached (C-74) */
    CU_ASSERT_PTR_NULL(ac_glib_source_map(g_src));
    g_source_destroy(g_src);
    g_source_unref(g_src);
    while (g_main_context_iteration(g_ctx, FALSE))
        ;
    g_main_context_unref(g_ctx);
    g_src = NULL;
    g_ctx = NULL;
}

static gboolean glib_wake(gpointer data)
{
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

static int glib_step(int timeout_ms)
{
    unsigned long before = ac_glib_source_dispatches(g_src);

    if (timeout_ms == 0) {
        g_main_context_iteration(g_ctx, FALSE);
    } else {
        GSource *t = NULL;
        bool woke = false;
        if (timeout_ms > 0) {
            t = g_timeout_source_new((guint)timeout_ms);
            g_source_set_callback(t, glib_wake, &woke, NULL);
            g_source_attach(t, g_ctx);
        }
        g_main_context_iteration(g_ctx, TRUE);
        if (t) {
            g_source_destroy(t);
            g_source_unref(t);
        }
    }
    return (int)(ac_glib_source_dispatches(g_src) - before);
}
#endif

#ifdef AC_TEST_UV
#include <asyncore/uv.h>
static uv_loop_t uv_loop;
static ac_uv *uv_att;
static uv_timer_t uv_step_timer;
static void uv_step_wake(uv_timer_t *t)
{
    (void)t;
}
#endif

/* ---- log capture ---- */

static char log_buf[16384];
static size_t log_len;
static int log_n;

static void capture(ac_map *map, ac_log_level level, const char *msg,
                    void *data)
{
    int n;
    (void)map;
    (void)level;
    (void)data;
    log_n++;
    n = snprintf(log_buf + log_len, sizeof(log_buf) - log_len, "%s\n", msg);
    if (n > 0 && log_len + (size_t)n < sizeof(log_buf))
        log_len += (size_t)n;
}

bool t_log_contains(const char *needle)
{
    return strstr(log_buf, needle) != NULL;
}

const char *t_log_text(void)
{
    return log_buf;
}

int t_log_count(void)
{
    return log_n;
}

void t_log_clear(void)
{
    log_buf[0] = '\0';
    log_len = 0;
    log_n = 0;
}

/* ---- the host loop: plain poll(), hooks only ---- */

#define HOST_MAX 4096

static struct {
    struct {
        ac_dispatcher *d;
        int fd;
        unsigned events;
    } w[HOST_MAX];
    int n;
    int watch_calls, unwatch_calls, closed_unwatches;
} host;

static int host_find(ac_dispatcher *d)
{
    int i;
    for (i = 0; i < host.n; i++)
        if (host.w[i].d == d)
            return i;
    return -1;
}

static int host_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    int i = host_find(d);
    (void)data;
    host.watch_calls++;
    if (i < 0) {
        if (host.n == HOST_MAX)
            return -ENOSPC;
        i = host.n++;
        host.w[i].d = d;
    }
    host.w[i].fd = fd;
    host.w[i].events = events;
    return 0;
}

static void host_unwatch(void *data, ac_dispatcher *d, int fd)
{
    int i = host_find(d);
    (void)data;
    host.unwatch_calls++;
    if (fcntl(fd, F_GETFD) < 0)
        host.closed_unwatches++;
    if (i >= 0)
        host.w[i] = host.w[--host.n];
}

static int host_step(ac_map *map, int timeout_ms)
{
    struct pollfd pfd[HOST_MAX];
    int n = 0, i, r, done = 0;

    if (!ac_map_alive(map))
        return 0;
    r = ac_map_refresh(map);
    CU_ASSERT_FATAL(r >= 0);
    if (!ac_map_alive(map))
        return 0; /* the refresh closed the last channel: do not wait */
    /* the hook contract: the sleep is capped by the map's own deadline
     * (0 while a channel has pending readiness) */
    r = ac_map_timeout(map);
    if (r >= 0 && (timeout_ms < 0 || r < timeout_ms))
        timeout_ms = r;
    for (i = 0; i < host.n; i++) {
        if (!host.w[i].events)
            continue;
        pfd[n].fd = host.w[i].fd;
        pfd[n].events = (short)host.w[i].events;
        n++;
    }
    r = poll(pfd, (nfds_t)n, timeout_ms);
    for (i = 0; i < n && r > 0; i++) {
        if (pfd[i].revents) {
            int k = ac_map_dispatch(map, pfd[i].fd, (unsigned)pfd[i].revents);
            if (k > 0)
                done += k;
        }
    }
    /* after the wait, whatever ended it: what came due runs in this step */
    r = ac_map_run_due(map);
    CU_ASSERT(r >= 0);
    return done + (r > 0 ? r : 0);
}

int t_host_watch_calls(void)
{
    return host.watch_calls;
}

int t_host_unwatch_calls(void)
{
    return host.unwatch_calls;
}

int t_host_closed_fd_unwatches(void)
{
    return host.closed_unwatches;
}

unsigned t_host_events(int fd)
{
    int i;
    for (i = 0; i < host.n; i++)
        if (host.w[i].fd == fd)
            return host.w[i].events;
    return 0;
}

/* ---- maps ---- */

/* The descriptors open when the test's map was made: a leak is one open
 * at the end that was not open then. (A count would also flag a resolver
 * thread's DNS socket, of a lookup an earlier test cancelled, that was
 * open at the start and closed since.) */
static int *fds_start;
static size_t nfds_start, fds_start_cap;

static bool fd_in_start(int fd)
{
    size_t i;

    for (i = 0; i < nfds_start; i++)
        if (fds_start[i] == fd)
            return true;
    return false;
}

/* Calls fn(fd) for each open descriptor but the listing's own. */
static void each_fd(void (*fn)(int fd, void *arg), void *arg)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;

    if (!dir)
        return;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(dir))
            fn(atoi(e->d_name), arg);
    closedir(dir);
}

static void note_start(int fd, void *arg)
{
    (void)arg;
    if (nfds_start == fds_start_cap) {
        size_t cap = fds_start_cap ? fds_start_cap * 2 : 64;
        int *p = realloc(fds_start, cap * sizeof(*p));

        if (!p)
            return; /* unlisted: counted as new at the end, a failure */
        fds_start = p;
        fds_start_cap = cap;
    }
    fds_start[nfds_start++] = fd;
}

static void count_new(int fd, void *arg)
{
    if (!fd_in_start(fd))
        ++*(int *)arg;
}

/* Says which descriptor is new, for the report of a leak. */
static void tell_new(int fd, void *arg)
{
    char path[64], target[256];
    ssize_t n;

    (void)arg;
    if (fd_in_start(fd))
        return;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    fprintf(stderr, "descriptor %d open since the test began: %s\n", fd,
            target);
}

static int new_fds(void)
{
    int n = 0;

    each_fd(count_new, &n);
    return n;
}

int t_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!dir)
        return -1;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1; /* the directory stream itself */
}

bool t_fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

#ifdef AC_TEST_UV
static void uv_done(void);
#endif

/* Finish the host the map was attached to (its map already freed). */
static void hosts_done(void)
{
#ifdef AC_TEST_UV
    if (uv_att)
        uv_done();
#endif
#ifdef AC_TEST_GLIB
    if (g_src)
        glib_done();
#endif
#ifdef AC_TEST_EVENT
    if (ev_att)
        ev_done();
#endif
#ifdef AC_TEST_QT
    if (tq_current())
        qt_done();
#endif
}

ac_map *t_map_new(void)
{
    static const ac_backend backends[] = {
        AC_BACKEND_SELECT, AC_BACKEND_POLL,  AC_BACKEND_EPOLL,
        AC_BACKEND_EPOLL,  AC_BACKEND_EPOLL, AC_BACKEND_EPOLL,
        AC_BACKEND_EPOLL,  AC_BACKEND_EPOLL, AC_BACKEND_EPOLL,
        AC_BACKEND_EPOLL,  AC_BACKEND_EPOLL};
    ac_backend backend = backends[t_current];
    ac_map *map;

    hosts_done(); /* a test freed its map itself: finish that host first */
    if (backend == AC_BACKEND_EPOLL)
        backend = T_FD_BACKEND; /* without epoll the hosts wait per fd */
    nfds_start = 0;
    each_fd(note_start, NULL);
    memset(&host, 0, sizeof(host));
    t_log_clear();
    map = ac_map_new(backend);
    CU_ASSERT_PTR_NOT_NULL_FATAL(map);
    ac_map_set_log(map, capture, NULL);
    ac_map_set_log_level(map, AC_LOG_INFO);
    if (t_current == T_HOST) {
        ac_hooks hooks = {.watch = host_watch, .unwatch = host_unwatch};
        CU_ASSERT_EQUAL_FATAL(ac_map_set_hooks(map, &hooks), 0);
    }
#ifdef AC_TEST_UV
    if (t_current == T_UV) {
        CU_ASSERT_EQUAL_FATAL(uv_loop_init(&uv_loop), 0);
        CU_ASSERT_EQUAL_FATAL(uv_timer_init(&uv_loop, &uv_step_timer), 0);
        uv_unref((uv_handle_t *)&uv_step_timer);
        uv_att = ac_uv_attach(map, &uv_loop);
        CU_ASSERT_PTR_NOT_NULL_FATAL(uv_att);
    }
#endif
#ifdef AC_TEST_GLIB
    if (t_current == T_GLIB || t_current == T_GLIBFD) {
        g_ctx = g_main_context_new();
        g_src = ac_glib_source_new(map, t_current == T_GLIB
                                            ? AC_GLIB_PER_FD
                                            : AC_GLIB_BACKEND_FD);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g_src);
        g_source_attach(g_src, g_ctx);
    }
#endif
#ifdef AC_TEST_EVENT
    if (t_current == T_EVENT || t_current == T_EVENTFD) {
        ev_base = event_base_new();
        CU_ASSERT_PTR_NOT_NULL_FATAL(ev_base);
        ev_att = ac_event_attach(map, ev_base, t_current == T_EVENT
                                                   ? AC_EVENT_PER_FD
                                                   : AC_EVENT_BACKEND_FD);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ev_att);
    }
#endif
#ifdef AC_TEST_QT
    if (t_qt())
        CU_ASSERT_PTR_NOT_NULL_FATAL(tq_attach(map, t_current == T_QTFD));
#endif
    return map;
}

#ifdef AC_TEST_UV
static bool uv_detached;
static void on_uv_detached(void *data)
{
    *(bool *)data = true;
}

/* The map is freed while still attached (C-74), then the adapter is
 * detached, and the loop must close with nothing left (libuv's own leak
 * check). */
static void uv_done(void)
{
    uv_detached = false;
    CU_ASSERT_EQUAL(ac_uv_detach(uv_att, on_uv_detached, &uv_detached), 0);
    uv_close((uv_handle_t *)&uv_step_timer, NULL);
    uv_run(&uv_loop, UV_RUN_DEFAULT);
    CU_ASSERT_TRUE(uv_detached);
    CU_ASSERT_EQUAL(uv_loop_close(&uv_loop), 0);
    uv_att = NULL;
}
#endif

void t_map_done(ac_map *map)
{
    int i;

    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
    hosts_done();
    /* a lookup cancelled while a resolver thread was asking the DNS
     * server still holds that query's socket until its answer comes (2 s
     * for the slowest test name): give it time, a leaked descriptor stays
     * leaked */
    for (i = 0; i < 300 && new_fds() > 0; i++)
        usleep(10000);
    if (new_fds() > 0)
        each_fd(tell_new, NULL);
    CU_ASSERT_EQUAL(new_fds(), 0);
    if (t_current == T_HOST) {
        CU_ASSERT_EQUAL(host.n, 0);
        CU_ASSERT_EQUAL(host.closed_unwatches, 0);
    }
}

#ifdef AC_TEST_UV
static int uv_step(int timeout_ms)
{
    unsigned long before = ac_uv_events(uv_att);

    if (timeout_ms == 0) {
        uv_run(&uv_loop, UV_RUN_NOWAIT);
    } else {
        if (timeout_ms > 0) {
            /* libuv caches "now": time spent outside uv_run would make the
             * timer due at once and leave the wait below unbounded */
            uv_update_time(&uv_loop);
            uv_ref((uv_handle_t *)&uv_step_timer);
            uv_timer_start(&uv_step_timer, uv_step_wake, (uint64_t)timeout_ms,
                           0);
        }
        uv_run(&uv_loop, UV_RUN_ONCE);
        uv_timer_stop(&uv_step_timer);
        uv_unref((uv_handle_t *)&uv_step_timer);
    }
    return (int)(ac_uv_events(uv_att) - before);
}
#endif

int t_step(ac_map *map, int timeout_ms)
{
    if (t_current == T_HOST)
        return host_step(map, timeout_ms);
#ifdef AC_TEST_UV
    if (t_current == T_UV)
        return ac_map_alive(map) ? uv_step(timeout_ms) : 0;
#endif
#ifdef AC_TEST_GLIB
    if (t_current == T_GLIB || t_current == T_GLIBFD)
        return ac_map_alive(map) ? glib_step(timeout_ms) : 0;
#endif
#ifdef AC_TEST_EVENT
    if (t_current == T_EVENT || t_current == T_EVENTFD)
        return ac_map_alive(map) ? ev_run(timeout_ms, false) : 0;
#endif
#ifdef AC_TEST_QT
    if (t_qt())
        return ac_map_alive(map) ? tq_step(timeout_ms) : 0;
#endif
    return ac_poll_once(map, timeout_ms);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool t_run_until(ac_map *map, const volatile bool *flag, int ms)
{
    long long end = now_ms() + ms;

    while (!*flag && now_ms() < end) {
        if (t_step(map, 10) < 0)
            break;
    }
    return *flag;
}

#ifdef AC_TEST_UV
static void uv_give_up(uv_timer_t *t)
{
    *(bool *)t->data = true;
    uv_stop(t->loop);
}
#endif

#ifdef AC_TEST_GLIB
static gboolean glib_give_up(gpointer data)
{
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}
#endif

long long t_run_host(ac_map *map, int ms)
{
    long long start = now_ms();
    bool gave_up = false;

    (void)gave_up;
    switch (t_current) {
    case T_HOST:
        while (ac_map_alive(map) && now_ms() < start + ms)
            if (host_step(map, ms) < 0)
                break;
        break;
#ifdef AC_TEST_UV
    case T_UV: {
        uv_timer_t guard; /* unreferenced: it does not keep uv_run going */
        uv_timer_init(&uv_loop, &guard);
        guard.data = &gave_up;
        uv_update_time(&uv_loop);
        uv_timer_start(&guard, uv_give_up, (uint64_t)ms, 0);
        uv_unref((uv_handle_t *)&guard);
        uv_run(&uv_loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&guard, NULL);
        uv_run(&uv_loop, UV_RUN_NOWAIT);
        break;
    }
#endif
#ifdef AC_TEST_GLIB
    case T_GLIB:
    case T_GLIBFD: {
        GSource *t = g_timeout_source_new((guint)ms);
        g_source_set_callback(t, glib_give_up, &gave_up, NULL);
        g_source_attach(t, g_ctx);
        while (ac_map_alive(map) && !gave_up)
            g_main_context_iteration(g_ctx, TRUE);
        g_source_destroy(t);
        g_source_unref(t);
        break;
    }
#endif
#ifdef AC_TEST_EVENT
    case T_EVENT:
    case T_EVENTFD:
        /* event_base_dispatch: libevent has no unreferenced events, so a
         * guard would keep it running; meson's timeout bounds a hang */
        ev_run(-1, true);
        break;
#endif
#ifdef AC_TEST_QT
    case T_QT:
    case T_QTFD:
        tq_run(map, ms);
        break;
#endif
    default: {
        ac_loop_opts o = {.timeout_ms = ms, .count = 0,
                          .backend = AC_BACKEND_DEFAULT};
        ac_loop(map, &o);
        break;
    }
    }
    return now_ms() - start;
}

void t_changed_outside(ac_map *map)
{
    (void)map;
#ifdef AC_TEST_EVENT
    if (ev_att)
        ac_event_refresh(ev_att);
#endif
}

bool t_run_until_empty(ac_map *map, int ms)
{
    long long end = now_ms() + ms;

    while (ac_map_count(map) > 0 && now_ms() < end)
        if (t_step(map, 10) < 0)
            break;
    return ac_map_count(map) == 0;
}

/* ---- sockets ---- */

int t_listener(int family, struct sockaddr_storage *addr, socklen_t *len)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    CU_ASSERT_FATAL(fd >= 0);
    memset(addr, 0, sizeof(*addr));
    if (family == AF_INET) {
        struct sockaddr_in *in = (void *)addr;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*in);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (void *)addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        *len = sizeof(*in6);
    } else {
        struct sockaddr_un *un = (void *)addr;
        static int seq;
        un->sun_family = AF_UNIX;
        /* Abstract namespace: nothing to clean up on disk. */
        snprintf(un->sun_path + 1, sizeof(un->sun_path) - 1,
                 "ac-test-%d-%d", (int)getpid(), seq++);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                           strlen(un->sun_path + 1));
    }
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)addr, *len) == 0);
    CU_ASSERT_FATAL(listen(fd, 128) == 0);
    if (family != AF_UNIX) {
        *len = sizeof(*addr);
        getsockname(fd, (struct sockaddr *)addr, len);
    }
    return fd;
}

void t_socketpair(int sv[2])
{
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
}

/* ---- registration ---- */

#define MODE_INIT(m)                                                         \
    static int init_##m(void)                                                \
    {                                                                        \
        t_current = m;                                                       \
        return 0;                                                            \
    }
MODE_INIT(T_SELECT)
MODE_INIT(T_POLL)
MODE_INIT(T_EPOLL)
MODE_INIT(T_HOST)

/* libuv opens process-wide descriptors on first use; open them before the
 * suite so the per-test leak check sees only what a test leaves behind. */
static int init_T_UV(void)
{
#ifdef AC_TEST_UV
    uv_loop_t warm;
    uv_timer_t t;
    if (uv_loop_init(&warm) == 0) {
        uv_timer_init(&warm, &t);
        uv_close((uv_handle_t *)&t, NULL);
        uv_run(&warm, UV_RUN_DEFAULT);
        uv_loop_close(&warm);
    }
#endif
    t_current = T_UV;
    return 0;
}

/* GLib, too, opens process-wide descriptors on first use. */
static void glib_warm(void)
{
#ifdef AC_TEST_GLIB
    GMainContext *c = g_main_context_new();
    GSource *t = g_timeout_source_new(0);
    bool fired = false;
    g_source_set_callback(t, glib_wake, &fired, NULL);
    g_source_attach(t, c);
    g_main_context_iteration(c, FALSE);
    g_source_destroy(t);
    g_source_unref(t);
    g_main_context_unref(c);
#endif
}

static int init_T_GLIB(void)
{
    glib_warm();
    t_current = T_GLIB;
    return 0;
}

static int init_T_GLIBFD(void)
{
    glib_warm();
    t_current = T_GLIBFD;
    return 0;
}

MODE_INIT(T_EVENT)
MODE_INIT(T_EVENTFD)

/* The QCoreApplication opens descriptors of its own: it is made before the
 * suite and kept for the process, so the leak check sees only the test's. */
#ifdef AC_TEST_QT
#define QT_APP() tq_app()
#else
#define QT_APP() (void)0
#endif
#define QT_INIT(m)                                                           \
    static int init_##m(void)                                                \
    {                                                                        \
        QT_APP();                                                            \
        t_current = m;                                                       \
        return 0;                                                            \
    }
QT_INIT(T_QT)
QT_INIT(T_QTFD)

/* T_MODES=epoll,uv (names as in the suites) runs only those modes: for
 * slow wrappers such as valgrind. */
static bool mode_wanted(int m)
{
    const char *want = getenv("T_MODES"), *p;
    size_t n = strlen(mode_names[m]);

    if (!want || !*want)
        return true;
    for (p = want; (p = strstr(p, mode_names[m])); p += n)
        if ((p == want || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

void t_register_modes(const char *name, CU_TestInfo *tests, unsigned modes)
{
    static int (*const inits[T_NMODES])(void) = {
        init_T_SELECT, init_T_POLL, init_T_EPOLL,  init_T_HOST,
        init_T_UV,     init_T_GLIB, init_T_GLIBFD, init_T_EVENT,
        init_T_EVENTFD, init_T_QT,  init_T_QTFD};
    int m;

    for (m = 0; m < T_NMODES; m++) {
        char *suite_name;
        CU_pSuite s;
        CU_TestInfo *t;

        if (!(modes & (1u << m)) || !mode_wanted(m))
            continue;
        /* no epoll (the portable build): no host waits on a map's own
         * descriptor, and the epoll mode's maps are poll maps, run where
         * the poll mode does not run already (T_ONCE) */
        if (!AC_HAVE_EPOLL && (m == T_GLIBFD || m == T_EVENTFD ||
                               m == T_QTFD ||
                               (m == T_EPOLL && (modes & (1u << T_POLL)))))
            continue;
#ifndef AC_TEST_UV
        if (m == T_UV)
            continue; /* built without the libuv adapter */
#endif
#ifndef AC_TEST_GLIB
        if (m == T_GLIB || m == T_GLIBFD)
            continue; /* built without the GLib adapter */
#endif
#ifndef AC_TEST_EVENT
        if (m == T_EVENT || m == T_EVENTFD)
            continue; /* built without the libevent adapter */
#endif
#ifndef AC_TEST_QT
        if (m == T_QT || m == T_QTFD)
            continue; /* built without the Qt adapter */
#endif
        suite_name = malloc(strlen(name) + strlen(mode_names[m]) + 2);

        sprintf(suite_name, "%s/%s", name, mode_names[m]);
        s = CU_add_suite(suite_name, inits[m], NULL);
        for (t = tests; t->pName; t++)
            CU_add_test(s, t->pName, t->pTestFunc);
        free(suite_name); /* CUnit keeps its own copy */
    }
}

int t_main(int argc, char **argv, void (*reg)(void))
{
    unsigned failures;

    (void)argc;
    (void)argv;
    /* The library must never raise SIGPIPE: keep the default action so a
     * stray one kills the test. */
    signal(SIGPIPE, SIG_DFL);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    reg();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
               CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}

/* ---- the recording channel ---- */

int t_destroyed;

static bool tc_readable(ac_dispatcher *d)
{
    return TCHAN(d)->want_read;
}

static bool tc_writable(ac_dispatcher *d)
{
    return TCHAN(d)->want_write;
}

static void tc_read(ac_dispatcher *d)
{
    tchan *t = TCHAN(d);
    ssize_t n;

    t->n_read++;
    if (t->on_read) {
        t->on_read(t);
        return;
    }
    if (t->in_len == sizeof(t->in))
        t->in_len = 0;
    n = ac_recv(d, t->in + t->in_len, sizeof(t->in) - t->in_len);
    if (n > 0)
        t->in_len += (size_t)n;
}

static void tc_write(ac_dispatcher *d)
{
    tchan *t = TCHAN(d);
    t->n_write++;
    if (t->on_write)
        t->on_write(t);
}

static void tc_expt(ac_dispatcher *d)
{
    tchan *t = TCHAN(d);
    t->n_expt++;
    if (t->on_expt)
        t->on_expt(t);
}

static void tc_connect(ac_dispatcher *d)
{
    tchan *t = TCHAN(d);
    t->n_connect++;
    t->want_write = false; /* connected: stop asking to write */
    if (t->on_connect)
        t->on_connect(t);
}

static void tc_accepted(ac_dispatcher *d, int fd, const struct sockaddr *a,
                        socklen_t l)
{
    tchan *t = TCHAN(d);
    (void)a;
    (void)l;
    t->n_accepted++;
    if (t->on_accepted) {
        t->on_accepted(t, fd);
        return;
    }
    t->peer = tchan_new(ac_dispatcher_get_map(d));
    CU_ASSERT_EQUAL(ac_set_socket(&t->peer->d, fd), 0);
}

static void tc_close(ac_dispatcher *d)
{
    tchan *t = TCHAN(d);
    t->n_close++;
    if (t->on_close)
        t->on_close(t);
    else
        ac_close(d);
}

static void tc_error(ac_dispatcher *d, int err, const char *where)
{
    tchan *t = TCHAN(d);
    t->n_error++;
    t->err = err;
    snprintf(t->where, sizeof(t->where), "%s", where);
    ac_close(d);
}

static void tc_destroy(ac_dispatcher *d)
{
    t_destroyed++;
    if (!TCHAN(d)->keep_memory)
        free(TCHAN(d));
}

const ac_dispatcher_class tchan_class = {
    .name = "tchan",
    .readable = tc_readable,
    .writable = tc_writable,
    .handle_read = tc_read,
    .handle_write = tc_write,
    .handle_expt = tc_expt,
    .handle_connect = tc_connect,
    .handle_accepted = tc_accepted,
    .handle_close = tc_close,
    .handle_error = tc_error,
    .destroy = tc_destroy,
};

void tchan_keep_open(tchan *t)
{
    (void)t;
}

tchan *tchan_new(ac_map *map)
{
    tchan *t = calloc(1, sizeof(*t));

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(ac_dispatcher_init(&t->d, &tchan_class, map), 0);
    t->want_read = true;
    t->want_write = false;
    return t;
}

static void fill_loopback(int family, struct sockaddr_storage *addr,
                          socklen_t *len)
{
    int fd = t_listener(family, addr, len);
    close(fd); /* only wanted the address form; port 0 is rebound below */
    if (family == AF_INET)
        ((struct sockaddr_in *)(void *)addr)->sin_port = 0;
    else if (family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)addr)->sin6_port = 0;
}

tchan *tchan_server(ac_map *map, int family, struct sockaddr_storage *addr,
                    socklen_t *len)
{
    tchan *s = tchan_new(map);

    fill_loopback(family, addr, len);
    CU_ASSERT_EQUAL_FATAL(ac_create_socket(&s->d, family, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_set_reuse_addr(&s->d), 0);
    CU_ASSERT_EQUAL_FATAL(ac_bind(&s->d, (struct sockaddr *)addr, *len), 0);
    CU_ASSERT_EQUAL_FATAL(ac_listen(&s->d, 128), 0);
    if (family != AF_UNIX)
        CU_ASSERT_EQUAL(ac_getsockname(&s->d, addr, len), 0);
    return s;
}

tchan *tchan_client(ac_map *map, const struct sockaddr_storage *addr,
                    socklen_t len)
{
    tchan *c = tchan_new(map);

    CU_ASSERT_EQUAL_FATAL(ac_create_socket(&c->d, addr->ss_family, SOCK_STREAM),
                          0);
    c->want_write = true; /* base behaviour: write interest until connected */
    CU_ASSERT_EQUAL(ac_connect(&c->d, (const struct sockaddr *)addr, len), 0);
    return c;
}
