/* Happy Eyeballs v2 (RFC 8305) for ac_connect_host(): which address is
 * tried when, each attempt an internal channel of the map, so every host
 * watches it. connect.c hands the winner's socket to the channel. */
#include "connect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void start_next(conn *c);
static void delay_fired(ac_timer *t);

/* ---- attempts: internal channels of the map ---- */

static attempt *A(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, attempt, base);
}

static void attempt_unlink(conn *c, attempt *a)
{
    attempt **pp;

    for (pp = &c->attempts; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            c->inflight--;
            return;
        }
}

/* The attempt leaves the race and closes; with `take`, its socket is kept
 * out of the close and returned (the winner's), else -1. */
static int attempt_end(conn *c, attempt *a, bool take)
{
    int fd = -1;

    attempt_unlink(c, a);
    a->c = NULL;
    if (take) {
        ac__map_remove(c->map, &a->base);
        fd = a->base.fd;
        a->base.fd = -1;
    }
    ac_close(&a->base);
    return fd;
}

static void won(conn *c, attempt *a);
static void failed(conn *c);

/* Inside ac_connect_host() no handler may run: the end (`c->won`, or a
 * failure when NULL) waits for the loop's next pass over timers. */
static void resume(ac_timer *t)
{
    conn *c = AC_CONTAINER_OF(t, conn, delay);

    if (c->won)
        won(c, c->won);
    else
        failed(c);
}

static bool deferred(conn *c, attempt *a)
{
    if (!c->in_call)
        return false;
    c->won = a;
    ac__timer_start(c->map, &c->delay, 0, resume);
    return true;
}

static void won(conn *c, attempt *a)
{
    size_t addr = a->addr;

    if (!deferred(c, a))
        ac__hev_won(c, attempt_end(c, a, true), addr);
}

static void failed(conn *c)
{
    if (!deferred(c, NULL))
        ac__hev_failed(c);
}

static void attempt_connected(ac_dispatcher *ad)
{
    attempt *a = A(ad);

    if (!a->c)
        ac_close(ad);
    else if (a->c->starting)
        a->c->won = a; /* finished by attempt_start */
    else
        won(a->c, a);
}

static void attempt_failed(ac_dispatcher *ad, int err, const char *where)
{
    attempt *a = A(ad);
    conn *c = a->c;

    (void)where;
    if (!c) {
        ac_close(ad);
        return;
    }
    c->addrs[a->addr].state = err;
    attempt_end(c, a, false);
    if (c->starting)
        c->sync_err = err;
    else
        start_next(c); /* at once: RFC 8305 section 5 */
}

static void attempt_closed(ac_dispatcher *ad)
{
    attempt_failed(ad, ECONNRESET, "connect");
}

static void attempt_destroy(ac_dispatcher *ad)
{
    free(A(ad));
}

static const ac_dispatcher_class attempt_class = {
    .name = "connect attempt",
    .handle_connect = attempt_connected,
    .handle_error = attempt_failed,
    .handle_close = attempt_closed,
    .destroy = attempt_destroy,
};

/* 0: under way; 1: connected at once (c->won); or a negative errno. */
static int attempt_start(conn *c, size_t i)
{
    hev_addr *h = &c->addrs[i];
    attempt *a = calloc(1, sizeof(*a));
    int r;

    if (!a)
        return -ENOMEM;
    ac_dispatcher_init(&a->base, &attempt_class, c->map);
    a->base.flags |= AC__F_INTERNAL;
    ac_set_interest(&a->base, 0); /* the core waits to write while connecting */
    r = ac_create_socket(&a->base, h->ss.ss_family, SOCK_STREAM);
    if (r < 0) {
        free(a);
        return r;
    }
    a->c = c;
    a->addr = i;
    a->next = c->attempts;
    c->attempts = a;
    c->inflight++;
    h->state = TRYING;
    c->last_fam = h->fam;
    c->last_start_ms = ac__now_ms();
    c->starting = true;
    c->won = NULL;
    c->sync_err = 0;
    r = ac_connect(&a->base, (const struct sockaddr *)&h->ss, h->len);
    c->starting = false;
    if (c->won)
        return 1;
    if (c->sync_err)
        return -c->sync_err; /* the attempt is already closed */
    if (r < 0)
        attempt_end(c, a, false);
    return r;
}

/* The next address: the other family than the last attempt's when it has
 * one left (interleaving, IPv6 first), else whatever is left. */
static hev_addr *pick(conn *c, size_t *index)
{
    int want = c->last_fam == V6 ? V4 : V6, pass;
    size_t i;

    for (pass = 0; pass < 2; pass++, want = !want)
        for (i = 0; i < c->naddrs; i++)
            if (c->addrs[i].state == UNTRIED && c->addrs[i].fam == want) {
                *index = i;
                return &c->addrs[i];
            }
    return NULL;
}

static bool lookups_done(const conn *c)
{
    return c->answered[V6] && c->answered[V4];
}

static void start_next(conn *c)
{
    size_t i;
    int r;

    ac__timer_stop(c->map, &c->delay);
    c->started = true;
    while (pick(c, &i)) {
        r = attempt_start(c, i);
        if (r == 1) {
            won(c, c->won);
            return;
        }
        if (r == 0) {
            /* the next attempt's time, if there may be a next address */
            if (pick(c, &i) || !lookups_done(c))
                ac__timer_start(c->map, &c->delay,
                                (uint64_t)c->attempt_delay_ms, delay_fired);
            return;
        }
        c->addrs[i].state = -r;
    }
    if (c->inflight == 0 && lookups_done(c))
        failed(c);
}

/* After an answer: start, wait the resolution delay, or fail. */
void ac__hev_progress(conn *c)
{
    size_t i;
    bool have6 = false, have4 = false;
    uint64_t since;

    for (i = 0; i < c->naddrs; i++)
        if (c->addrs[i].state == UNTRIED) {
            if (c->addrs[i].fam == V6)
                have6 = true;
            else
                have4 = true;
        }
    if (!c->started) {
        if (have6 || (have4 && c->answered[V6])) {
            start_next(c);
        } else if (have4) {
            /* A came first: give AAAA a moment (RFC 8305 section 3) */
            if (!ac_timer_active(&c->delay))
                ac__timer_start(c->map, &c->delay,
                                (uint64_t)c->resolution_delay_ms, delay_fired);
        } else if (lookups_done(c)) {
            failed(c);
        }
        return;
    }
    if (have6 || have4) {
        /* late addresses join the race on its cadence */
        if (ac_timer_active(&c->delay))
            return;
        since = ac__now_ms() - c->last_start_ms;
        if (c->inflight == 0 || since >= (uint64_t)c->attempt_delay_ms)
            start_next(c);
        else
            ac__timer_start(c->map, &c->delay,
                            (uint64_t)c->attempt_delay_ms - since, delay_fired);
    } else if (c->inflight == 0 && lookups_done(c)) {
        failed(c);
    }
}

static void delay_fired(ac_timer *t)
{
    start_next(AC_CONTAINER_OF(t, conn, delay));
}


void ac__hev_stop(conn *c)
{
    attempt *a;

    while ((a = c->attempts)) {
        c->attempts = a->next;
        a->c = NULL;
        ac_close(&a->base); /* closed unseen; destroy frees it */
    }
    c->inflight = 0;
}
