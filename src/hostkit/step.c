/* The step contract (C-86..C-89, C-82): one step of the host runs
 * whatever ended its wait - a timer's deadline, a descriptor, a call from
 * another thread, pending readiness - so `while (!done) step();` returns
 * on its first chance; it sleeps again once nothing is due; a nested loop
 * leaves the map alone. Every case stops
 * its timers and closes its channels before it checks anything (a failed
 * check returns at once, and the map outlives the case's stack). */
#include "kit.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    ac_timer t;
    volatile bool done;
    int fired;
    double at;
} probe;

static void probe_fired(ac_timer *t)
{
    probe *p = AC_CONTAINER_OF(t, probe, t);

    p->fired++;
    p->at = kit_now_ms();
    p->done = true;
}

static void set_flag(void *flag)
{
    *(volatile bool *)flag = true;
}

/* C-87: a timer due during a long wait fires in that step, right away. */
static void timer_ends_wait(kit *k)
{
    probe p = {0};
    double t0, took;

    kit_settle(k);
    ac_timer_init(&p.t, k->map, probe_fired, NULL);
    t0 = kit_now_ms();
    ac_timer_start(&p.t, 30, 0);
    kit_step(k, 1000);
    took = kit_now_ms() - t0;
    ac_timer_stop(&p.t);
    KIT_CHECK(k, p.fired == 1,
              "a 30 ms timer did not fire in the step its deadline ended "
              "(the step took %.0f ms)", took);
    KIT_CHECK(k, p.at - t0 >= 30.0, "fired early: %.2f ms after its start",
              p.at - t0);
    KIT_CHECK(k, took < 500.0,
              "the step returned %.0f ms after the timer fired", took);
    kit_note(k, "fired at %.1f ms, step returned at %.1f ms", p.at - t0, took);
}

/* C-86: a timer sets done. */
static void until_timer(kit *k)
{
    probe p = {0};
    int steps;

    kit_settle(k);
    ac_timer_init(&p.t, k->map, probe_fired, NULL);
    ac_timer_start(&p.t, 30, 0);
    steps = kit_until(k, &p.done, 3000);
    ac_timer_stop(&p.t);
    if (steps < 0)
        return;
    KIT_CHECK(k, steps == 1, "took %d steps, not 1", steps);
}

typedef struct {
    ac_map *map;
    volatile bool *flag;
    int r;
} caller;

static void make_call(void *arg)
{
    caller *c = arg;

    c->r = ac_map_call(c->map, set_flag, (void *)c->flag);
}

/* C-86: a call from another thread sets done. */
static void until_call(kit *k)
{
    volatile bool done = false;
    caller c = {k->map, &done, 0};
    pthread_t t;
    int steps;

    kit_settle(k);
    KIT_CHECK(k, kit_later(&t, 50, make_call, &c) == 0, "no thread");
    steps = kit_until(k, &done, 3000);
    kit_join(t);
    KIT_CHECK(k, c.r == 0, "ac_map_call: %s", ac_strerror(c.r));
    if (steps < 0)
        return;
    KIT_CHECK(k, steps == 1, "took %d steps, not 1", steps);
}

/* A call made 50 ms into a 2 s wait runs in that step. */
static void call_ends_wait(kit *k)
{
    volatile bool done = false;
    caller c = {k->map, &done, 0};
    pthread_t t;
    double t0, took;

    kit_settle(k);
    t0 = kit_now_ms();
    KIT_CHECK(k, kit_later(&t, 50, make_call, &c) == 0, "no thread");
    kit_step(k, 2000);
    took = kit_now_ms() - t0;
    kit_join(t);
    if (!done) /* run it before the case ends: it points at our stack */
        kit_step(k, 1000);
    KIT_CHECK(k, done, "the call did not run in the step it woke");
    KIT_CHECK(k, took < 1000.0, "the step took %.0f ms", took);
    kit_note(k, "step returned at %.1f ms", took);
}

/* ---- channels ---- */

typedef struct {
    ac_dispatcher d;
    volatile bool done;
    size_t got, want;
    int reads;
    size_t per_read;
} reader;

static void reader_read(ac_dispatcher *d)
{
    reader *r = AC_CONTAINER_OF(d, reader, d);
    char buf[128];
    ssize_t n = ac_recv(d, buf, r->per_read ? r->per_read : sizeof(buf));

    r->reads++;
    if (n > 0)
        r->got += (size_t)n;
    if (r->got >= r->want)
        r->done = true;
}

static void reader_close(ac_dispatcher *d)
{
    ac_close(d);
}

static const ac_dispatcher_class reader_class = {
    .name = "hostkit-reader", .handle_read = reader_read,
    .handle_close = reader_close,
};

typedef struct {
    int fd;
    int r;
} writer;

static void write_byte(void *arg)
{
    writer *w = arg;

    w->r = (int)kit_send(w->fd, "x", 1);
}

/* C-86: a channel's handler sets done. */
static void until_handler(kit *k)
{
    reader r = {.want = 1};
    writer w = {-1, 0};
    pthread_t t;
    int steps;

    if ((w.fd = kit_pair(k, &r.d, &reader_class, AC_READ)) < 0)
        return;
    kit_settle(k);
    if (kit_later(&t, 50, write_byte, &w) != 0) {
        ac_close(&r.d);
        close(w.fd);
        KIT_CHECK(k, false, "no thread");
    }
    steps = kit_until(k, &r.done, 3000);
    kit_join(t);
    ac_close(&r.d);
    close(w.fd);
    if (steps < 0)
        return;
    KIT_CHECK(k, w.r == 1, "write failed");
    KIT_CHECK(k, steps == 1, "took %d steps, not 1", steps);
}

/* A layer that reads everything the socket has into its own buffer (as
 * TLS reads whole records) and hands out 3 bytes per recv: what it holds
 * is readiness the socket cannot show. */
typedef struct {
    char buf[4096];
    size_t off, len;
} hoard;

static ssize_t hoard_recv(ac_dispatcher *d, void *out, size_t len)
{
    hoard *h = ac_get_io_data(d);
    ssize_t n;

    if (h->off == h->len) {
        n = ac_socket_io.recv(d, h->buf, sizeof(h->buf));
        if (n <= 0)
            return n;
        h->off = 0;
        h->len = (size_t)n;
    }
    n = (ssize_t)(h->len - h->off);
    if (n > 3)
        n = 3;
    if ((size_t)n > len)
        n = (ssize_t)len;
    memcpy(out, h->buf + h->off, (size_t)n);
    h->off += (size_t)n;
    ac_set_pending(d, h->off < h->len ? AC_IN : 0);
    return n;
}

static ssize_t hoard_send(ac_dispatcher *d, const void *buf, size_t len)
{
    return ac_socket_io.send(d, buf, len);
}

static const ac_io_ops hoard_io = {
    .name = "hoard", .send = hoard_send, .recv = hoard_recv,
};

/* C-86, C-88: the last pending bytes set done; then the host sleeps
 * again (no spin once nothing is pending). */
static void until_pending(kit *k)
{
    static hoard h;
    reader r = {.want = 3000, .per_read = 100};
    char data[3000];
    unsigned long it0;
    int fd, steps;
    double t0, slept;

    memset(&h, 0, sizeof(h));
    memset(data, 'p', sizeof(data));
    if ((fd = kit_pair(k, &r.d, &reader_class, AC_READ)) < 0)
        return;
    ac_set_io(&r.d, &hoard_io, &h);
    if (kit_send(fd, data, sizeof(data)) != (ssize_t)sizeof(data)) {
        ac_close(&r.d);
        close(fd);
        KIT_CHECK(k, false, "write failed");
    }
    steps = kit_until(k, &r.done, 5000);
    it0 = kit_iterations(k);
    t0 = kit_now_ms();
    kit_step(k, 200);
    slept = kit_now_ms() - t0;
    it0 = kit_iterations(k) - it0;
    ac_close(&r.d);
    close(fd);
    if (steps < 0)
        return;
    KIT_CHECK(k, r.got == sizeof(data), "got %zu of %zu bytes", r.got,
              sizeof(data));
    KIT_CHECK(k, slept >= 150.0,
              "after the last pending bytes the next step(200) returned in "
              "%.0f ms: the host does not sleep again", slept);
    KIT_CHECK(k, it0 <= 2, "%lu host iterations in that step", it0);
    kit_note(k, "%d reads in %d steps", r.reads, steps);
}

/* C-82: an idle map with one repeating timer: one step per period. */
static void repeat_cb(ac_timer *t)
{
    probe *p = AC_CONTAINER_OF(t, probe, t);

    if (++p->fired == 5)
        p->done = true;
}

static void timer_period(kit *k)
{
    probe p = {0};
    unsigned long it0;
    int steps;

    kit_settle(k);
    ac_timer_init(&p.t, k->map, repeat_cb, NULL);
    it0 = kit_iterations(k);
    ac_timer_start(&p.t, 100, 100);
    steps = kit_until(k, &p.done, 3000);
    it0 = kit_iterations(k) - it0;
    ac_timer_stop(&p.t);
    if (steps < 0)
        return;
    KIT_CHECK(k, steps == 5, "%d steps for 5 periods of the timer", steps);
    KIT_CHECK(k, !k->h->iterations || it0 <= 6,
              "%lu host iterations for 5 periods", it0);
    kit_note(k, "%lu iterations", it0);
}

/* C-89: a nested loop started from one of the map's callbacks (a modal
 * dialog) does not dispatch the map; what came meanwhile runs after. */
typedef struct {
    probe p;
    kit *k;
    reader *r;
    int fd, reads_nested;
} nest;

static void nest_cb(ac_timer *t)
{
    nest *n = AC_CONTAINER_OF(t, nest, p.t);
    int before = n->r->reads;

    if (kit_send(n->fd, "n", 1) != 1)
        return;
    n->k->h->step(n->k->host, 50); /* refused or empty: either is fine */
    n->reads_nested = n->r->reads - before;
    n->p.done = true;
}

static void nested(kit *k)
{
    reader r = {.want = 1};
    nest n = {.k = k, .r = &r};
    int steps;

    if ((n.fd = kit_pair(k, &r.d, &reader_class, AC_READ)) < 0)
        return;
    kit_settle(k);
    ac_timer_init(&n.p.t, k->map, nest_cb, NULL);
    ac_timer_start(&n.p.t, 20, 0);
    steps = kit_until(k, &n.p.done, 3000);
    if (steps >= 0 && !r.done)
        steps = kit_until(k, &r.done, 3000);
    ac_timer_stop(&n.p.t);
    ac_close(&r.d);
    close(n.fd);
    if (steps < 0)
        return;
    KIT_CHECK(k, n.reads_nested == 0,
              "the nested step dispatched the map's channel %d time(s)",
              n.reads_nested);
    KIT_CHECK(k, r.done, "the byte that came during the nested loop was "
                         "never read");
}

/* ---- connecting by name (a literal: no lookup leaves the machine) ---- */

typedef struct {
    ac_dispatcher d;
    volatile bool done;
    int connected, err;
} namer;

static void namer_connect(ac_dispatcher *d)
{
    namer *n = AC_CONTAINER_OF(d, namer, d);

    n->connected++;
    n->done = true;
}

static void namer_error(ac_dispatcher *d, int err, const char *where)
{
    namer *n = AC_CONTAINER_OF(d, namer, d);

    (void)where;
    n->err = err;
    n->done = true;
    ac_close(d);
}

static const ac_dispatcher_class namer_class = {
    .name = "hostkit-namer",
    .handle_connect = namer_connect,
    .handle_error = namer_error,
};

/* `while (!done) step();` over ac_connect_host(): the answer (a timer for
 * a literal) starts an attempt in one step, its completion ends another,
 * where handle_connect or handle_error sets done. */
static void connect_to(kit *k, int port, bool refused)
{
    namer n = {0};
    int steps, r;

    kit_settle(k);
    ac_dispatcher_init(&n.d, &namer_class, k->map);
    ac_set_interest(&n.d, 0);
    r = ac_connect_host(&n.d, "127.0.0.1", port, NULL);
    KIT_CHECK(k, r == 0, "ac_connect_host: %s", ac_strerror(r));
    steps = kit_until(k, &n.done, 3000);
    if (!ac_closed(&n.d))
        ac_close(&n.d);
    if (steps < 0)
        return;
    if (refused)
        KIT_CHECK(k, n.err == ECONNREFUSED, "handle_error with %s",
                  n.err ? ac_strerror(n.err) : "no error (connected)");
    else
        KIT_CHECK(k, n.connected == 1, "not connected: %s",
                  ac_strerror(n.err));
    KIT_CHECK(k, steps <= 2, "took %d steps, not 2", steps);
}

/* A loopback port: listening (outside the map: the kernel completes the
 * connection into its backlog, so nothing else in the map wakes), or a
 * port nobody listens on. Returns the socket (or -1 once closed). */
static int loopback_port(bool listening, int *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | KIT_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
        (listening && listen(fd, 4) < 0)) {
        if (fd >= 0)
            close(fd);
        *port = -1;
        return -1;
    }
    *port = ntohs(sin.sin_port);
    if (!listening) {
        close(fd);
        return -1;
    }
    return fd;
}

static void until_connect(kit *k)
{
    int port, fd = loopback_port(true, &port);

    KIT_CHECK(k, fd >= 0, "no listening socket: %s", strerror(errno));
    connect_to(k, port, false);
    close(fd);
}

static void until_connect_refused(kit *k)
{
    int port;

    loopback_port(false, &port);
    KIT_CHECK(k, port > 0, "no port: %s", strerror(errno));
    connect_to(k, port, true);
}

const kit_case kit_step_cases[] = {
    {"step/timer-ends-wait", timer_ends_wait, 0},
    {"step/until-timer", until_timer, 0},
    {"step/until-call", until_call, 0},
    {"step/call-ends-wait", call_ends_wait, 0},
    {"step/until-handler", until_handler, 0},
    {"step/until-pending", until_pending, 0},
    {"step/timer-period", timer_period, 0},
    {"step/until-connect-by-name", until_connect, 0},
    {"step/until-connect-refused", until_connect_refused, 0},
    {"step/nested", nested, KIT_NESTED},
    {NULL, NULL, 0},
};
