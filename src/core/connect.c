/* Connecting by name: lookups off the map's thread (resolver.c), then
 * Happy Eyeballs v2 (RFC 8305) over every address, the first connection to
 * complete handed to the channel.
 *
 * Until then the channel has no descriptor (its family is not known) but
 * is connecting and AC__F_NAMED: it is on the map's `naming` list and in
 * its count, so it keeps the loop alive, is closed by ac_close_all, and
 * takes pushes and a TLS layer like any connecting channel. Each attempt
 * is an internal channel of the map, so every host watches it. The
 * winner's socket joins the map as the channel's, then handle_connect
 * runs. */
#include "connect.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_ATTEMPT_DELAY_MS 250
#define DEFAULT_RESOLUTION_DELAY_MS 50


/* While AC__F_NAMED is set, the channel's addr field (unused until it is
 * connected) holds its conn: O(1) from ac_close(). */
static conn *conn_of(const ac_dispatcher *d)
{
    conn *c;

    memcpy(&c, &d->addr, sizeof(c));
    return c;
}

static void conn_stash(ac_dispatcher *d, conn *c)
{
    memcpy(&d->addr, &c, sizeof(c));
}

/* ---- the end: teardown, failure, success ---- */

static void teardown(conn *c)
{
    int i;

    ac__hev_stop(c);
    for (i = 0; i < 2; i++)
        if (c->q[i]) {
            ac__lookup_cancel(c->q[i]);
            c->q[i] = NULL;
        }
    ac__timer_stop(c->map, &c->delay);
    ac__timer_stop(c->map, &c->deadline);
}

static void conn_free(conn *c)
{
    free(c->addrs);
    free(c);
}

static void place(conn *c)
{
    ac_map *map = c->map;
    bool was_alive = ac_map_alive(map);

    c->prev = NULL;
    c->next = map->naming;
    if (map->naming)
        map->naming->prev = c;
    map->naming = c;
    map->count++;
    c->d->flags |= AC__F_CONNECTING | AC__F_NAMED;
    /* a host that stopped watching an empty map hears it is alive again,
     * as when a timer starts (timer.c) */
    if (!was_alive && map->hooks.wake)
        map->hooks.wake(map->hooks.data);
    conn_stash(c->d, c);
}

/* The channel is in no map and not connecting, as before
 * ac_connect_host(). */
static void unplace(conn *c)
{
    ac_map *map = c->map;

    if (c->prev)
        c->prev->next = c->next;
    else
        map->naming = c->next;
    if (c->next)
        c->next->prev = c->prev;
    map->count--;
    c->d->flags &= ~(AC__F_CONNECTING | AC__F_NAMED);
}

/* "host:port", bracketed for an IPv6 literal */
static void host_port(const conn *c, char *buf, size_t size)
{
    snprintf(buf, size, strchr(c->host, ':') ? "[%s]:%d" : "%s:%d", c->host,
             c->port);
}

/* Which lookup error tells most: the one that is not "no such name", so a
 * temporary failure or a missing family is not hidden behind NXDOMAIN. */
static int lookup_error(const conn *c)
{
    int e6 = c->gai_err[V6], e4 = c->gai_err[V4];

    if (!e6)
        return e4 ? e4 : AC_EAI_NODATA;
    if (!e4 || e4 == AC_EAI_NONAME)
        return e6;
    return e4;
}

/* The channel gets its descriptor back to none: it is as before the call
 * (not connecting, in no map), so handle_error may close it (the base
 * behaviour) or connect again. */
static void fail(conn *c, int err, const char *why)
{
    ac_dispatcher *d = c->d;
    char where[768], hp[HOST_MAX + 16];
    size_t i, n, shown = 0;

    host_port(c, hp, sizeof(hp));
    if (!c->started && c->naddrs == 0) {
        snprintf(where, sizeof(where), "resolve %s%s", c->host, why);
    } else {
        n = (size_t)snprintf(where, sizeof(where), "connect %s (%stried ",
                             hp, why);
        for (i = 0; i < c->naddrs && n < sizeof(where); i++) {
            char a[AC_ADDRSTRLEN];
            const hev_addr *h = &c->addrs[i];

            if (h->state == UNTRIED)
                continue;
            ac_addr_string((const struct sockaddr *)&h->ss, h->len, a,
                           sizeof(a));
            n += (size_t)snprintf(where + n, sizeof(where) - n, "%s%s: %s",
                                  shown++ ? "; " : "", a,
                                  h->state == TRYING ? "no answer"
                                                     : ac_strerror(h->state));
        }
        if (n < sizeof(where))
            snprintf(where + n, sizeof(where) - n, ")");
    }
    teardown(c);
    unplace(c);
    conn_free(c);
    ac_handle_error(d, err, where);
}

void ac__hev_failed(conn *c)
{
    size_t i;
    int err = ECONNREFUSED;

    if (c->naddrs == 0) {
        fail(c, lookup_error(c), "");
        return;
    }
    for (i = 0; i < c->naddrs; i++) /* the last failure tells the story */
        if (c->addrs[i].state > 0)
            err = c->addrs[i].state;
    fail(c, err, "");
}

void ac__hev_won(conn *c, int fd, size_t addr)
{
    ac_dispatcher *d = c->d;
    ac_map *map = c->map;
    const hev_addr *h = &c->addrs[addr];
    conn *outer;
    int r;

    teardown(c);
    unplace(c);
    d->fd = fd;
    d->flags |= AC__F_CONNECTED | AC__F_HAS_ADDR;
    memcpy(&d->addr, &h->ss, h->len);
    d->addrlen = h->len;
    r = ac__map_add(map, d);
    if (r < 0) { /* ERANGE on select, ENOMEM: the fd closes with d */
        conn_free(c);
        ac_handle_error(d, -r, "connect");
        return;
    }
    ac__update_interest(d);
    /* ac_connect_host_name() answers during handle_connect */
    outer = map->connected;
    map->connected = c;
    ac__enter(map);
    if (!AC__FLAG(d, AC__F_CLOSED))
        AC__METHOD(d, handle_connect)(d);
    ac__leave(map);
    map->connected = outer;
    conn_free(c);
}

static void deadline_fired(ac_timer *t)
{
    conn *c = AC_CONTAINER_OF(t, conn, deadline);
    char why[64];

    snprintf(why, sizeof(why), c->started || c->naddrs ? "timed out after %d ms; "
                                                       : " (no answer in %d ms)",
             c->timeout_ms);
    fail(c, ETIMEDOUT, why);
}

static void add_addrs(conn *c, const struct addrinfo *res)
{
    const struct addrinfo *ai;
    hev_addr *h;
    size_t i;

    for (ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(h->ss) || c->naddrs >= MAX_ADDRS)
            continue;
        for (i = 0; i < c->naddrs; i++)
            if (c->addrs[i].len == ai->ai_addrlen &&
                !memcmp(&c->addrs[i].ss, ai->ai_addr, ai->ai_addrlen))
                break;
        if (i < c->naddrs)
            continue; /* /etc/hosts may list an address twice */
        if (c->naddrs == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 4;
            hev_addr *p = realloc(c->addrs, cap * sizeof(*p));
            if (!p)
                return; /* fewer addresses to try; the rest still run */
            c->addrs = p;
            c->cap = cap;
        }
        h = &c->addrs[c->naddrs++];
        memset(h, 0, sizeof(*h));
        memcpy(&h->ss, ai->ai_addr, ai->ai_addrlen);
        h->len = ai->ai_addrlen;
        h->fam = ai->ai_family == AF_INET6 ? V6 : V4;
        h->state = UNTRIED;
        if (ai->ai_family == AF_INET6)
            ((struct sockaddr_in6 *)(void *)&h->ss)->sin6_port =
                htons((uint16_t)c->port);
        else
            ((struct sockaddr_in *)(void *)&h->ss)->sin_port =
                htons((uint16_t)c->port);
    }
}

static void lookup_done(void *owner, const ac__lookup *l)
{
    conn *c = owner;
    int fam = l->family == AF_INET6 ? V6 : V4;

    c->q[fam] = NULL;
    if (c->map->dead)
        return; /* ac_map_free: the channel is about to close */
    c->answered[fam] = true;
    c->gai_err[fam] = l->err;
    add_addrs(c, l->res);
    ac__hev_progress(c);
}

/* ---- the API ---- */

static int check_opts(const ac_connect_opts *o)
{
    if (!o)
        return 0;
    if (o->family != AF_UNSPEC && o->family != AF_INET && o->family != AF_INET6)
        return -EAFNOSUPPORT;
    if (o->timeout_ms < -1 || o->attempt_delay_ms < 0 ||
        o->resolution_delay_ms < 0)
        return -EINVAL;
    return 0;
}

/* A literal address is known at once: no lookup, no thread. */
static int literal(conn *c, int family)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(c->host, NULL, &hints, &res) != 0)
        return 0;
    add_addrs(c, res);
    freeaddrinfo(res);
    c->answered[V6] = c->answered[V4] = true;
    if (!c->naddrs)
        c->gai_err[V6] = c->gai_err[V4] = ENOMEM;
    return 1;
}

int ac_connect_host(ac_dispatcher *d, const char *host, int port,
                    const ac_connect_opts *opts)
{
    int family = opts ? opts->family : AF_UNSPEC;
    size_t hlen;
    ac_map *map;
    conn *c;
    int r;

    r = ac__check_fresh(d);
    if (r < 0)
        return r;
    if (!host || !*host || port <= 0 || port > 65535)
        return -EINVAL;
    hlen = strlen(host);
    if (hlen >= HOST_MAX)
        return -ENAMETOOLONG;
    r = check_opts(opts);
    if (r < 0)
        return r;
    map = d->map;
    c = calloc(1, sizeof(*c) + hlen + 1);
    if (!c)
        return -ENOMEM;
    memcpy(c->host, host, hlen + 1);
    c->d = d;
    c->map = map;
    c->port = port;
    c->last_fam = V4; /* so the first pick prefers IPv6 */
    c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms
                                             : DEFAULT_TIMEOUT_MS;
    c->attempt_delay_ms = opts && opts->attempt_delay_ms
                              ? opts->attempt_delay_ms
                              : DEFAULT_ATTEMPT_DELAY_MS;
    c->resolution_delay_ms = opts && opts->resolution_delay_ms
                                 ? opts->resolution_delay_ms
                                 : DEFAULT_RESOLUTION_DELAY_MS;
    if (family == AF_INET)
        c->answered[V6] = true;
    if (family == AF_INET6)
        c->answered[V4] = true;

    place(c);
    if (literal(c, family)) {
        /* answered: the attempt starts now; handlers run from the loop,
         * never in this call */
        c->in_call = true;
        ac__hev_progress(c);
        c->in_call = false;
    } else {
        if (!c->answered[V6] &&
            !(c->q[V6] = ac__lookup_start(map, host, AF_INET6, c, lookup_done)))
            r = -ENOMEM;
        if (r == 0 && !c->answered[V4] &&
            !(c->q[V4] = ac__lookup_start(map, host, AF_INET, c, lookup_done)))
            r = -ENOMEM;
    }
    if (r == 0 && c->timeout_ms > 0)
        r = ac__timer_start(map, &c->deadline, (uint64_t)c->timeout_ms,
                            deadline_fired);
    if (r < 0) {
        teardown(c);
        unplace(c);
        conn_free(c);
        return r;
    }
    /* the library's own timers do not re-arm the host: called from outside
     * the map's handlers (another callback of the host's), tell it */
    ac__wake_host(map);
    return 0;
}

const char *ac_connect_host_name(const ac_dispatcher *d)
{
    if (!d || !d->map)
        return NULL;
    if (AC__FLAG(d, AC__F_NAMED))
        return conn_of(d)->host;
    if (d->map->connected && d->map->connected->d == d)
        return d->map->connected->host;
    return NULL;
}

void ac__connect_cancel(ac_dispatcher *d)
{
    conn *c = conn_of(d);

    teardown(c);
    unplace(c);
    conn_free(c);
}

ac_dispatcher *ac__connect_first(const ac_map *map)
{
    return map->naming ? map->naming->d : NULL;
}
